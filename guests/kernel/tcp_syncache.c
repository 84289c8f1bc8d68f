/*
 * The syncache (netinet/tcp_syncache.c): a SYN to a listening socket is
 * answered from here with a SYN|ACK that goes straight to ip_output (no
 * tcp:::send), and the socket is only created when the handshake's ACK
 * arrives, in SYN_RECEIVED.
 */
#include <model/kern.h>

static int
sc_match(struct syncache *sc, struct inpcb *lsinp, int isv6, void *iph,
    struct tcphdr *th)
{
	if (!sc->used || sc->sc_lsinp != lsinp || sc->sc_isv6 != isv6 ||
	    sc->sc_fport != th->th_sport || sc->sc_lport != th->th_dport)
		return (0);
	if (isv6) {
		struct ip6_hdr *ip6 = iph;

		return (memcmp(&sc->sc_faddr6, &ip6->ip6_src, 16) == 0 &&
		    memcmp(&sc->sc_laddr6, &ip6->ip6_dst, 16) == 0);
	} else {
		struct ip *ip = iph;

		return (sc->sc_faddr.s_addr == ip->ip_src.s_addr &&
		    sc->sc_laddr.s_addr == ip->ip_dst.s_addr);
	}
}

static void
syncache_respond(struct syncache *sc)
{
	struct mbuf *m = m_gethdr(0, MT_DATA);
	int iphlen = sc->sc_isv6 ? sizeof(struct ip6_hdr) : sizeof(struct ip);
	int tl = sizeof(struct tcphdr) + TCPOLEN_MAXSEG;
	struct tcphdr *th = (struct tcphdr *)(mtod(m, caddr_t) + iphlen);
	u_char *opt = (u_char *)(th + 1);
	u_short mss = sc->sc_isv6 ? (IN6_IS_ADDR_LOOPBACK(&sc->sc_faddr6) ?
	    16384 - 60 : 1500 - 60) : (((u_char *)&sc->sc_faddr)[0] ==
	    IN_LOOPBACKNET ? 16384 - 40 : 1500 - 40);

	bzero(mtod(m, void *), iphlen + tl);
	th->th_sport = sc->sc_lport;
	th->th_dport = sc->sc_fport;
	th->th_seq = htonl(sc->sc_iss);
	th->th_ack = htonl(sc->sc_irs + 1);
	th->th_off = (u_char)(tl >> 2);
	th->th_flags = TH_SYN | TH_ACK;
	th->th_win = htons(TCP_MAXWIN);
	opt[0] = TCPOPT_MAXSEG;
	opt[1] = TCPOLEN_MAXSEG;
	opt[2] = (u_char)(mss >> 8);
	opt[3] = (u_char)mss;
	m->m_len = iphlen + tl;
	if (sc->sc_isv6) {
		struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);

		ip6->ip6_flow = htonl(0x60000000);
		ip6->ip6_plen = htons((u_short)tl);
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = IPV6_DEFHLIM;
		ip6->ip6_src = sc->sc_laddr6;
		ip6->ip6_dst = sc->sc_faddr6;
		th->th_sum = htons(in_cksum_buf(th, tl, in6_pseudo_sum(
		    &ip6->ip6_src, &ip6->ip6_dst, IPPROTO_TCP, tl)));
		(void)ip6_output(m, NULL, NULL, 0, NULL, NULL, NULL);
	} else {
		struct ip *ip = mtod(m, struct ip *);

		ip->ip_v = IPVERSION;
		ip->ip_hl = 5;
		ip->ip_len = htons((u_short)(iphlen + tl));
		ip->ip_off = htons(IP_DF);
		ip->ip_ttl = IPDEFTTL;
		ip->ip_p = IPPROTO_TCP;
		ip->ip_src = sc->sc_laddr;
		ip->ip_dst = sc->sc_faddr;
		th->th_sum = htons(in_cksum_buf(th, tl, in_pseudo_sum(
		    ip->ip_src.s_addr, ip->ip_dst.s_addr, IPPROTO_TCP, tl)));
		(void)ip_output(m, NULL, NULL, 0, NULL, NULL);
	}
}

__noinline int
syncache_add(struct inpcb *lsinp, int isv6, void *iph, struct tcphdr *th,
    u_short mss)
{
	struct model_net *mn = curnet();
	struct syncache *sc = NULL;
	int i;

	for (i = 0; i < NSYN; i++)
		if (sc_match(&mn->syncache[i], lsinp, isv6, iph, th)) {
			/* A retransmitted SYN: answer again. */
			syncache_respond(&mn->syncache[i]);
			return (0);
		}
	for (i = 0; i < NSYN; i++)
		if (!mn->syncache[i].used) {
			sc = &mn->syncache[i];
			break;
		}
	if (sc == NULL)
		return (ENOBUFS);
	bzero(sc, sizeof(*sc));
	sc->used = 1;
	sc->sc_lsinp = lsinp;
	sc->sc_isv6 = isv6;
	if (isv6) {
		struct ip6_hdr *ip6 = iph;

		sc->sc_laddr6 = ip6->ip6_dst;
		sc->sc_faddr6 = ip6->ip6_src;
	} else {
		struct ip *ip = iph;

		sc->sc_laddr = ip->ip_dst;
		sc->sc_faddr = ip->ip_src;
	}
	sc->sc_lport = th->th_dport;
	sc->sc_fport = th->th_sport;
	sc->sc_irs = th->th_seq;
	sc->sc_iss = tcp_new_isn();
	sc->sc_peer_mss = mss;
	syncache_respond(sc);
	return (0);
}

static struct socket *
syncache_socket(struct syncache *sc, struct socket *lso, struct tcphdr *th)
{
	struct socket *so = sonewconn(lso, 0);
	struct inpcb *inp;
	struct tcpcb *tp;

	if (so == NULL)
		return (NULL);
	inp = sotoinpcb(so);
	if (sc->sc_isv6) {
		inp->in6p_laddr = sc->sc_laddr6;
		inp->in6p_faddr = sc->sc_faddr6;
		inp->inp_inc.inc_flags |= INC_ISIPV6;
	} else {
		inp->inp_laddr = sc->sc_laddr;
		inp->inp_faddr = sc->sc_faddr;
	}
	inp->inp_lport = sc->sc_lport;
	inp->inp_fport = sc->sc_fport;
	tp = intotcpcb(inp);
	tp->iss = sc->sc_iss;
	tp->irs = sc->sc_irs;
	tp->rcv_adv = tp->rcv_nxt = tp->irs + 1;
	tp->snd_una = tp->snd_wl2 = tp->snd_up = tp->iss;
	tp->snd_max = tp->snd_nxt = tp->iss + 1;
	tp->snd_wl1 = sc->sc_irs;
	tp->snd_wnd = th->th_win;
	/* The SYN|ACK advertised TCP_MAXWIN: that much is promised already. */
	tp->rcv_wnd = TCP_MAXWIN;
	tp->rcv_adv = tp->rcv_nxt + (tcp_seq)tp->rcv_wnd;
	tp->last_ack_sent = tp->rcv_nxt;
	tp->t_maxseg = tcp_mss_for(inp);
	if (sc->sc_peer_mss != 0 && sc->sc_peer_mss < tp->t_maxseg)
		tp->t_maxseg = sc->sc_peer_mss;
	tp->t_starttime = TICKS();
	tcp_state_change(tp, TCPS_SYN_RECEIVED);
	return (so);
}

__noinline struct socket *
syncache_expand(struct inpcb *lsinp, int isv6, void *iph, struct tcphdr *th)
{
	struct model_net *mn = curnet();
	int i;

	for (i = 0; i < NSYN; i++) {
		struct syncache *sc = &mn->syncache[i];
		struct socket *so;

		if (!sc_match(sc, lsinp, isv6, iph, th))
			continue;
		if (th->th_ack != sc->sc_iss + 1)
			return (NULL);
		so = syncache_socket(sc, lsinp->inp_socket, th);
		sc->used = 0;
		return (so);
	}
	return (NULL);
}
