/*
 * guestrace D library: the udp provider's stable types, as FreeBSD 10's dtrace knows them
 * (/usr/lib/dtrace/udp.d). Needs ip.d.
 */

/* A UDP socket's endpoints. */
typedef struct udpsinfo {
	uintptr_t udps_addr;
	uint16_t udps_lport;
	uint16_t udps_rport;
	string udps_laddr;
	string udps_raddr;
} udpsinfo_t;

/* A UDP header. */
typedef struct udpinfo {
	uint16_t udp_sport;
	uint16_t udp_dport;
	uint16_t udp_length;
	uint16_t udp_checksum;
	struct udphdr *udp_hdr;
} udpinfo_t;

translator udpsinfo_t < struct inpcb *p > {
	udps_addr = (uintptr_t)p;
	udps_lport = p == NULL ? 0 : ntohs(p->inp_inc.inc_ie.ie_lport);
	udps_rport = p == NULL ? 0 : ntohs(p->inp_inc.inc_ie.ie_fport);
	udps_laddr = p == NULL ? "" :
	    p->inp_vflag == INP_IPV4 ?
	    inet_ntoa(&p->inp_inc.inc_ie.ie_dependladdr.ie46_local.ia46_addr4.s_addr) :
	    inet_ntoa6(&p->inp_inc.inc_ie.ie_dependladdr.ie6_local);
	udps_raddr = p == NULL ? "" :
	    p->inp_vflag == INP_IPV4 ?
	    inet_ntoa(&p->inp_inc.inc_ie.ie_dependfaddr.ie46_foreign.ia46_addr4.s_addr) :
	    inet_ntoa6(&p->inp_inc.inc_ie.ie_dependfaddr.ie6_foreign);
};

translator udpinfo_t < struct udphdr *p > {
	udp_sport = p == NULL ? 0 : ntohs(p->uh_sport);
	udp_dport = p == NULL ? 0 : ntohs(p->uh_dport);
	udp_length = p == NULL ? 0 : ntohs(p->uh_ulen);
	udp_checksum = p == NULL ? 0 : ntohs(p->uh_sum);
	udp_hdr = p;
};
