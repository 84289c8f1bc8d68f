/* IPv4 output (netinet/ip_output.c): fill the header, pick the interface. */
#include <model/kern.h>
#include <netinet/in_kdtrace.h>

#define IP_FORWARDING 0x1
#define IP_RAWOUTPUT 0x2

static struct ifnet *
ip_route(struct in_addr dst)
{
	if (((u_char *)&dst.s_addr)[0] == IN_LOOPBACKNET ||
	    dst.s_addr == in_em0.s_addr)
		return (lo0ifp);
	return (em0ifp);
}

__noinline int
ip_output(struct mbuf *m, struct mbuf *opt __unused, struct route *ro,
    int flags, void *imo __unused, struct inpcb *inp __unused)
{
	struct ip *ip = mtod(m, struct ip *);
	int hlen = sizeof(struct ip);
	struct ifnet *ifp;
	struct sockaddr_in dst;

	if ((flags & (IP_FORWARDING | IP_RAWOUTPUT)) == 0) {
		ip->ip_v = IPVERSION;
		ip->ip_hl = hlen >> 2;
		ip->ip_id = htons(curnet()->ip_id++);
	}
	ifp = ip_route(ip->ip_dst);
	bzero(&dst, sizeof(dst));
	dst.sin_len = sizeof(dst);
	dst.sin_family = AF_INET;
	dst.sin_addr = ip->ip_dst;
	m->m_pkthdr.len = m->m_len;
	ip->ip_sum = 0;
	ip->ip_sum = htons(in_cksum_buf(ip, hlen, 0));

	IP_PROBE(send, NULL, NULL, ip, ifp, ip, NULL);
	gt_ip("send", ifp, ip);

	return ((*ifp->if_output)(ifp, m, (const struct sockaddr *)&dst, ro));
}
