/* The UDP header (netinet/udp.h) and the IP+UDP overlay (netinet/udp_var.h). */
#ifndef _NETINET_UDP_H_
#define _NETINET_UDP_H_

#include <netinet/ip.h>

struct udphdr {
	u_short uh_sport;
	u_short uh_dport;
	u_short uh_ulen;
	u_short uh_sum;
};

struct udpiphdr {
	struct ipovly ui_i;
	struct udphdr ui_u;
};
#define ui_v ui_i.ih_x1[0]
#define ui_len ui_i.ih_len
#define ui_src ui_i.ih_src
#define ui_dst ui_i.ih_dst
#define ui_pr ui_i.ih_pr
#define ui_ulen ui_u.uh_ulen
#define ui_sum ui_u.uh_sum
#define ui_sport ui_u.uh_sport
#define ui_dport ui_u.uh_dport

struct udpcb {
	void *u_tun_func;
	u_int u_flags;
	void *u_tun_ctx;
};

#endif
