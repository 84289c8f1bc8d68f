/*
 * TCP support (netinet/tcp_subr.c, tcp_timewait.c): control blocks, the
 * state-change probe, closing and dropping, tcp_respond and TIME_WAIT.
 */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

static int
inp_index(struct inpcb *inp)
{
	return ((int)(inp - curnet()->inpcbs));
}

u_int
tcp_mss_for(struct inpcb *inp)
{
	if (inp->inp_vflag & INP_IPV6)
		return (IN6_IS_ADDR_LOOPBACK(&inp->in6p_faddr) ?
		    16384 - 60 : 1500 - 60);
	return (((u_char *)&inp->inp_faddr)[0] == IN_LOOPBACKNET ?
	    16384 - 40 : 1500 - 40);
}

struct tcpcb *
tcp_newtcpcb(struct inpcb *inp)
{
	struct tcpcb_mem *tm = &curnet()->tcbs[inp_index(inp)];
	struct tcpcb *tp = &tm->tcb;

	bzero(tm, sizeof(*tm));
	tm->used = 1;
	tp->t_timers = &tm->tt;
	tp->t_inpcb = inp;
	tp->t_maxseg = tp->t_maxopd =
	    (inp->inp_vflag & INP_IPV6) ? TCP6_MSS : TCP_MSS;
	tp->t_srtt = TCPTV_SRTTBASE;
	tp->t_rttvar = ((TCPTV_RTOBASE - TCPTV_SRTTBASE) << TCP_RTTVAR_SHIFT) / 4;
	tp->t_rttmin = TCPTV_MIN;
	tp->t_rxtcur = TCPTV_RTOBASE;
	tp->snd_cwnd = TCP_MAXWIN << TCP_MAX_WINSHIFT;
	tp->snd_ssthresh = TCP_MAXWIN << TCP_MAX_WINSHIFT;
	tp->t_rcvtime = TICKS();
	inp->inp_ip_ttl = IPDEFTTL;
	inp->inp_ppcb = tp;
	return (tp);
}

/* Deterministic initial sequence numbers: per CPU, per connection. */
tcp_seq
tcp_new_isn(void)
{
	struct model_net *mn = curnet();

	mn->iss_seed += 0x1f3a9c17;
	return (mn->iss_seed ^ (uint32_t)(mn->cpu << 28));
}

/* Save the old state, store the new one, then fire (tcp_subr.c:2594). */
__noinline void
tcp_state_change(struct tcpcb *tp, int newstate)
{
	int pstate = tp->t_state;

	tp->t_state = newstate;
	TCP_PROBE6(state__change, NULL, tp, NULL, tp, NULL, pstate);
	gt_state(tp, pstate);
}

void
tcp_discardcb(struct tcpcb *tp)
{
	struct tcpcb_mem *tm = (struct tcpcb_mem *)tp;

	tcp_reass_flush(tp);
	tp->t_inpcb->inp_ppcb = NULL;
	bzero(tm, sizeof(*tm));
}

/* Returns NULL when the PCB is gone (the socket had already let go). */
struct tcpcb *
tcp_close(struct tcpcb *tp)
{
	struct inpcb *inp = tp->t_inpcb;
	struct socket *so = inp->inp_socket;

	tcp_timer_activate(tp, &tp->t_timers->tt_rexmt, 0);
	inp->inp_flags |= INP_DROPPED;
	if (so != NULL) {
		soisdisconnected(so);
		return (tp);
	}
	tcp_discardcb(tp);
	in_pcbfree(inp);
	return (NULL);
}

struct tcpcb *
tcp_drop(struct tcpcb *tp, int errno)
{
	struct socket *so = tp->t_inpcb->inp_socket;

	if (TCPS_HAVERCVDSYN(tp->t_state)) {
		tcp_state_change(tp, TCPS_CLOSED);
		(void)tcp_output(tp);
	}
	if (so != NULL)
		so->so_error = (u_short)errno;
	return (tcp_close(tp));
}

/*
 * Send a bare segment (RST or ACK) without a connection's output path,
 * reusing the received mbuf as FreeBSD does: addresses and ports swapped in
 * place, whatever tcp_input left in the IP header kept.
 */
__noinline void
tcp_respond(struct tcpcb *tp, void *ipgen, struct tcphdr *th, struct mbuf *m,
    tcp_seq ack, tcp_seq seq, int flags)
{
	int isipv6 = (((u_char *)ipgen)[0] >> 4) == 6;
	struct tcphdr *nth;
	struct inpcb *inp = tp != NULL ? tp->t_inpcb : NULL;
	u_long win = 0;
	u_short t16;
	int tlen;

	if (tp != NULL && !(flags & TH_RST) && inp->inp_socket != NULL)
		win = inp->inp_socket->so_rcv.sb_hiwat -
		    inp->inp_socket->so_rcv.sb_cc;
	m->m_data = (caddr_t)ipgen;
	if (isipv6) {
		struct ip6_hdr *ip6 = ipgen;
		struct in6_addr t6 = ip6->ip6_dst;

		ip6->ip6_dst = ip6->ip6_src;
		ip6->ip6_src = t6;
		nth = (struct tcphdr *)(ip6 + 1);
		tlen = sizeof(struct ip6_hdr) + sizeof(struct tcphdr);
		ip6->ip6_flow = htonl(0x60000000);
		ip6->ip6_plen = htons(sizeof(struct tcphdr));
		ip6->ip6_hlim = IPV6_DEFHLIM;
	} else {
		struct ip *ip = ipgen;
		uint32_t t4 = ip->ip_dst.s_addr;

		ip->ip_dst.s_addr = ip->ip_src.s_addr;
		ip->ip_src.s_addr = t4;
		nth = (struct tcphdr *)(ip + 1);
		tlen = sizeof(struct tcpiphdr);
		ip->ip_len = htons(tlen);
		ip->ip_ttl = IPDEFTTL;
		ip->ip_off |= htons(IP_DF);
	}
	if (th != nth) {
		nth->th_sport = th->th_sport;
		nth->th_dport = th->th_dport;
	}
	t16 = nth->th_dport;
	nth->th_dport = nth->th_sport;
	nth->th_sport = t16;
	nth->th_seq = htonl(seq);
	nth->th_ack = htonl(ack);
	nth->th_x2 = 0;
	nth->th_off = sizeof(struct tcphdr) >> 2;
	nth->th_flags = (u_char)flags;
	nth->th_win = htons((u_short)min(win, (u_long)TCP_MAXWIN));
	nth->th_urp = 0;
	nth->th_sum = 0;
	m->m_len = tlen;
	if (isipv6) {
		struct ip6_hdr *ip6 = ipgen;

		nth->th_sum = htons(in_cksum_buf(nth, sizeof(struct tcphdr),
		    in6_pseudo_sum(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_TCP,
		    sizeof(struct tcphdr))));
	} else {
		struct ip *ip = ipgen;

		nth->th_sum = htons(in_cksum_buf(nth, sizeof(struct tcphdr),
		    in_pseudo_sum(ip->ip_src.s_addr, ip->ip_dst.s_addr,
		    IPPROTO_TCP, sizeof(struct tcphdr))));
	}

	if (flags & TH_RST) {
		TCP_PROBE5(accept__refused, NULL, NULL, mtod(m, const char *),
		    tp, nth);
		gt_tcp("accept-refused", tp, mtod(m, void *), nth, 0);
	}
	TCP_PROBE5(send, NULL, tp, mtod(m, const char *), tp, nth);
	gt_tcp("send", tp, mtod(m, void *), nth, 0);

	if (isipv6)
		(void)ip6_output(m, NULL, NULL, 0, NULL, NULL, inp);
	else
		(void)ip_output(m, NULL, NULL, 0, NULL, inp);
}

/* The connection becomes a tcptw; its ACK goes out with no tcp probe. */
__noinline void
tcp_twstart(struct tcpcb *tp)
{
	struct model_net *mn = curnet();
	struct inpcb *inp = tp->t_inpcb;
	struct tcptw *tw = &mn->tws[inp_index(inp)];
	struct socket *so = inp->inp_socket;
	int acknow;

	tcp_state_change(tp, TCPS_TIME_WAIT);
	bzero(tw, sizeof(*tw));
	tw->tw_inpcb = inp;
	tw->snd_nxt = tp->snd_nxt;
	tw->rcv_nxt = tp->rcv_nxt;
	tw->iss = tp->iss;
	tw->irs = tp->irs;
	tw->t_starttime = tp->t_starttime;
	tw->last_win = (u_short)min(so != NULL ? so->so_rcv.sb_hiwat -
	    so->so_rcv.sb_cc : (u_int)TCP_MAXWIN, (u_int)TCP_MAXWIN);
	tw->tw_time = (int)(mn->clock + 2 * TCPTV_MSL);
	acknow = tp->t_flags & TF_ACKNOW;
	tcp_discardcb(tp);
	inp->inp_ppcb = tw;
	inp->inp_flags |= INP_TIMEWAIT;
	if (acknow)
		tcp_twrespond(tw, TH_ACK);
	if (so != NULL)
		soisdisconnected(so);
}

__noinline void
tcp_twrespond(struct tcptw *tw, int flags)
{
	struct inpcb *inp = tw->tw_inpcb;
	struct mbuf *m = m_gethdr(0, MT_DATA);
	struct tcphdr *th;
	int isipv6 = (inp->inp_vflag & INP_IPV6) != 0;

	if (isipv6) {
		struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);

		bzero(ip6, sizeof(*ip6) + sizeof(*th));
		ip6->ip6_flow = htonl(0x60000000);
		ip6->ip6_plen = htons(sizeof(struct tcphdr));
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = IPV6_DEFHLIM;
		ip6->ip6_src = inp->in6p_laddr;
		ip6->ip6_dst = inp->in6p_faddr;
		th = (struct tcphdr *)(ip6 + 1);
	} else {
		struct ip *ip = mtod(m, struct ip *);

		bzero(ip, sizeof(*ip) + sizeof(*th));
		ip->ip_v = IPVERSION;
		ip->ip_hl = 5;
		ip->ip_len = htons(sizeof(struct tcpiphdr));
		ip->ip_off = htons(IP_DF);
		ip->ip_ttl = inp->inp_ip_ttl;
		ip->ip_p = IPPROTO_TCP;
		ip->ip_src = inp->inp_laddr;
		ip->ip_dst = inp->inp_faddr;
		th = (struct tcphdr *)(ip + 1);
	}
	th->th_sport = inp->inp_lport;
	th->th_dport = inp->inp_fport;
	th->th_seq = htonl(tw->snd_nxt);
	th->th_ack = htonl(tw->rcv_nxt);
	th->th_off = sizeof(struct tcphdr) >> 2;
	th->th_flags = (u_char)flags;
	th->th_win = htons(tw->last_win);
	if (isipv6) {
		struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);

		th->th_sum = htons(in_cksum_buf(th, sizeof(*th),
		    in6_pseudo_sum(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_TCP,
		    sizeof(*th))));
		m->m_len = sizeof(struct ip6_hdr) + sizeof(*th);
		(void)ip6_output(m, NULL, NULL, 0, NULL, NULL, inp);
	} else {
		struct ip *ip = mtod(m, struct ip *);

		th->th_sum = htons(in_cksum_buf(th, sizeof(*th),
		    in_pseudo_sum(ip->ip_src.s_addr, ip->ip_dst.s_addr,
		    IPPROTO_TCP, sizeof(*th))));
		m->m_len = sizeof(struct tcpiphdr);
		(void)ip_output(m, NULL, NULL, 0, NULL, inp);
	}
}

/* 2*MSL is over: the PCB goes, unless a socket still holds it. */
__noinline void
tcp_twclose(struct tcptw *tw)
{
	struct inpcb *inp = tw->tw_inpcb;

	bzero(tw, sizeof(*tw));
	inp->inp_ppcb = NULL;
	if (inp->inp_socket == NULL)
		in_pcbfree(inp);
	else
		inp->inp_flags |= INP_DROPPED;
}
