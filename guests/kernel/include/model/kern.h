/*
 * The model kernel's internal interfaces: per-CPU workload state, the
 * console, and the prototypes shared between its files.  Everything that a
 * tracer reads by name lives in the FreeBSD-shaped headers instead.
 */
#ifndef _MODEL_KERN_H_
#define _MODEL_KERN_H_

#include <sys/types.h>
#include <sys/pcpu.h>
#include <sys/proc.h>
#include <sys/mbuf.h>
#include <sys/socketvar.h>
#include <sys/protosw.h>
#include <net/if_var.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <netinet/in_pcb.h>
#include <netinet/tcp_var.h>

/* Globals FreeBSD has and a tracer reads. */
extern int hz;
extern volatile int ticks;
extern char osrelease[];
extern char version[];
extern int osreldate;
extern struct pcpu __pcpu[MAXCPU];
extern int mp_ncpus;

/* ---- console (console.c) ---- */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- per-CPU identity ---- */
static inline struct pcpu *
pcpu_self(void)
{
	struct pcpu *pc;

	__asm__ volatile("movq %%gs:%c1,%0" : "=r"(pc)
	    : "i"(offsetof(struct pcpu, pc_prvspace)));
	return (pc);
}

static inline struct thread *
__curthread(void)
{
	struct thread *td;

	__asm__ volatile("movq %%gs:0,%0" : "=r"(td));
	return (td);
}
#define curthread (__curthread())

/* ---- processes (proc.c) ---- */
enum model_proc {
	P_IDLE, P_INTR, P_SSHD, P_SSH, P_FETCH, P_NTPD, P_SYSLOGD, P_PING,
	P_COUNT
};
extern struct proc model_procs[P_COUNT];
void proc_init(void);
void thread_init_cpu(struct model_net *mn, int cpu);
/* Make the CPU run as the given process's thread; returns the previous one. */
struct thread *thread_switch(enum model_proc p);
void thread_restore(struct thread *td);

/* ---- per-CPU workload state ---- */
#define MODEL_MAXCPU 4
#define NMBUF 192
#define NSOCK 24
#define NINP 24
#define NTSEG 16
#define NSYN 8
#define NPEER 8
#define NFLOW 48
#define NOOO 8
#define NSOCKLOG 32

struct tcpcb_mem {
	struct tcpcb tcb;
	struct tcp_timer tt;
	int used;
};

struct syncache {
	int used;
	struct inpcb *sc_lsinp;
	int sc_isv6;
	struct in6_addr sc_laddr6, sc_faddr6;
	struct in_addr sc_laddr, sc_faddr;
	u_short sc_lport, sc_fport;
	tcp_seq sc_iss, sc_irs;
	u_short sc_peer_mss;
};

struct peer_conn;
struct gt_flow;
struct gt_ooo;

struct model_net {
	int cpu;
	uint32_t clock;			/* logical ticks of this CPU */
	int round;
	u_long pace;			/* spin iterations per network event */
	struct mbuf *nq_head, *nq_tail;	/* netisr queue */
	struct mbuf *mfree;
	int mbufs_out;
	u_short next_port;
	u_short ip_id;
	uint32_t iss_seed;
	struct thread threads[P_COUNT];
	struct mbuf mbufs[NMBUF];
	struct socket sockets[NSOCK];
	struct inpcb inpcbs[NINP];
	struct tcpcb_mem tcbs[NINP];
	struct tcptw tws[NINP];
	struct udpcb udpcbs[NINP];
	struct tseg_qent tsegs[NTSEG];
	struct syncache syncache[NSYN];
	struct peer_conn *peers;	/* NPEER of them */
	struct gt_flow *flows;		/* NFLOW */
	struct gt_ooo *ooo;		/* NOOO */
	u_long proc_bytes[P_COUNT][4];	/* tcp sent, tcp rcvd, udp sent, udp rcvd */
	int states_seen[TCP_NSTATES];
	int peer_drop_syn;		/* SYNs the remote web server will ignore */
	u_int icmp_echo_seq;
};

static inline struct model_net *
curnet(void)
{
	return (pcpu_self()->pc_model);
}
#define TICKS() (curnet()->clock)

/* ---- mbufs, interfaces and the netisr queue (mbuf.c, if.c) ---- */
void mbuf_init_cpu(struct model_net *mn);
void if_init_all(void);
void netisr_queue(struct mbuf *m);
int netisr_drain(void);
void model_pace(void);
void clock_advance(uint32_t n);

/* ---- checksums (in_cksum.c) ---- */
u_short in_cksum_buf(const void *buf, int len, uint32_t sum);
uint32_t in_pseudo_sum(in_addr_t src, in_addr_t dst, int proto, int len);
uint32_t in6_pseudo_sum(const struct in6_addr *src, const struct in6_addr *dst,
    int proto, int len);
void in6_clearscope(struct in6_addr *a);
void in6_setscope(struct in6_addr *a, struct ifnet *ifp);
void wire_check(struct mbuf *m, const char *where);

/* ---- addresses of this machine and its neighbours (if.c) ---- */
extern struct in_addr in_loopback, in_em0, in_gateway;
extern struct in6_addr in6_loopback, in6_em0_ll;
struct in_addr peer_addr4(int cpu);
struct in6_addr peer_addr6(int cpu);

/* ---- IP (ip_input.c, ip_output.c, ip6.c, icmp.c) ---- */
struct route;
int ip_output(struct mbuf *m, struct mbuf *opt, struct route *ro, int flags,
    void *imo, struct inpcb *inp);
void ip_input(struct mbuf *m);
int ip6_output(struct mbuf *m, void *opt, void *ro, int flags, void *im6o,
    struct ifnet **ifpp, struct inpcb *inp);
void ip6_input(struct mbuf *m);
int nd6_output_ifp(struct ifnet *ifp, struct ifnet *origifp, struct mbuf *m,
    struct sockaddr_in6 *dst);
void icmp_input(struct mbuf *m, int off);
void icmp_echo_send(struct in_addr dst, u_short id, u_short seq);
extern struct protosw inetsw[];
extern struct protosw inet6sw[];

/* ---- sockets and pcbs (uipc_socket.c, in_pcb.c) ---- */
int socreate(int dom, struct socket **aso, int type, int proto,
    struct thread *td);
int sobind(struct socket *so, struct sockaddr *nam, struct thread *td);
int solisten(struct socket *so, int backlog, struct thread *td);
int soconnect(struct socket *so, struct sockaddr *nam, struct thread *td);
struct socket *soaccept_next(struct socket *head);
int sosend(struct socket *so, struct sockaddr *addr, struct uio *uio,
    struct mbuf *top, struct mbuf *control, int flags, struct thread *td);
int soreceive(struct socket *so, struct sockaddr **psa, struct uio *uio,
    struct mbuf **mp0, struct mbuf **controlp, int *flagsp);
int soclose(struct socket *so);
struct socket *sonewconn(struct socket *head, int connstatus);
void soisconnected(struct socket *so);
void soisdisconnected(struct socket *so);
void socantrcvmore(struct socket *so);
void sbappendstream(struct sockbuf *sb, struct mbuf *m);
void sbappendrecord(struct sockbuf *sb, struct mbuf *m);
void sbdrop(struct sockbuf *sb, int len);
void sbcopy_out(struct sockbuf *sb, int off, int len, caddr_t dst);
void sofree(struct socket *so);

int in_pcballoc(struct socket *so, void *pcbinfo);
void in_pcbdetach(struct inpcb *inp);
void in_pcbfree(struct inpcb *inp);
struct inpcb *in_pcblookup_model(int proto, int isv6, const void *faddr,
    u_short fport, const void *laddr, u_short lport, int wildcard);
u_short in_pcb_ephemeral(void);
extern struct pr_usrreqs tcp_usrreqs, tcp6_usrreqs, udp_usrreqs, udp6_usrreqs;

/* ---- TCP (tcp_input.c, tcp_output.c, tcp_subr.c, tcp_timer.c, syncache) ---- */
void tcp_input(struct mbuf *m, int off0);
void tcp6_input(struct mbuf *m, int off0);
int tcp_output(struct tcpcb *tp);
void tcp_respond(struct tcpcb *tp, void *ipgen, struct tcphdr *th,
    struct mbuf *m, tcp_seq ack, tcp_seq seq, int flags);
void tcp_state_change(struct tcpcb *tp, int newstate);
struct tcpcb *tcp_newtcpcb(struct inpcb *inp);
tcp_seq tcp_new_isn(void);
struct tcpcb *tcp_close(struct tcpcb *tp);
struct tcpcb *tcp_drop(struct tcpcb *tp, int errno);
void tcp_twstart(struct tcpcb *tp);
void tcp_twrespond(struct tcptw *tw, int flags);
void tcp_twclose(struct tcptw *tw);
void tcp_timers_run(void);
int tcp_timers_next(uint32_t *when);
void tcp_timer_activate(struct tcpcb *tp, struct callout *c, int delta);
void tcp_usrclosed_model(struct tcpcb *tp);
int syncache_add(struct inpcb *lsinp, int isv6, void *iph, struct tcphdr *th,
    u_short mss);
void tcp_discardcb(struct tcpcb *tp);
struct socket *syncache_expand(struct inpcb *lsinp, int isv6, void *iph,
    struct tcphdr *th);
void tcp_reass_flush(struct tcpcb *tp);
void tcp_xmit_timer(struct tcpcb *tp, int rtt);
void cc_conn_init(struct tcpcb *tp);
void cc_ack_received(struct tcpcb *tp, int acked);
int tcp_reass(struct tcpcb *tp, struct tcphdr *th, int *tlenp, struct mbuf *m,
    int off);
u_int tcp_mss_for(struct inpcb *inp);

/* ---- UDP (udp_usrreq.c) ---- */
void udp_input(struct mbuf *m, int off);
void udp6_input(struct mbuf *m, int off);

/* ---- the simulated remote peers on em0 (peer.c) ---- */
void peer_init_cpu(struct model_net *mn);
void peer_wire_input(struct mbuf *m);
void peer_tcp_connect(u_short dport, int behaviour);
void peer_icmp_ping(u_short seq);
int peer_idle(void);
enum { PEER_SSH_CLIENT_RESET = 1, PEER_CLIENT_CLOSED_PORT = 2 };

/* ---- ground truth (truth.c) ---- */
/* Boot argument "bench=1": per-event lines off, one count line per round. */
extern int gt_bench;
void gt_init_cpu(struct model_net *mn);
void gt_ip(const char *dir, struct ifnet *ifp, const void *hdr);
void gt_tcp(const char *probe, struct tcpcb *tp, const void *iph,
    const struct tcphdr *th, int hostorder);
void gt_udp(const char *probe, struct inpcb *inp, const void *iph,
    const struct udphdr *uh);
void gt_state(struct tcpcb *tp, int oldstate);
void gt_ooo(struct tcpcb *tp, const struct tcphdr *th, int tlen);
void gt_sock(struct socket *so);
void gt_attach(struct socket *so);
void gt_sockio(const char *call, struct socket *so, long resid, long done,
    int error);
void gt_peer(const char *dir, const void *hdr);
void gt_note(const char *what);
void gt_round_begin(void);
void gt_round_end(void);

/* ---- the workload (workload.c) ---- */
void workload_run(void) __attribute__((noreturn));

/* ---- small libc (libkern.c) ---- */
int snprintf_model(char *buf, size_t len, const char *fmt, ...);
void inet_ntoa_model(const void *a4, char *buf);
void inet_ntoa6_model(const void *a6, char *buf);

#define ECONNREFUSED 61
#define ECONNRESET 54
#define EWOULDBLOCK 35
#define ENOBUFS 55
#define EADDRINUSE 48
#define ENOTCONN 57
#define EINVAL 22

#endif
