/* The Internet checksum over buffers and IPv4/IPv6 pseudo-headers. */
#include <model/kern.h>

static uint32_t
sum_bytes(const u_char *b, int len, uint32_t sum)
{
	while (len > 1) {
		sum += (uint32_t)(b[0] << 8 | b[1]);
		b += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(b[0] << 8);
	return (sum);
}

/* Returns the checksum in host order; store it with htons(). */
u_short
in_cksum_buf(const void *buf, int len, uint32_t sum)
{
	sum = sum_bytes(buf, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((u_short)~sum);
}

uint32_t
in_pseudo_sum(in_addr_t src, in_addr_t dst, int proto, int len)
{
	uint32_t sum = 0;

	sum = sum_bytes((const u_char *)&src, 4, sum);
	sum = sum_bytes((const u_char *)&dst, 4, sum);
	return (sum + (uint32_t)proto + (uint32_t)len);
}

uint32_t
in6_pseudo_sum(const struct in6_addr *src, const struct in6_addr *dst,
    int proto, int len)
{
	struct in6_addr s = *src, d = *dst;
	uint32_t sum = 0;

	/* The embedded KAME scope never reaches the wire. */
	in6_clearscope(&s);
	in6_clearscope(&d);
	sum = sum_bytes(s.s6_addr, 16, sum);
	sum = sum_bytes(d.s6_addr, 16, sum);
	return (sum + (uint32_t)proto + (uint32_t)len);
}

/* FreeBSD keeps a link-local address's zone in its second 16-bit word. */
void
in6_clearscope(struct in6_addr *a)
{
	if (IN6_IS_ADDR_LINKLOCAL(a))
		a->s6_addr16[1] = 0;
}

void
in6_setscope(struct in6_addr *a, struct ifnet *ifp)
{
	if (IN6_IS_ADDR_LINKLOCAL(a))
		a->s6_addr16[1] = htons(ifp->if_index);
}

/*
 * The model's own guard, invisible to a tracer: every packet that crosses a
 * wire (lo0 or em0, either way) is checked for a consistent length and
 * correct IP, TCP, UDP and ICMP checksums; a bad one stops the guest.
 */
void
wire_check(struct mbuf *m, const char *where)
{
	u_char *p = mtod(m, u_char *);
	int len, l4len, proto;
	u_char *l4;
	uint32_t pseudo = 0;

	if ((p[0] >> 4) == 4) {
		struct ip *ip = (struct ip *)p;
		int hlen = ip->ip_hl << 2;

		len = ntohs(ip->ip_len);
		if (hlen < (int)sizeof(*ip) || in_cksum_buf(ip, hlen, 0) != 0)
			panic("%s: bad IPv4 header", where);
		proto = ip->ip_p;
		l4 = p + hlen;
		l4len = len - hlen;
		pseudo = in_pseudo_sum(ip->ip_src.s_addr, ip->ip_dst.s_addr,
		    proto, l4len);
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)p;

		if (ip6->ip6_src.s6_addr16[1] != 0 &&
		    IN6_IS_ADDR_LINKLOCAL(&ip6->ip6_src))
			panic("%s: zone id on the wire", where);
		l4len = ntohs(ip6->ip6_plen);
		len = l4len + sizeof(*ip6);
		proto = ip6->ip6_nxt;
		l4 = p + sizeof(*ip6);
		pseudo = in6_pseudo_sum(&ip6->ip6_src, &ip6->ip6_dst, proto,
		    l4len);
	}
	if (len != m->m_len)
		panic("%s: length %d in header, %d in mbuf", where, len,
		    m->m_len);
	switch (proto) {
	case IPPROTO_TCP:
		if (in_cksum_buf(l4, l4len, pseudo) != 0)
			panic("%s: bad TCP checksum", where);
		break;
	case IPPROTO_UDP:
		if (((struct udphdr *)l4)->uh_sum != 0 &&
		    in_cksum_buf(l4, l4len, pseudo) != 0)
			panic("%s: bad UDP checksum", where);
		break;
	case IPPROTO_ICMP:
		if (in_cksum_buf(l4, l4len, 0) != 0)
			panic("%s: bad ICMP checksum", where);
		break;
	}
}
