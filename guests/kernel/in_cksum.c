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
