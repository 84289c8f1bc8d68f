/* IPv4 input (netinet/ip_input.c) and the protocol switch. */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

static struct protosw *ip_protox(int p);

__noinline void
ip_input(struct mbuf *m)
{
	struct ip *ip = mtod(m, struct ip *);
	struct ifnet *ifp = m->m_pkthdr.rcvif;
	int hlen;
	struct protosw *pr;

	if (m->m_len < (int)sizeof(struct ip) || ip->ip_v != IPVERSION)
		goto bad;
	hlen = ip->ip_hl << 2;
	if (hlen < (int)sizeof(struct ip) || in_cksum_buf(ip, hlen, 0) != 0)
		goto bad;
	if (ntohs(ip->ip_len) > m->m_len)
		goto bad;
	m->m_len = ntohs(ip->ip_len);

	IP_PROBE(receive, NULL, NULL, ip, ifp, ip, NULL);
	gt_ip("receive", ifp, ip);

	if (ip->ip_dst.s_addr != in_loopback.s_addr &&
	    ip->ip_dst.s_addr != in_em0.s_addr)
		goto bad;
	pr = ip_protox(ip->ip_p);
	if (pr == NULL)
		goto bad;
	(*pr->pr_input)(m, hlen);
	return;
bad:
	m_freem(m);
}

static struct protosw *
ip_protox(int p)
{
	int i;

	for (i = 0; inetsw[i].pr_input != NULL; i++)
		if (inetsw[i].pr_protocol == p)
			return (&inetsw[i]);
	return (NULL);
}
