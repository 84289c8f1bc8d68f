/*
 * UDP over IPv4 and IPv6 (netinet/udp_usrreq.c, netinet6/udp6_usrreq.c).
 * udp:::send fires with the IP header half built: ip_v set, ip_hl still 0.
 */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

static int
inp_index(struct inpcb *inp)
{
	return ((int)(inp - curnet()->inpcbs));
}

static int
udp_attach_common(struct socket *so, int vflag)
{
	struct inpcb *inp;

	in_pcballoc(so, NULL);
	inp = sotoinpcb(so);
	inp->inp_vflag |= (u_char)vflag;
	if (vflag & INP_IPV6)
		inp->inp_inc.inc_flags |= INC_ISIPV6;
	inp->inp_ip_p = IPPROTO_UDP;
	inp->inp_ip_ttl = IPDEFTTL;
	inp->inp_ppcb = &curnet()->udpcbs[inp_index(inp)];
	bzero(inp->inp_ppcb, sizeof(struct udpcb));
	return (0);
}

static __noinline int
udp_attach(struct socket *so, int proto __unused, struct thread *td __unused)
{
	return (udp_attach_common(so, INP_IPV4));
}

static __noinline int
udp6_attach(struct socket *so, int proto __unused, struct thread *td __unused)
{
	return (udp_attach_common(so, INP_IPV6));
}

static __noinline void
udp_detach(struct socket *so)
{
	struct inpcb *inp = sotoinpcb(so);

	in_pcbdetach(inp);
	in_pcbfree(inp);
}

static int
udp_bind(struct socket *so, struct sockaddr *nam, struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);
	struct sockaddr_in *sin = (struct sockaddr_in *)nam;

	inp->inp_laddr = sin->sin_addr;
	inp->inp_lport = sin->sin_port;
	return (0);
}

static int
udp6_bind(struct socket *so, struct sockaddr *nam, struct thread *td __unused)
{
	struct inpcb *inp = sotoinpcb(so);
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)nam;

	inp->in6p_laddr = sin6->sin6_addr;
	inp->inp_lport = sin6->sin6_port;
	return (0);
}

static __noinline int
udp_output(struct inpcb *inp, struct mbuf *m, struct sockaddr *addr,
    struct mbuf *control __unused, struct thread *td __unused)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;
	struct udpiphdr *ui;
	struct in_addr laddr = inp->inp_laddr;
	int len = m->m_len;

	if (inp->inp_lport == 0)
		inp->inp_lport = htons(in_pcb_ephemeral());
	if (laddr.s_addr == 0)
		laddr = ((u_char *)&sin->sin_addr)[0] == IN_LOOPBACKNET ?
		    in_loopback : in_em0;
	m->m_data -= sizeof(struct udpiphdr);
	m->m_len += sizeof(struct udpiphdr);
	ui = mtod(m, struct udpiphdr *);
	bzero(ui->ui_i.ih_x1, sizeof(ui->ui_i.ih_x1));
	ui->ui_pr = IPPROTO_UDP;
	ui->ui_src = laddr;
	ui->ui_dst = sin->sin_addr;
	ui->ui_sport = inp->inp_lport;
	ui->ui_dport = sin->sin_port;
	ui->ui_ulen = htons((u_short)(len + sizeof(struct udphdr)));
	ui->ui_len = 0;
	ui->ui_sum = 0;
	ui->ui_sum = htons(in_cksum_buf(&ui->ui_u, len + sizeof(struct udphdr),
	    in_pseudo_sum(laddr.s_addr, sin->sin_addr.s_addr, IPPROTO_UDP,
	    len + sizeof(struct udphdr))));
	if (ui->ui_sum == 0)
		ui->ui_sum = 0xffff;
	ui->ui_v = IPVERSION << 4;
	((struct ip *)ui)->ip_len = htons((u_short)(sizeof(struct udpiphdr) +
	    len));
	((struct ip *)ui)->ip_ttl = inp->inp_ip_ttl;
	((struct ip *)ui)->ip_tos = 0;

	UDP_PROBE(send, NULL, inp, &ui->ui_i, inp, &ui->ui_u);
	gt_udp("send", inp, &ui->ui_i, &ui->ui_u);

	return (ip_output(m, NULL, NULL, 0, NULL, inp));
}

static __noinline int
udp6_output(struct inpcb *inp, struct mbuf *m, struct sockaddr *addr,
    struct mbuf *control __unused, struct thread *td __unused)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
	struct ip6_hdr *ip6;
	struct udphdr *udp6;
	struct in6_addr laddr = inp->in6p_laddr, faddr = sin6->sin6_addr;
	int len = m->m_len, plen = len + sizeof(struct udphdr);
	static const u_char zero[16];

	if (inp->inp_lport == 0)
		inp->inp_lport = htons(in_pcb_ephemeral());
	if (IN6_IS_ADDR_LINKLOCAL(&faddr))
		in6_setscope(&faddr, em0ifp);
	if (memcmp(&laddr, zero, 16) == 0)
		laddr = IN6_IS_ADDR_LOOPBACK(&faddr) ? in6_loopback :
		    in6_em0_ll;
	m->m_data -= sizeof(struct ip6_hdr) + sizeof(struct udphdr);
	m->m_len += sizeof(struct ip6_hdr) + sizeof(struct udphdr);
	ip6 = mtod(m, struct ip6_hdr *);
	udp6 = (struct udphdr *)(ip6 + 1);
	udp6->uh_sport = inp->inp_lport;
	udp6->uh_dport = sin6->sin6_port;
	udp6->uh_ulen = htons((u_short)plen);
	udp6->uh_sum = 0;
	ip6->ip6_flow = htonl(0x60000000);
	ip6->ip6_plen = htons((u_short)plen);
	ip6->ip6_nxt = IPPROTO_UDP;
	ip6->ip6_hlim = IPV6_DEFHLIM;
	ip6->ip6_src = laddr;
	ip6->ip6_dst = faddr;
	udp6->uh_sum = htons(in_cksum_buf(udp6, plen, in6_pseudo_sum(&laddr,
	    &faddr, IPPROTO_UDP, plen)));
	if (udp6->uh_sum == 0)
		udp6->uh_sum = 0xffff;

	UDP_PROBE(send, NULL, inp, ip6, inp, udp6);
	gt_udp("send", inp, ip6, udp6);

	return (ip6_output(m, NULL, NULL, 0, NULL, NULL, inp));
}

static __noinline int
udp_send(struct socket *so, int flags __unused, struct mbuf *m,
    struct sockaddr *addr, struct mbuf *control, struct thread *td)
{
	return (udp_output(sotoinpcb(so), m, addr, control, td));
}

static __noinline int
udp6_send(struct socket *so, int flags __unused, struct mbuf *m,
    struct sockaddr *addr, struct mbuf *control, struct thread *td)
{
	return (udp6_output(sotoinpcb(so), m, addr, control, td));
}

/* Hand the payload to the socket (udp_append). */
static void
udp_append(struct inpcb *inp, struct mbuf *m, int off)
{
	struct socket *so = inp->inp_socket;

	m->m_data += off;
	m->m_len -= off;
	if (so == NULL) {
		m_freem(m);
		return;
	}
	sbappendrecord(&so->so_rcv, m);
}

__noinline void
udp_input(struct mbuf *m, int off)
{
	struct ip *ip = mtod(m, struct ip *);
	struct udphdr *uh = (struct udphdr *)((caddr_t)ip + off);
	int len = ntohs(uh->uh_ulen);
	struct inpcb *inp;

	if (len < (int)sizeof(struct udphdr) || len > m->m_len - off)
		goto bad;
	if (!(m->m_pkthdr.csum_flags & CSUM_DATA_VALID) && uh->uh_sum) {
		/* Software checksum through the overlay; only ih_x1 is
		 * put back, ip_sum keeps the UDP length. */
		struct ipovly *ipov = (struct ipovly *)ip;
		u_char save[9];

		bcopy(ipov->ih_x1, save, sizeof(save));
		bzero(ipov->ih_x1, sizeof(ipov->ih_x1));
		ipov->ih_len = uh->uh_ulen;
		if (in_cksum_buf(ip, len + sizeof(struct ip), 0) != 0)
			goto bad;
		bcopy(save, ipov->ih_x1, sizeof(save));
	}
	inp = in_pcblookup_model(IPPROTO_UDP, 0, &ip->ip_src, uh->uh_sport,
	    &ip->ip_dst, uh->uh_dport, 1);
	if (inp == NULL)
		goto bad;

	UDP_PROBE(receive, NULL, inp, ip, inp, uh);
	gt_udp("receive", inp, ip, uh);

	udp_append(inp, m, off + sizeof(struct udphdr));
	return;
bad:
	m_freem(m);
}

__noinline void
udp6_input(struct mbuf *m, int off)
{
	struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);
	struct udphdr *uh = (struct udphdr *)((caddr_t)ip6 + off);
	int plen = ntohs(ip6->ip6_plen);
	struct inpcb *inp;

	if (plen < (int)sizeof(struct udphdr))
		goto bad;
	if (!(m->m_pkthdr.csum_flags & CSUM_DATA_VALID) &&
	    in_cksum_buf(uh, plen, in6_pseudo_sum(&ip6->ip6_src,
	    &ip6->ip6_dst, IPPROTO_UDP, plen)) != 0)
		goto bad;
	inp = in_pcblookup_model(IPPROTO_UDP, 1, &ip6->ip6_src, uh->uh_sport,
	    &ip6->ip6_dst, uh->uh_dport, 1);
	if (inp == NULL)
		goto bad;

	UDP_PROBE(receive, NULL, inp, ip6, inp, uh);
	gt_udp("receive", inp, ip6, uh);

	udp_append(inp, m, off + sizeof(struct udphdr));
	return;
bad:
	m_freem(m);
}

int sosend_dgram(struct socket *, struct sockaddr *, struct uio *,
    struct mbuf *, struct mbuf *, int, struct thread *);
int soreceive_dgram(struct socket *, struct sockaddr **, struct uio *,
    struct mbuf **, struct mbuf **, int *);

struct pr_usrreqs udp_usrreqs = {
	.pru_attach = udp_attach,
	.pru_bind = udp_bind,
	.pru_detach = udp_detach,
	.pru_send = udp_send,
	.pru_sosend = sosend_dgram,
	.pru_soreceive = soreceive_dgram,
};

struct pr_usrreqs udp6_usrreqs = {
	.pru_attach = udp6_attach,
	.pru_bind = udp6_bind,
	.pru_detach = udp_detach,
	.pru_send = udp6_send,
	.pru_sosend = sosend_dgram,
	.pru_soreceive = soreceive_dgram,
};
