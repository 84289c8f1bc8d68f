/*
 * One CPU's workload: rounds of scripted scenarios, run forever.  Each step
 * runs as a named process (its thread stored in pc_curthread); packets in
 * flight are delivered by draining the netisr queue as "intr"; the logical
 * clock advances one tick per event and jumps to the next timer when the
 * CPU would otherwise wait.  Nothing depends on wall-clock time, so every
 * boot produces the same events, traced or not.
 */
#include <model/kern.h>

#define WL_ASSERT(c) do { \
	if (!(c)) \
		panic("cpu%d round %d: %s:%d: %s", curnet()->cpu, \
		    curnet()->round, __FILE__, __LINE__, #c); \
} while (0)

void
clock_advance(uint32_t n)
{
	struct model_net *mn = curnet();

	mn->clock += n;
	if (mn->cpu == 0)
		ticks = (int)mn->clock;
}

/* Deliver everything in flight and fire due timers, until quiet. */
static void
settle(void)
{
	do {
		netisr_drain();
		tcp_timers_run();
	} while (curnet()->nq_head != NULL);
}

/* Let time pass (jumping to timer deadlines) until cond holds. */
#define WAIT_UNTIL(cond) do { \
	settle(); \
	while (!(cond)) { \
		uint32_t when; \
		WL_ASSERT(tcp_timers_next(&when)); \
		if ((int)(when - curnet()->clock) > 0) \
			clock_advance(when - curnet()->clock); \
		settle(); \
	} \
} while (0)

static struct thread *
as(enum model_proc p)
{
	clock_advance(1);
	model_pace();
	return (thread_switch(p));
}

static struct sockaddr *
sin4(struct sockaddr_in *sin, struct in_addr a, u_short port)
{
	bzero(sin, sizeof(*sin));
	sin->sin_len = sizeof(*sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr = a;
	return ((struct sockaddr *)sin);
}

static struct sockaddr *
sin6(struct sockaddr_in6 *s6, struct in6_addr a, u_short port)
{
	bzero(s6, sizeof(*s6));
	s6->sin6_len = sizeof(*s6);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	s6->sin6_addr = a;
	return ((struct sockaddr *)s6);
}

static struct socket *
sys_socket(int dom, int type)
{
	struct socket *so;

	WL_ASSERT(socreate(dom, &so, type, 0, curthread) == 0);
	return (so);
}

static int
sys_send(struct socket *so, const char *buf, int len, struct sockaddr *to)
{
	struct iovec iov = { (void *)(uintptr_t)buf, (size_t)len };
	struct uio uio = { &iov, 1, 0, len, UIO_SYSSPACE, UIO_WRITE,
	    curthread };

	return (sosend(so, to, &uio, NULL, NULL, 0, curthread));
}

static int
sys_recv(struct socket *so, char *buf, int len)
{
	struct iovec iov = { buf, (size_t)len };
	struct uio uio = { &iov, 1, 0, len, UIO_SYSSPACE, UIO_READ,
	    curthread };
	int flags = 0;

	if (soreceive(so, NULL, &uio, NULL, NULL, &flags) != 0)
		return (0);
	return (len - (int)uio.uio_resid);
}

static void
fill(char *buf, int len, char seed)
{
	int i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(seed + i % 23);
}

static struct socket *
listener(int dom, u_short port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 s6;
	struct in_addr any4 = { 0 };
	struct in6_addr any6;
	struct socket *so = sys_socket(dom, SOCK_STREAM);

	bzero(&any6, sizeof(any6));
	WL_ASSERT(sobind(so, dom == AF_INET ? sin4(&sin, any4, port) :
	    sin6(&s6, any6, port), curthread) == 0);
	WL_ASSERT(solisten(so, 128, curthread) == 0);
	return (so);
}

/*
 * ssh connects to sshd's listener, sends `up` bytes, sshd answers with
 * `down` bytes and ssh reads them; both connection ends are returned.
 */
static void
ssh_session(struct socket *ls, struct sockaddr *to, int up, int down,
    struct socket **cp, struct socket **sp)
{
	struct socket *c, *s;
	struct thread *td;
	char buf[1024];

	td = as(P_SSH);
	c = sys_socket(to->sa_family, SOCK_STREAM);
	soconnect(c, to, curthread);
	thread_restore(td);
	WAIT_UNTIL(c->so_state & SS_ISCONNECTED);

	td = as(P_SSHD);
	s = soaccept_next(ls);
	WL_ASSERT(s != NULL);
	thread_restore(td);

	td = as(P_SSH);
	fill(buf, up, 'A');
	sys_send(c, buf, up, NULL);
	thread_restore(td);
	settle();

	td = as(P_SSHD);
	WL_ASSERT(sys_recv(s, buf, sizeof(buf)) == up);
	fill(buf, down, 'a');
	sys_send(s, buf, down, NULL);
	thread_restore(td);
	settle();

	td = as(P_SSH);
	WL_ASSERT(sys_recv(c, buf, sizeof(buf)) == down);
	thread_restore(td);
	*cp = c;
	*sp = s;
}

/*
 * ssh to sshd over lo0 and IPv4: active open, data both ways, active close
 * by the client (FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT) and passive close by
 * the server (CLOSE_WAIT, LAST_ACK).
 */
static void
scenario_ssh_lo0(struct socket *ls)
{
	struct sockaddr_in sin;
	struct socket *c, *s;
	struct thread *td;

	ssh_session(ls, sin4(&sin, in_loopback, 22), 37, 429, &c, &s);
	td = as(P_SSH);
	soclose(c);
	thread_restore(td);
	settle();

	td = as(P_SSHD);
	WL_ASSERT(s->so_rcv.sb_state & SBS_CANTRCVMORE);
	soclose(s);
	thread_restore(td);
	settle();
}

/*
 * fetch from the web server behind em0: the first SYN is lost and
 * retransmitted, the response arrives out of order and goes through
 * reassembly, the server closes first (CLOSE_WAIT, LAST_ACK).
 */
static void
scenario_fetch_em0(void)
{
	static const char req[] = "GET /pub/FreeBSD/README.TXT HTTP/1.1\r\n"
	    "Host: ftp.freebsd.org\r\nUser-Agent: fetch libfetch/2.0\r\n"
	    "Connection: close\r\n\r\n";
	struct sockaddr_in sin;
	struct model_net *mn = curnet();
	struct socket *c;
	struct thread *td;
	char buf[1024];

	mn->peer_drop_syn = 1;
	td = as(P_FETCH);
	c = sys_socket(AF_INET, SOCK_STREAM);
	soconnect(c, sin4(&sin, peer_addr4(mn->cpu), 80), curthread);
	thread_restore(td);
	WAIT_UNTIL(c->so_state & SS_ISCONNECTED);

	td = as(P_FETCH);
	sys_send(c, req, sizeof(req) - 1, NULL);
	thread_restore(td);
	settle();

	td = as(P_FETCH);
	WL_ASSERT(sys_recv(c, buf, sizeof(buf)) == 628);
	WL_ASSERT(c->so_rcv.sb_state & SBS_CANTRCVMORE);
	soclose(c);
	thread_restore(td);
	settle();
}

/* ssh to sshd over ::1, both sides close at once: CLOSING, TIME_WAIT. */
static void
scenario_ssh6_simclose(struct socket *ls6)
{
	struct sockaddr_in6 s6;
	struct socket *c, *s;
	struct thread *td;

	ssh_session(ls6, sin6(&s6, in6_loopback, 22), 64, 128, &c, &s);
	td = as(P_SSH);
	soclose(c);
	thread_restore(td);
	/* No settle: sshd closes while the client's FIN is in flight. */
	td = as(P_SSHD);
	soclose(s);
	thread_restore(td);
	settle();
}

/*
 * Refused connections: to a closed port on lo0 (the RST comes from
 * tcp_respond: accept-refused; the client sees connect-refused) and to a
 * closed port of the remote host.
 */
static void
scenario_refused(void)
{
	struct sockaddr_in sin;
	struct socket *c;
	struct thread *td;

	td = as(P_FETCH);
	c = sys_socket(AF_INET, SOCK_STREAM);
	soconnect(c, sin4(&sin, in_loopback, 8080), curthread);
	thread_restore(td);
	settle();
	td = as(P_FETCH);
	WL_ASSERT(c->so_error == ECONNREFUSED);
	soclose(c);
	thread_restore(td);

	td = as(P_FETCH);
	c = sys_socket(AF_INET, SOCK_STREAM);
	soconnect(c, sin4(&sin, peer_addr4(curnet()->cpu), 81), curthread);
	thread_restore(td);
	settle();
	td = as(P_FETCH);
	WL_ASSERT(c->so_error == ECONNREFUSED);
	soclose(c);
	thread_restore(td);
	settle();
}

/*
 * A remote ssh client logs in over em0 and then resets the connection
 * (ESTABLISHED -> CLOSED); then it knocks on port 23, where nobody listens.
 */
static void
scenario_remote_ssh(struct socket *ls)
{
	struct socket *s;
	struct thread *td;
	char buf[512];

	peer_tcp_connect(22, PEER_SSH_CLIENT_RESET);
	settle();
	td = as(P_SSHD);
	s = soaccept_next(ls);
	WL_ASSERT(s != NULL);
	WL_ASSERT(sys_recv(s, buf, sizeof(buf)) == 37);
	fill(buf, 429, 'S');
	sys_send(s, buf, 429, NULL);
	thread_restore(td);
	settle();
	td = as(P_SSHD);
	WL_ASSERT(s->so_error == ECONNRESET);
	soclose(s);
	thread_restore(td);

	peer_tcp_connect(23, PEER_CLIENT_CLOSED_PORT);
	settle();
}

/* ntpd asks its server over IPv4 and IPv6; sshd logs to syslogd on lo0. */
static void
scenario_udp(void)
{
	static const char msg[] = "<38>Sep 29 01:45:44 sshd[612]: Accepted "
	    "publickey for root from 10.0.2.2 port 40001 ssh2";
	struct model_net *mn = curnet();
	struct sockaddr_in sin;
	struct sockaddr_in6 s6;
	struct socket *n4, *n6, *sl4, *sl6, *lg4, *lg6;
	struct thread *td;
	char buf[256];

	td = as(P_SYSLOGD);
	sl4 = sys_socket(AF_INET, SOCK_DGRAM);
	sobind(sl4, sin4(&sin, in_loopback, 514), curthread);
	sl6 = sys_socket(AF_INET6, SOCK_DGRAM);
	sobind(sl6, sin6(&s6, in6_loopback, 514), curthread);
	thread_restore(td);

	td = as(P_NTPD);
	fill(buf, 48, 0x23);
	n4 = sys_socket(AF_INET, SOCK_DGRAM);
	sobind(n4, sin4(&sin, in_em0, 123), curthread);
	sys_send(n4, buf, 48, sin4(&sin, peer_addr4(mn->cpu), 123));
	n6 = sys_socket(AF_INET6, SOCK_DGRAM);
	sobind(n6, sin6(&s6, in6_em0_ll, 123), curthread);
	sys_send(n6, buf, 48, sin6(&s6, peer_addr6(mn->cpu), 123));
	thread_restore(td);
	settle();

	td = as(P_NTPD);
	WL_ASSERT(sys_recv(n4, buf, sizeof(buf)) == 48);
	WL_ASSERT(sys_recv(n6, buf, sizeof(buf)) == 48);
	soclose(n4);
	soclose(n6);
	thread_restore(td);

	td = as(P_SSHD);
	lg4 = sys_socket(AF_INET, SOCK_DGRAM);
	sys_send(lg4, msg, sizeof(msg) - 1, sin4(&sin, in_loopback, 514));
	lg6 = sys_socket(AF_INET6, SOCK_DGRAM);
	sys_send(lg6, msg, sizeof(msg) - 1, sin6(&s6, in6_loopback, 514));
	soclose(lg4);
	soclose(lg6);
	thread_restore(td);
	settle();

	td = as(P_SYSLOGD);
	WL_ASSERT(sys_recv(sl4, buf, sizeof(buf)) == (int)sizeof(msg) - 1);
	WL_ASSERT(sys_recv(sl6, buf, sizeof(buf)) == (int)sizeof(msg) - 1);
	soclose(sl4);
	soclose(sl6);
	thread_restore(td);
}

/* ping the remote host, and answer its ping. */
static void
scenario_icmp(void)
{
	struct model_net *mn = curnet();
	struct thread *td;

	td = as(P_PING);
	icmp_echo_send(peer_addr4(mn->cpu), 1060, (u_short)mn->icmp_echo_seq++);
	thread_restore(td);
	settle();
	peer_icmp_ping((u_short)mn->round);
	settle();
}

static int
all_pcbs_free(void)
{
	struct model_net *mn = curnet();
	int i;

	for (i = 0; i < NINP; i++)
		if (mn->inpcbs[i].inp_model_used)
			return (0);
	return (peer_idle());
}

static void
round_run(void)
{
	struct socket *ls, *ls6;
	struct thread *td;

	td = as(P_SSHD);
	ls = listener(AF_INET, 22);
	ls6 = listener(AF_INET6, 22);
	thread_restore(td);

	scenario_ssh_lo0(ls);
	scenario_fetch_em0();
	scenario_ssh6_simclose(ls6);
	scenario_refused();
	scenario_remote_ssh(ls);
	scenario_udp();
	scenario_icmp();

	td = as(P_SSHD);
	soclose(ls);
	soclose(ls6);
	thread_restore(td);
	/* Let TIME_WAIT run out so every round starts from nothing. */
	WAIT_UNTIL(all_pcbs_free());
}

void
workload_run(void)
{
	struct model_net *mn = curnet();

	for (;;) {
		mn->round++;
		gt_round_begin();
		round_run();
		gt_round_end();
		WL_ASSERT(mn->mbufs_out == 0);
	}
}
