/* The IPv4 header (netinet/ip.h), little-endian bitfield order. */
#ifndef _NETINET_IP_H_
#define _NETINET_IP_H_

#include <netinet/in.h>

struct ip {
	u_char ip_hl:4,		/* header length */
	    ip_v:4;		/* version */
	u_char ip_tos;
	u_short ip_len;
	u_short ip_id;
	u_short ip_off;
	u_char ip_ttl;
	u_char ip_p;
	u_short ip_sum;
	struct in_addr ip_src, ip_dst;
} __packed __aligned(2);

#define IPVERSION 4
#define IP_DF 0x4000
#define IP_MAXPACKET 65535
#define IPDEFTTL 64

/* The overlay tcp_input and udp_input use for the pseudo-header checksum. */
struct ipovly {
	u_char ih_x1[9];
	u_char ih_pr;
	u_short ih_len;
	struct in_addr ih_src;
	struct in_addr ih_dst;
};

#endif
