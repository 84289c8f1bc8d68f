/*
 * TCP input (netinet/tcp_input.c, tcp_reass.c): checksum (with FreeBSD's
 * ipovly header clobbering when the interface did not verify it), PCB
 * lookup, listen sockets handed to the syncache, the state machine of
 * tcp_do_segment, reassembly, and resets for segments nobody wants.
 */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

static void tcp_do_segment(struct mbuf *m, struct tcphdr *th,
    struct socket *so, struct tcpcb *tp, int drop_hdrlen, int tlen,
    u_char iptos);
static void tcp_dropwithreset(struct mbuf *m, struct tcphdr *th,
    struct tcpcb *tp, int tlen);
static void tcp_twcheck(struct inpcb *inp, struct tcphdr *th, struct mbuf *m,
    int tlen);

/* Input-side probes see these four fields in host order. */
static void
tcp_fields_to_host(struct tcphdr *th)
{
	th->th_seq = ntohl(th->th_seq);
	th->th_ack = ntohl(th->th_ack);
	th->th_win = ntohs(th->th_win);
	th->th_urp = ntohs(th->th_urp);
}

static u_short
tcp_opt_mss(struct tcphdr *th, int off)
{
	u_char *cp = (u_char *)(th + 1);
	int cnt = off - (int)sizeof(struct tcphdr);

	while (cnt > 0) {
		int optlen;

		if (cp[0] == TCPOPT_EOL)
			break;
		if (cp[0] == TCPOPT_NOP) {
			cp++;
			cnt--;
			continue;
		}
		if (cnt < 2 || cp[1] < 2 || cp[1] > cnt)
			break;
		optlen = cp[1];
		if (cp[0] == TCPOPT_MAXSEG && optlen == TCPOLEN_MAXSEG)
			return ((u_short)(cp[2] << 8 | cp[3]));
		cp += optlen;
		cnt -= optlen;
	}
	return (0);
}

__noinline void
tcp6_input(struct mbuf *m, int off0)
{
	tcp_input(m, off0);
}

__noinline void
tcp_input(struct mbuf *m, int off0)
{
	u_char *base = mtod(m, u_char *);
	int isipv6 = (base[0] >> 4) == 6;
	struct tcphdr *th = (struct tcphdr *)(base + off0);
	struct inpcb *inp;
	struct tcpcb *tp = NULL;
	struct socket *so;
	int tlen, off, thflags, drop_hdrlen;
	u_char iptos = 0;
	u_short mss;

	if (isipv6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)base;

		tlen = ntohs(ip6->ip6_plen) - (off0 - (int)sizeof(*ip6));
		if (!(m->m_pkthdr.csum_flags & CSUM_DATA_VALID) &&
		    in_cksum_buf(th, tlen, in6_pseudo_sum(&ip6->ip6_src,
		    &ip6->ip6_dst, IPPROTO_TCP, tlen)) != 0)
			goto drop;
	} else {
		struct ip *ip = (struct ip *)base;

		tlen = ntohs(ip->ip_len) - off0;
		if (!(m->m_pkthdr.csum_flags & CSUM_DATA_VALID)) {
			/*
			 * Checksum the pseudo-header in place, as tcp_input
			 * does: ip_len and ip_v come back for the probes;
			 * ip_hl, ip_tos, ip_id, ip_off, ip_ttl and ip_sum
			 * do not.
			 */
			struct ipovly *ipov = (struct ipovly *)ip;
			int len = off0 + tlen;

			bzero(ipov->ih_x1, sizeof(ipov->ih_x1));
			ipov->ih_len = htons((u_short)tlen);
			th->th_sum = in_cksum_buf(ip, len, 0);
			ip->ip_len = htons((u_short)(tlen + off0));
			if (th->th_sum)
				goto drop;
			ip->ip_v = IPVERSION;
		}
		iptos = ip->ip_tos;
	}
	off = th->th_off << 2;
	if (off < (int)sizeof(struct tcphdr) || off > tlen)
		goto drop;
	tlen -= off;
	drop_hdrlen = off0 + off;
	mss = tcp_opt_mss(th, off);
	tcp_fields_to_host(th);
	thflags = th->th_flags;

	if (isipv6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)base;

		inp = in_pcblookup_model(IPPROTO_TCP, 1, &ip6->ip6_src,
		    th->th_sport, &ip6->ip6_dst, th->th_dport, 1);
	} else {
		struct ip *ip = (struct ip *)base;

		inp = in_pcblookup_model(IPPROTO_TCP, 0, &ip->ip_src,
		    th->th_sport, &ip->ip_dst, th->th_dport, 1);
	}
	if (inp == NULL)
		goto dropwithreset;
	if (inp->inp_flags & INP_TIMEWAIT) {
		tcp_twcheck(inp, th, m, tlen);
		return;
	}
	tp = intotcpcb(inp);
	if (tp == NULL || (inp->inp_flags & INP_DROPPED)) {
		tp = NULL;
		goto dropwithreset;
	}
	so = inp->inp_socket;
	if (so != NULL && (so->so_options & SO_ACCEPTCONN)) {
		if ((thflags & (TH_RST | TH_ACK | TH_SYN)) == TH_ACK) {
			/* The handshake completes: straight to the state
			 * machine, without a tcp:::receive. */
			so = syncache_expand(inp, isipv6, base, th);
			if (so == NULL)
				goto dropwithreset;
			inp = sotoinpcb(so);
			tp = intotcpcb(inp);
			tcp_do_segment(m, th, so, tp, drop_hdrlen, tlen, iptos);
			return;
		}
		if (thflags & TH_RST)
			goto dropunlock;
		if (thflags & TH_ACK)
			goto dropwithreset;
		if (!(thflags & TH_SYN))
			goto dropunlock;
		/* A SYN for a listening socket never reaches tcp:::receive. */
		syncache_add(inp, isipv6, base, th, mss);
		m_freem(m);
		return;
	}

	TCP_PROBE5(receive, NULL, tp, mtod(m, const char *), tp, th);
	gt_tcp("receive", tp, base, th, 1);
	if (mss != 0 && (thflags & TH_SYN))
		tp->t_maxseg = min((u_int)mss, tcp_mss_for(inp));
	tcp_do_segment(m, th, so, tp, drop_hdrlen, tlen, iptos);
	return;

dropwithreset:
	TCP_PROBE5(receive, NULL, tp, mtod(m, const char *), tp, th);
	gt_tcp("receive", tp, base, th, 1);
	tcp_dropwithreset(m, th, tp, tlen);
	return;
dropunlock:
	TCP_PROBE5(receive, NULL, tp, mtod(m, const char *), tp, th);
	gt_tcp("receive", tp, base, th, 1);
drop:
	m_freem(m);
}

static __noinline void
tcp_do_segment(struct mbuf *m, struct tcphdr *th, struct socket *so,
    struct tcpcb *tp, int drop_hdrlen, int tlen, u_char iptos __unused)
{
	int thflags = th->th_flags, acked, ourfinisacked, needoutput = 0;
	u_long tiwin = (u_long)th->th_win << tp->snd_scale;
	int todrop;
	u_int sb_cc;

	tp->t_rcvtime = TICKS();

	if (tp->t_state == TCPS_SYN_SENT) {
		if ((thflags & TH_ACK) && (SEQ_LEQ(th->th_ack, tp->iss) ||
		    SEQ_GT(th->th_ack, tp->snd_max)))
			goto dropwithreset;
		if ((thflags & (TH_ACK | TH_RST)) == (TH_ACK | TH_RST)) {
			TCP_PROBE5(connect__refused, NULL, tp,
			    mtod(m, const char *), tp, th);
			gt_tcp("connect-refused", tp, mtod(m, void *), th, 1);
			tp = tcp_drop(tp, ECONNREFUSED);
		}
		if (thflags & TH_RST)
			goto drop;
		if (!(thflags & TH_SYN))
			goto drop;
		tp->irs = th->th_seq;
		tp->rcv_adv = tp->rcv_nxt = tp->irs + 1;
		tp->rcv_wnd = so != NULL ? min(so->so_rcv.sb_hiwat -
		    so->so_rcv.sb_cc, (u_int)TCP_MAXWIN) : 0;
		if (thflags & TH_ACK) {
			soisconnected(so);
			tp->rcv_adv += (tcp_seq)tp->rcv_wnd;
			if (tp->t_rtttime && SEQ_GT(th->th_ack, tp->t_rtseq))
				tcp_xmit_timer(tp, (int)(TICKS() - tp->t_rtttime));
			tp->snd_una++;
			tp->t_starttime = TICKS();
			tp->t_flags |= TF_ACKNOW;
			if (tp->snd_una == tp->snd_max)
				tcp_timer_activate(tp, &tp->t_timers->tt_rexmt, 0);
			if (tp->t_flags & TF_NEEDFIN) {
				tcp_state_change(tp, TCPS_FIN_WAIT_1);
				tp->t_flags &= ~TF_NEEDFIN;
			} else {
				tcp_state_change(tp, TCPS_ESTABLISHED);
				TCP_PROBE5(connect__established, NULL, tp,
				    mtod(m, const char *), tp, th);
				gt_tcp("connect-established", tp,
				    mtod(m, void *), th, 1);
				cc_conn_init(tp);
			}
		} else {
			/* Simultaneous open. */
			tp->t_flags |= TF_ACKNOW;
			tcp_state_change(tp, TCPS_SYN_RECEIVED);
		}
		th->th_seq++;
		thflags &= ~TH_SYN;
		tp->snd_wl1 = th->th_seq - 1;
		tp->snd_wl2 = th->th_ack;
		tp->snd_wnd = tiwin;
		tp->rcv_up = th->th_seq;
		goto step6;
	}
	if (tp->t_state == TCPS_LISTEN)
		goto drop;

	if (thflags & TH_RST) {
		if (th->th_seq == tp->last_ack_sent ||
		    th->th_seq == tp->rcv_nxt) {
			switch (tp->t_state) {
			case TCPS_SYN_RECEIVED:
				if (so != NULL)
					so->so_error = ECONNREFUSED;
				goto close;
			case TCPS_ESTABLISHED:
			case TCPS_FIN_WAIT_1:
			case TCPS_FIN_WAIT_2:
			case TCPS_CLOSE_WAIT:
				if (so != NULL)
					so->so_error = ECONNRESET;
			close:
				tcp_state_change(tp, TCPS_CLOSED);
				tp = tcp_close(tp);
				break;
			case TCPS_CLOSING:
			case TCPS_LAST_ACK:
				tp = tcp_close(tp);
				break;
			}
		}
		goto drop;
	}

	/* Trim what we already have; a repeated FIN only asks for an ACK. */
	todrop = (int)(tp->rcv_nxt - th->th_seq);
	if (todrop > 0) {
		if (thflags & TH_SYN) {
			thflags &= ~TH_SYN;
			th->th_seq++;
			todrop--;
		}
		if (todrop > tlen || (todrop == tlen && !(thflags & TH_FIN))) {
			thflags &= ~TH_FIN;
			tp->t_flags |= TF_ACKNOW;
			todrop = tlen;
		}
		drop_hdrlen += todrop;
		th->th_seq += todrop;
		tlen -= todrop;
	}
	if (so == NULL && tp->t_state > TCPS_CLOSE_WAIT && tlen) {
		tp = tcp_close(tp);
		goto dropwithreset;
	}
	if (!(thflags & TH_ACK)) {
		if (tp->t_state == TCPS_SYN_RECEIVED)
			goto step6;
		if (tp->t_flags & TF_ACKNOW)
			goto dropafterack;
		goto drop;
	}

	switch (tp->t_state) {
	case TCPS_SYN_RECEIVED:
		if (SEQ_GT(tp->snd_una, th->th_ack) ||
		    SEQ_GT(th->th_ack, tp->snd_max))
			goto dropwithreset;
		if (so != NULL)
			soisconnected(so);
		if (tp->t_flags & TF_NEEDFIN) {
			tcp_state_change(tp, TCPS_FIN_WAIT_1);
			tp->t_flags &= ~TF_NEEDFIN;
		} else {
			tcp_state_change(tp, TCPS_ESTABLISHED);
			TCP_PROBE5(accept__established, NULL, tp,
			    mtod(m, const char *), tp, th);
			gt_tcp("accept-established", tp, mtod(m, void *), th,
			    1);
			cc_conn_init(tp);
		}
		if (tlen == 0 && !(thflags & TH_FIN))
			(void)tcp_reass(tp, NULL, NULL, NULL, 0);
		tp->snd_wl1 = th->th_seq - 1;
		/* FALLTHROUGH */
	case TCPS_ESTABLISHED:
	case TCPS_FIN_WAIT_1:
	case TCPS_FIN_WAIT_2:
	case TCPS_CLOSE_WAIT:
	case TCPS_CLOSING:
	case TCPS_LAST_ACK:
		if (SEQ_GT(th->th_ack, tp->snd_max))
			goto dropafterack;
		if (SEQ_LEQ(th->th_ack, tp->snd_una)) {
			if (tlen == 0 && tiwin == tp->snd_wnd)
				tp->t_dupacks++;
			break;
		}
		tp->t_dupacks = 0;
		acked = (int)(th->th_ack - tp->snd_una);
		if (tp->t_rtttime && SEQ_GT(th->th_ack, tp->t_rtseq))
			tcp_xmit_timer(tp, (int)(TICKS() - tp->t_rtttime));
		if (th->th_ack == tp->snd_max)
			tcp_timer_activate(tp, &tp->t_timers->tt_rexmt, 0);
		else
			tcp_timer_activate(tp, &tp->t_timers->tt_rexmt,
			    tp->t_rxtcur);
		sb_cc = so != NULL ? so->so_snd.sb_cc : 0;
		if ((u_int)acked > sb_cc) {
			tp->snd_wnd -= sb_cc;
			if (so != NULL)
				sbdrop(&so->so_snd, (int)sb_cc);
			ourfinisacked = 1;
		} else {
			if (so != NULL)
				sbdrop(&so->so_snd, acked);
			tp->snd_wnd -= acked;
			ourfinisacked = 0;
		}
		cc_ack_received(tp, acked);
		tp->snd_una = th->th_ack;
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		switch (tp->t_state) {
		case TCPS_FIN_WAIT_1:
			if (ourfinisacked)
				tcp_state_change(tp, TCPS_FIN_WAIT_2);
			break;
		case TCPS_CLOSING:
			if (ourfinisacked) {
				tcp_twstart(tp);
				m_freem(m);
				return;
			}
			break;
		case TCPS_LAST_ACK:
			if (ourfinisacked) {
				tp = tcp_close(tp);
				goto drop;
			}
			break;
		}
		break;
	}

step6:
	if ((thflags & TH_ACK) && (SEQ_LT(tp->snd_wl1, th->th_seq) ||
	    (tp->snd_wl1 == th->th_seq && (SEQ_LT(tp->snd_wl2, th->th_ack) ||
	    (tp->snd_wl2 == th->th_ack && tiwin > tp->snd_wnd))))) {
		tp->snd_wnd = tiwin;
		tp->snd_wl1 = th->th_seq;
		tp->snd_wl2 = th->th_ack;
		if (tp->snd_wnd > tp->max_sndwnd)
			tp->max_sndwnd = tp->snd_wnd;
		needoutput = 1;
	}

	if ((tlen || (thflags & TH_FIN)) &&
	    !TCPS_HAVERCVDFIN(tp->t_state)) {
		m->m_data += drop_hdrlen;
		m->m_len = tlen;
		if (th->th_seq == tp->rcv_nxt && tp->t_segq.lh_first == NULL &&
		    TCPS_HAVEESTABLISHED(tp->t_state)) {
			/* In order: ACK at once (the model runs without
			 * delayed ACKs). */
			tp->t_flags |= TF_ACKNOW;
			tp->rcv_nxt += tlen;
			thflags = th->th_flags & TH_FIN;
			if (tlen > 0 && so != NULL &&
			    !(so->so_rcv.sb_state & SBS_CANTRCVMORE))
				sbappendstream(&so->so_rcv, m);
			else
				m_freem(m);
		} else {
			thflags = tcp_reass(tp, th, &tlen, m, 0);
			tp->t_flags |= TF_ACKNOW;
		}
		m = NULL;
	} else {
		m_freem(m);
		m = NULL;
		thflags &= ~TH_FIN;
	}
	tp->rcv_wnd = so != NULL ? so->so_rcv.sb_hiwat - so->so_rcv.sb_cc : 0;

	if (thflags & TH_FIN) {
		if (!TCPS_HAVERCVDFIN(tp->t_state)) {
			if (so != NULL)
				socantrcvmore(so);
			tp->t_flags |= TF_ACKNOW;
			tp->rcv_nxt++;
		}
		switch (tp->t_state) {
		case TCPS_SYN_RECEIVED:
		case TCPS_ESTABLISHED:
			tcp_state_change(tp, TCPS_CLOSE_WAIT);
			break;
		case TCPS_FIN_WAIT_1:
			tcp_state_change(tp, TCPS_CLOSING);
			break;
		case TCPS_FIN_WAIT_2:
			tcp_twstart(tp);
			return;
		}
	}
	if (needoutput || (tp->t_flags & TF_ACKNOW))
		(void)tcp_output(tp);
	return;

dropafterack:
	tp->t_flags |= TF_ACKNOW;
	(void)tcp_output(tp);
	m_freem(m);
	return;
dropwithreset:
	tcp_dropwithreset(m, th, tp, tlen);
	return;
drop:
	m_freem(m);
}

static __noinline void
tcp_dropwithreset(struct mbuf *m, struct tcphdr *th, struct tcpcb *tp,
    int tlen)
{
	if (th->th_flags & TH_RST) {
		m_freem(m);
		return;
	}
	if (th->th_flags & TH_ACK)
		tcp_respond(tp, mtod(m, void *), th, m, (tcp_seq)0, th->th_ack,
		    TH_RST);
	else {
		if (th->th_flags & TH_SYN)
			tlen++;
		tcp_respond(tp, mtod(m, void *), th, m, th->th_seq + tlen,
		    (tcp_seq)0, TH_RST | TH_ACK);
	}
}

/* A segment for a connection in TIME_WAIT: answer a repeated FIN only. */
static void
tcp_twcheck(struct inpcb *inp, struct tcphdr *th, struct mbuf *m,
    int tlen __unused)
{
	struct tcptw *tw = intotw(inp);

	if (tw != NULL && (th->th_flags & TH_FIN) &&
	    !(th->th_flags & TH_RST)) {
		tcp_twrespond(tw, TH_ACK);
		tw->tw_time = (int)(curnet()->clock + 2 * TCPTV_MSL);
	}
	m_freem(m);
}

/* Segments that arrive ahead of rcv_nxt wait here, sorted by sequence. */
int
tcp_reass(struct tcpcb *tp, struct tcphdr *th, int *tlenp, struct mbuf *m,
    int off __unused)
{
	struct model_net *mn = curnet();
	struct socket *so = tp->t_inpcb->inp_socket;
	struct tseg_qent *te, *q, *prev;
	int flags = 0, i;

	if (th == NULL)
		goto present;
	if (SEQ_GT(th->th_seq, tp->rcv_nxt))
		gt_ooo(tp, th, *tlenp);
	te = NULL;
	for (i = 0; i < NTSEG; i++)
		if (mn->tsegs[i].tqe_m == NULL) {
			te = &mn->tsegs[i];
			break;
		}
	if (te == NULL)
		panic("cpu%d: reassembly queue full", mn->cpu);
	te->tqe_th = th;
	te->tqe_len = *tlenp;
	te->tqe_m = m;
	tp->t_segqlen += *tlenp;
	tp->t_rcvoopack++;
	prev = NULL;
	for (q = tp->t_segq.lh_first; q != NULL; q = q->tqe_q.le_next) {
		if (SEQ_GT(q->tqe_th->th_seq, th->th_seq))
			break;
		prev = q;
	}
	if (prev == NULL) {
		te->tqe_q.le_next = tp->t_segq.lh_first;
		tp->t_segq.lh_first = te;
	} else {
		te->tqe_q.le_next = prev->tqe_q.le_next;
		prev->tqe_q.le_next = te;
	}

present:
	if (!TCPS_HAVEESTABLISHED(tp->t_state))
		return (0);
	q = tp->t_segq.lh_first;
	while (q != NULL && SEQ_LEQ(q->tqe_th->th_seq, tp->rcv_nxt)) {
		struct tseg_qent *next = q->tqe_q.le_next;
		int skip = (int)(tp->rcv_nxt - q->tqe_th->th_seq);

		if (skip < q->tqe_len || (skip == 0 && q->tqe_len == 0)) {
			q->tqe_m->m_data += skip;
			q->tqe_m->m_len -= skip;
			tp->rcv_nxt += q->tqe_len - skip;
			flags = q->tqe_th->th_flags & TH_FIN;
			if (q->tqe_m->m_len > 0 && so != NULL &&
			    !(so->so_rcv.sb_state & SBS_CANTRCVMORE))
				sbappendstream(&so->so_rcv, q->tqe_m);
			else
				m_freem(q->tqe_m);
		} else
			m_freem(q->tqe_m);
		tp->t_segqlen -= q->tqe_len;
		tp->t_segq.lh_first = next;
		q->tqe_m = NULL;
		q->tqe_th = NULL;
		q = next;
	}
	return (flags);
}

void
tcp_reass_flush(struct tcpcb *tp)
{
	struct tseg_qent *q = tp->t_segq.lh_first;

	while (q != NULL) {
		struct tseg_qent *next = q->tqe_q.le_next;

		m_freem(q->tqe_m);
		q->tqe_m = NULL;
		q->tqe_th = NULL;
		q = next;
	}
	tp->t_segq.lh_first = NULL;
	tp->t_segqlen = 0;
}

/*
 * A round-trip time sample (tcp_xmit_timer): the smoothed RTT and its
 * variance in FreeBSD's fixed point, and the retransmission timeout from
 * them, never below rtt + 2 ticks or t_rttmin, plus the 200 ms slop.
 */
void
tcp_xmit_timer(struct tcpcb *tp, int rtt)
{
	int delta;

	if (rtt < 1)
		rtt = 1;
	if (tp->t_srtt != 0) {
		delta = ((rtt - 1) << TCP_DELTA_SHIFT) -
		    (tp->t_srtt >> (TCP_RTT_SHIFT - TCP_DELTA_SHIFT));
		if ((tp->t_srtt += delta) <= 0)
			tp->t_srtt = 1;
		if (delta < 0)
			delta = -delta;
		delta -= tp->t_rttvar >> (TCP_RTTVAR_SHIFT - TCP_DELTA_SHIFT);
		if ((tp->t_rttvar += delta) <= 0)
			tp->t_rttvar = 1;
		if (tp->t_rttbest > (u_int)(tp->t_srtt + tp->t_rttvar))
			tp->t_rttbest = (u_int)(tp->t_srtt + tp->t_rttvar);
	} else {
		tp->t_srtt = rtt << TCP_RTT_SHIFT;
		tp->t_rttvar = rtt << (TCP_RTTVAR_SHIFT - 1);
		tp->t_rttbest = (u_int)(tp->t_srtt + tp->t_rttvar);
	}
	tp->t_rtttime = 0;
	tp->t_rxtshift = 0;
	tp->t_rttupdated++;
	TCPT_RANGESET(tp->t_rxtcur, TCP_REXMTVAL(tp),
	    max((int)tp->t_rttmin, rtt + 2), TCPTV_REXMTMAX);
}
