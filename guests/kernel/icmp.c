/* ICMP echo (netinet/ip_icmp.c): answer echo requests, count the replies. */
#include <model/kern.h>
#include <netinet/ip_icmp.h>

#define ICMP_DATALEN 56

static void
icmp_fill(struct mbuf *m, struct in_addr src, struct in_addr dst, int type,
    u_short id, u_short seq)
{
	struct ip *ip = mtod(m, struct ip *);
	struct icmp *icp = (struct icmp *)(ip + 1);
	u_char *data = (u_char *)(icp + 1);
	int i, len = sizeof(struct icmp) + ICMP_DATALEN;

	bzero(ip, sizeof(*ip));
	ip->ip_len = htons(sizeof(struct ip) + len);
	ip->ip_ttl = IPDEFTTL;
	ip->ip_p = IPPROTO_ICMP;
	ip->ip_src = src;
	ip->ip_dst = dst;
	icp->icmp_type = (u_char)type;
	icp->icmp_code = 0;
	icp->icmp_id = htons(id);
	icp->icmp_seq = htons(seq);
	for (i = 0; i < ICMP_DATALEN; i++)
		data[i] = (u_char)(0x10 + i);
	icp->icmp_cksum = 0;
	icp->icmp_cksum = htons(in_cksum_buf(icp, len, 0));
	m->m_len = sizeof(struct ip) + len;
}

/* What ping(8) hands to the raw socket, sent in the caller's context. */
void
icmp_echo_send(struct in_addr dst, u_short id, u_short seq)
{
	struct mbuf *m = m_gethdr(0, MT_DATA);

	icmp_fill(m, in_em0, dst, ICMP_ECHO, id, seq);
	ip_output(m, NULL, NULL, 0, NULL, NULL);
}

/* Echo requests are reflected (icmp_reflect); replies end here. */
__noinline void
icmp_input(struct mbuf *m, int off)
{
	struct ip *ip = mtod(m, struct ip *);
	struct icmp *icp = (struct icmp *)((caddr_t)ip + off);
	int len = ntohs(ip->ip_len) - off;
	struct in_addr t;

	if (len < (int)sizeof(struct icmp) || in_cksum_buf(icp, len, 0) != 0 ||
	    icp->icmp_type != ICMP_ECHO) {
		m_freem(m);
		return;
	}
	icp->icmp_type = ICMP_ECHOREPLY;
	icp->icmp_cksum = 0;
	icp->icmp_cksum = htons(in_cksum_buf(icp, len, 0));
	t = ip->ip_dst;
	ip->ip_dst = ip->ip_src;
	ip->ip_src = t;
	ip->ip_ttl = IPDEFTTL;
	ip_output(m, NULL, NULL, 0, NULL, NULL);
}
