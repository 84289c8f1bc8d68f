/*
 * IPv6 input and output (netinet6/ip6_input.c, ip6_output.c, nd6.c).  As in
 * FreeBSD, ip6_output has no probe; the transmit probe is in nd6_output_ifp.
 * Link-local addresses carry their zone inside the kernel and lose it on
 * the wire.
 */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

__noinline int
nd6_output_ifp(struct ifnet *ifp, struct ifnet *origifp __unused,
    struct mbuf *m, struct sockaddr_in6 *dst)
{
	struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);

	IP_PROBE(send, NULL, NULL, ip6, ifp, NULL, ip6);
	gt_ip("send", ifp, ip6);
	return ((*ifp->if_output)(ifp, m, (const struct sockaddr *)dst, NULL));
}

__noinline int
ip6_output(struct mbuf *m, void *opt __unused, void *ro __unused,
    int flags __unused, void *im6o __unused, struct ifnet **ifpp,
    struct inpcb *inp __unused)
{
	struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);
	struct ifnet *ifp;
	struct sockaddr_in6 dst;

	ifp = IN6_IS_ADDR_LOOPBACK(&ip6->ip6_dst) ? lo0ifp : em0ifp;
	if (ifpp != NULL)
		*ifpp = ifp;
	bzero(&dst, sizeof(dst));
	dst.sin6_len = sizeof(dst);
	dst.sin6_family = AF_INET6;
	dst.sin6_addr = ip6->ip6_dst;
	in6_clearscope(&ip6->ip6_src);
	in6_clearscope(&ip6->ip6_dst);
	m->m_pkthdr.len = m->m_len;
	return (nd6_output_ifp(ifp, ifp, m, &dst));
}

__noinline void
ip6_input(struct mbuf *m)
{
	struct ip6_hdr *ip6 = mtod(m, struct ip6_hdr *);
	struct ifnet *ifp = m->m_pkthdr.rcvif;
	int plen;

	if (m->m_len < (int)sizeof(struct ip6_hdr) ||
	    (ip6->ip6_vfc & 0xf0) != IPV6_VERSION)
		goto bad;

	IP_PROBE(receive, NULL, NULL, ip6, ifp, NULL, ip6);
	gt_ip("receive", ifp, ip6);

	plen = ntohs(ip6->ip6_plen);
	if (plen + (int)sizeof(struct ip6_hdr) > m->m_len)
		goto bad;
	m->m_len = plen + sizeof(struct ip6_hdr);
	in6_setscope(&ip6->ip6_src, ifp);
	in6_setscope(&ip6->ip6_dst, ifp);
	switch (ip6->ip6_nxt) {
	case IPPROTO_TCP:
		(*inet6sw[0].pr_input)(m, sizeof(struct ip6_hdr));
		return;
	case IPPROTO_UDP:
		(*inet6sw[1].pr_input)(m, sizeof(struct ip6_hdr));
		return;
	}
bad:
	m_freem(m);
}
