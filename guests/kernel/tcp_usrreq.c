/*
 * TCP's user requests (netinet/tcp_usrreq.c).  tcp_usr_attach is static
 * and reached only through pr_usrreqs->pru_attach, as in FreeBSD 10.4.
 */
#include <model/kern.h>

static void tcp_disconnect(struct tcpcb *tp);
static void tcp_usrclosed(struct tcpcb *tp);

static __noinline int
tcp_usr_attach(struct socket *so, int proto __unused, struct thread *td __unused)
{
	struct inpcb *inp;
	struct tcpcb *tp;

	in_pcballoc(so, NULL);
	inp = sotoinpcb(so);
	if (so->so_proto == &inet6sw[0]) {
		inp->inp_vflag |= INP_IPV6;
		inp->inp_inc.inc_flags |= INC_ISIPV6;
	} else
		inp->inp_vflag |= INP_IPV4;
	inp->inp_ip_p = IPPROTO_TCP;
	tp = tcp_newtcpcb(inp);
	/* tcp_attach sets CLOSED directly: no state-change probe. */
	tp->t_state = TCPS_CLOSED;
	return (0);
}

static __noinline void
tcp_usr_detach(struct socket *so)
{
	struct inpcb *inp = sotoinpcb(so);
	struct tcpcb *tp;

	if (inp->inp_flags & INP_TIMEWAIT) {
		in_pcbdetach(inp);
		if (inp->inp_flags & INP_DROPPED)
			in_pcbfree(inp);
		return;
	}
	tp = intotcpcb(inp);
	if ((inp->inp_flags & INP_DROPPED) || tp->t_state < TCPS_SYN_SENT) {
		tcp_discardcb(tp);
		in_pcbdetach(inp);
		in_pcbfree(inp);
	} else
		in_pcbdetach(inp);
}

static int
tcp_usr_bind(struct socket *so, struct sockaddr *nam, struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);
	struct sockaddr_in *sin = (struct sockaddr_in *)nam;

	inp->inp_laddr = sin->sin_addr;
	inp->inp_lport = sin->sin_port;
	return (0);
}

static int
tcp6_usr_bind(struct socket *so, struct sockaddr *nam,
    struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)nam;

	inp->in6p_laddr = sin6->sin6_addr;
	inp->inp_lport = sin6->sin6_port;
	return (0);
}

static __noinline int
tcp_usr_listen(struct socket *so, int backlog __unused,
    struct thread *td __unused)
{
	so->so_options |= SO_ACCEPTCONN;
	tcp_state_change(sototcpcb(so), TCPS_LISTEN);
	return (0);
}

/* FreeBSD has a separate entry point for IPv6; the work is the same. */
static __noinline int
tcp6_usr_listen(struct socket *so, int backlog, struct thread *td)
{
	return (tcp_usr_listen(so, backlog, td));
}

static int
tcp_connect(struct tcpcb *tp)
{
	struct socket *so = tp->t_inpcb->inp_socket;

	if (tp->t_inpcb->inp_lport == 0)
		tp->t_inpcb->inp_lport = htons(in_pcb_ephemeral());
	tp->iss = tcp_new_isn();
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_up = tp->iss;
	tp->t_starttime = TICKS();
	so->so_state |= SS_ISCONNECTING;
	tcp_state_change(tp, TCPS_SYN_SENT);
	return (tcp_output(tp));
}

static __noinline int
tcp_usr_connect(struct socket *so, struct sockaddr *nam,
    struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);
	struct sockaddr_in *sin = (struct sockaddr_in *)nam;

	inp->inp_faddr = sin->sin_addr;
	inp->inp_fport = sin->sin_port;
	if (inp->inp_laddr.s_addr == 0)
		inp->inp_laddr = ((u_char *)&sin->sin_addr)[0] ==
		    IN_LOOPBACKNET ? in_loopback : in_em0;
	return (tcp_connect(intotcpcb(inp)));
}

static __noinline int
tcp6_usr_connect(struct socket *so, struct sockaddr *nam,
    struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)nam;

	inp->in6p_faddr = sin6->sin6_addr;
	inp->inp_fport = sin6->sin6_port;
	inp->in6p_laddr = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ?
	    in6_loopback : in6_em0_ll;
	return (tcp_connect(intotcpcb(inp)));
}

static __noinline int
tcp_usr_send(struct socket *so, int flags __unused, struct mbuf *m,
    struct sockaddr *nam __unused, struct mbuf *control __unused,
    struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);

	if (inp == NULL || (inp->inp_flags & (INP_TIMEWAIT | INP_DROPPED))) {
		m_freem(m);
		return (ECONNRESET);
	}
	sbappendstream(&so->so_snd, m);
	return (tcp_output(intotcpcb(inp)));
}

static __noinline int
tcp_usr_disconnect(struct socket *so)
{
	struct inpcb *inp = sotoinpcb(so);

	if (inp->inp_flags & (INP_TIMEWAIT | INP_DROPPED))
		return (ECONNRESET);
	tcp_disconnect(intotcpcb(inp));
	return (0);
}

static __noinline void
tcp_usr_close(struct socket *so)
{
	struct inpcb *inp = sotoinpcb(so);

	if (inp->inp_flags & (INP_TIMEWAIT | INP_DROPPED))
		return;
	if (!(so->so_state & SS_ISDISCONNECTING))
		tcp_disconnect(intotcpcb(inp));
}

static void
tcp_disconnect(struct tcpcb *tp)
{
	struct inpcb *inp = tp->t_inpcb;
	struct socket *so = inp->inp_socket;

	if (tp->t_state < TCPS_ESTABLISHED) {
		(void)tcp_close(tp);
		return;
	}
	so->so_state |= SS_ISDISCONNECTING;
	sbdrop(&so->so_rcv, (int)so->so_rcv.sb_cc);
	tcp_usrclosed(tp);
	if (!(inp->inp_flags & INP_DROPPED))
		(void)tcp_output(tp);
}

static void
tcp_usrclosed(struct tcpcb *tp)
{
	switch (tp->t_state) {
	case TCPS_LISTEN:
		tcp_state_change(tp, TCPS_CLOSED);
		/* FALLTHROUGH */
	case TCPS_CLOSED:
		(void)tcp_close(tp);
		return;
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
		tp->t_flags |= TF_NEEDFIN;
		break;
	case TCPS_ESTABLISHED:
		tcp_state_change(tp, TCPS_FIN_WAIT_1);
		break;
	case TCPS_CLOSE_WAIT:
		tcp_state_change(tp, TCPS_LAST_ACK);
		break;
	}
}

int soreceive_generic(struct socket *, struct sockaddr **, struct uio *,
    struct mbuf **, struct mbuf **, int *);
int sosend_generic(struct socket *, struct sockaddr *, struct uio *,
    struct mbuf *, struct mbuf *, int, struct thread *);

struct pr_usrreqs tcp_usrreqs = {
	.pru_attach = tcp_usr_attach,
	.pru_bind = tcp_usr_bind,
	.pru_connect = tcp_usr_connect,
	.pru_detach = tcp_usr_detach,
	.pru_disconnect = tcp_usr_disconnect,
	.pru_listen = tcp_usr_listen,
	.pru_send = tcp_usr_send,
	.pru_sosend = sosend_generic,
	.pru_soreceive = soreceive_generic,
	.pru_close = tcp_usr_close,
};

struct pr_usrreqs tcp6_usrreqs = {
	.pru_attach = tcp_usr_attach,
	.pru_bind = tcp6_usr_bind,
	.pru_connect = tcp6_usr_connect,
	.pru_detach = tcp_usr_detach,
	.pru_disconnect = tcp_usr_disconnect,
	.pru_listen = tcp6_usr_listen,
	.pru_send = tcp_usr_send,
	.pru_sosend = sosend_generic,
	.pru_soreceive = soreceive_generic,
	.pru_close = tcp_usr_close,
};
