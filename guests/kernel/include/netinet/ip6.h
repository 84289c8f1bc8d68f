/* The IPv6 header (netinet/ip6.h). */
#ifndef _NETINET_IP6_H_
#define _NETINET_IP6_H_

#include <netinet/in.h>

struct ip6_hdr {
	union {
		struct ip6_hdrctl {
			u_int32_t ip6_un1_flow;
			u_int16_t ip6_un1_plen;
			u_int8_t ip6_un1_nxt;
			u_int8_t ip6_un1_hlim;
		} ip6_un1;
		u_int8_t ip6_un2_vfc;
	} ip6_ctlun;
	struct in6_addr ip6_src;
	struct in6_addr ip6_dst;
} __packed;

#define ip6_vfc ip6_ctlun.ip6_un2_vfc
#define ip6_flow ip6_ctlun.ip6_un1.ip6_un1_flow
#define ip6_plen ip6_ctlun.ip6_un1.ip6_un1_plen
#define ip6_nxt ip6_ctlun.ip6_un1.ip6_un1_nxt
#define ip6_hlim ip6_ctlun.ip6_un1.ip6_un1_hlim

#define IPV6_VERSION 0x60
#define IPV6_DEFHLIM 64

#endif
