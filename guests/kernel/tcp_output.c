/*
 * TCP output (netinet/tcp_output.c): decide what the connection owes its
 * peer (SYN, data, FIN, ACK), build the segment in an mbuf, account the
 * sequence space, fire connect-request/send and hand it to IP.
 */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

static const u_char tcp_outflags[TCP_NSTATES] = {
	TH_RST | TH_ACK,	/* CLOSED */
	0,			/* LISTEN */
	TH_SYN,			/* SYN_SENT */
	TH_SYN | TH_ACK,	/* SYN_RECEIVED */
	TH_ACK,			/* ESTABLISHED */
	TH_ACK,			/* CLOSE_WAIT */
	TH_FIN | TH_ACK,	/* FIN_WAIT_1 */
	TH_FIN | TH_ACK,	/* CLOSING */
	TH_FIN | TH_ACK,	/* LAST_ACK */
	TH_ACK,			/* FIN_WAIT_2 */
	TH_ACK,			/* TIME_WAIT */
};

/* The IP and TCP headers of a connection's segments (tcpip_fillheaders). */
static void
tcpip_fillheaders(struct inpcb *inp, void *ip_ptr, struct tcphdr *th)
{
	if (inp->inp_vflag & INP_IPV6) {
		struct ip6_hdr *ip6 = ip_ptr;

		ip6->ip6_flow = htonl(0x60000000);
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_plen = htons(sizeof(struct tcphdr));
		ip6->ip6_hlim = IPV6_DEFHLIM;
		ip6->ip6_src = inp->in6p_laddr;
		ip6->ip6_dst = inp->in6p_faddr;
	} else {
		struct ip *ip = ip_ptr;

		ip->ip_v = IPVERSION;
		ip->ip_hl = 5;
		ip->ip_tos = 0;
		ip->ip_len = 0;
		ip->ip_id = 0;
		ip->ip_off = 0;
		ip->ip_ttl = inp->inp_ip_ttl;
		ip->ip_sum = 0;
		ip->ip_p = IPPROTO_TCP;
		ip->ip_src = inp->inp_laddr;
		ip->ip_dst = inp->inp_faddr;
	}
	th->th_sport = inp->inp_lport;
	th->th_dport = inp->inp_fport;
	th->th_seq = 0;
	th->th_ack = 0;
	th->th_x2 = 0;
	th->th_off = 5;
	th->th_flags = 0;
	th->th_win = 0;
	th->th_urp = 0;
	th->th_sum = 0;
}

__noinline int
tcp_output(struct tcpcb *tp)
{
	struct inpcb *inp = tp->t_inpcb;
	struct socket *so = inp->inp_socket;
	int isipv6 = (inp->inp_vflag & INP_IPV6) != 0;
	int hdrlen, optlen, len, off, flags, sendalot, error = 0;
	u_int sb_cc;
	u_long recwin;
	tcp_seq startseq;
	struct mbuf *m;
	struct tcphdr *th;
	void *iph;

again:
	sendalot = 0;
	sb_cc = so != NULL ? so->so_snd.sb_cc : 0;
	flags = tcp_outflags[tp->t_state];
	/* A SYN goes out only from the initial sequence number. */
	if ((flags & TH_SYN) && tp->snd_nxt != tp->iss)
		flags &= ~TH_SYN;
	off = (int)(tp->snd_nxt - tp->snd_una);
	if (flags & TH_SYN)
		off = 0;
	else if (!TCPS_HAVEESTABLISHED(tp->t_state) && tp->snd_una == tp->iss)
		off = -1;	/* SYN not yet acknowledged: no data */
	len = 0;
	if (off >= 0 && (u_int)off < sb_cc) {
		long win = (long)tp->snd_wnd - off;

		len = (int)min((long)(sb_cc - off), win);
		if (len > (int)tp->t_maxseg) {
			len = (int)tp->t_maxseg;
			sendalot = 1;
		}
		if (len < 0)
			len = 0;
	}
	/* FIN only after the last byte (it then rides on every ACK, as BSD does). */
	if ((flags & TH_FIN) && (off < 0 || (u_int)(off + len) < sb_cc))
		flags &= ~TH_FIN;
	if (len == 0 && !(flags & (TH_SYN | TH_RST)) &&
	    !(tp->t_flags & TF_ACKNOW) &&
	    !((flags & TH_FIN) && (!(tp->t_flags & TF_SENTFIN) ||
	    tp->snd_nxt == tp->snd_una)))
		return (0);
	if (tp->t_state == TCPS_CLOSED && !(flags & TH_RST))
		return (0);

	m = m_gethdr(0, MT_DATA);
	optlen = (flags & TH_SYN) ? TCPOLEN_MAXSEG : 0;
	hdrlen = (isipv6 ? sizeof(struct ip6_hdr) : sizeof(struct ip)) +
	    sizeof(struct tcphdr) + optlen;
	iph = mtod(m, void *);
	th = (struct tcphdr *)((caddr_t)iph +
	    (isipv6 ? sizeof(struct ip6_hdr) : sizeof(struct ip)));
	tcpip_fillheaders(inp, iph, th);
	if (optlen) {
		u_char *opt = (u_char *)(th + 1);
		u_short mss = (u_short)tcp_mss_for(inp);

		opt[0] = TCPOPT_MAXSEG;
		opt[1] = TCPOLEN_MAXSEG;
		opt[2] = (u_char)(mss >> 8);
		opt[3] = (u_char)mss;
	}
	if (len > 0)
		sbcopy_out(&so->so_snd, off, len, (caddr_t)iph + hdrlen);
	m->m_len = hdrlen + len;
	if (len > 0 && (u_int)(off + len) == sb_cc)
		flags |= TH_PUSH;

	/* A closed socket's buffer was flushed: FreeBSD keeps the (empty) socket
	 * until the connection ends, so the whole buffer is offered. */
	recwin = so != NULL ? so->so_rcv.sb_hiwat - so->so_rcv.sb_cc : TCP_MAXWIN;
	if (recwin > TCP_MAXWIN)
		recwin = TCP_MAXWIN;
	/* Never shrink the window already advertised. */
	if ((long)recwin < (long)(int)(tp->rcv_adv - tp->rcv_nxt))
		recwin = (u_long)(int)(tp->rcv_adv - tp->rcv_nxt);

	/* A retransmitted FIN keeps its sequence number. */
	if ((flags & TH_FIN) && (tp->t_flags & TF_SENTFIN) &&
	    tp->snd_nxt == tp->snd_max)
		tp->snd_nxt--;
	if (len || (flags & (TH_SYN | TH_FIN)))
		th->th_seq = htonl(tp->snd_nxt);
	else
		th->th_seq = htonl(tp->snd_max);
	if (flags & TH_ACK)
		th->th_ack = htonl(tp->rcv_nxt);
	th->th_off = (u_char)((sizeof(struct tcphdr) + optlen) >> 2);
	th->th_flags = (u_char)flags;
	th->th_win = htons((u_short)(recwin >> tp->rcv_scale));
	if (isipv6) {
		struct ip6_hdr *ip6 = iph;
		int tl = sizeof(struct tcphdr) + optlen + len;

		ip6->ip6_plen = htons((u_short)tl);
		th->th_sum = htons(in_cksum_buf(th, tl,
		    in6_pseudo_sum(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_TCP,
		    tl)));
	} else {
		struct ip *ip = iph;
		int tl = sizeof(struct tcphdr) + optlen + len;

		ip->ip_len = htons((u_short)(hdrlen + len));
		ip->ip_off = htons(IP_DF);
		th->th_sum = htons(in_cksum_buf(th, tl,
		    in_pseudo_sum(ip->ip_src.s_addr, ip->ip_dst.s_addr,
		    IPPROTO_TCP, tl)));
	}

	/* Account the sequence space before the probes, as FreeBSD does; time
	 * the first new segment for the RTT estimate (not retransmissions). */
	startseq = tp->snd_nxt;
	if (flags & TH_SYN)
		tp->snd_nxt++;
	if (flags & TH_FIN) {
		tp->snd_nxt++;
		tp->t_flags |= TF_SENTFIN;
	}
	tp->snd_nxt += len;
	if (SEQ_GT(tp->snd_nxt, tp->snd_max)) {
		tp->snd_max = tp->snd_nxt;
		if (tp->t_rtttime == 0) {
			tp->t_rtttime = TICKS();
			tp->t_rtseq = startseq;
		}
	}
	if ((flags & (TH_SYN | TH_FIN)) || len > 0) {
		if (!callout_active(&tp->t_timers->tt_rexmt))
			tcp_timer_activate(tp, &tp->t_timers->tt_rexmt,
			    tp->t_rxtcur);
	}
	if (recwin > 0 && SEQ_GT(tp->rcv_nxt + recwin, tp->rcv_adv))
		tp->rcv_adv = tp->rcv_nxt + (tcp_seq)recwin;
	tp->last_ack_sent = tp->rcv_nxt;
	tp->t_flags &= ~(TF_ACKNOW | TF_DELACK);

	if (tp->t_state == TCPS_SYN_SENT) {
		TCP_PROBE5(connect__request, NULL, tp, iph, tp, th);
		gt_tcp("connect-request", tp, iph, th, 0);
	}
	TCP_PROBE5(send, NULL, tp, iph, tp, th);
	gt_tcp("send", tp, iph, th, 0);

	if (isipv6)
		error = ip6_output(m, NULL, NULL, 0, NULL, NULL, inp);
	else
		error = ip_output(m, NULL, NULL, 0, NULL, inp);
	if (error == 0 && sendalot)
		goto again;
	return (error);
}
