/*
 * guestrace D library: the ip provider's stable types, as FreeBSD 10's dtrace knows them
 * (/usr/lib/dtrace/ip.d). Compiled before every user script that may use the ip, tcp or udp
 * providers; the kernel structures (struct ip, struct ip6_hdr, struct ifnet, struct inpcb) come
 * from the guest kernel's DWARF.
 */

/* Protocol numbers, as netinet/in.h has them. */
inline int IPPROTO_IP = 0;
inline int IPPROTO_ICMP = 1;
inline int IPPROTO_IGMP = 2;
inline int IPPROTO_IPV4 = 4;
inline int IPPROTO_TCP = 6;
inline int IPPROTO_UDP = 17;
inline int IPPROTO_IPV6 = 41;
inline int IPPROTO_ROUTING = 43;
inline int IPPROTO_FRAGMENT = 44;
inline int IPPROTO_RSVP = 46;
inline int IPPROTO_GRE = 47;
inline int IPPROTO_ESP = 50;
inline int IPPROTO_AH = 51;
inline int IPPROTO_MOBILE = 55;
inline int IPPROTO_ICMPV6 = 58;
inline int IPPROTO_DSTOPTS = 60;
inline int IPPROTO_ETHERIP = 97;
inline int IPPROTO_PIM = 103;
inline int IPPROTO_IPCOMP = 108;
inline int IPPROTO_SCTP = 132;
inline int IPPROTO_RAW = 255;

/* inp_vflag bits of struct inpcb. */
inline uint8_t INP_IPV4 = 0x01;
inline uint8_t INP_IPV6 = 0x02;

/* if_flags bit of a loopback interface. */
inline int IFF_LOOPBACK = 0x8;

/* The name of a protocol number, without its IPPROTO_ prefix. */
inline string protocols[int p] =
	p == IPPROTO_IP ? "IP" :
	p == IPPROTO_ICMP ? "ICMP" :
	p == IPPROTO_IGMP ? "IGMP" :
	p == IPPROTO_IPV4 ? "IPV4" :
	p == IPPROTO_TCP ? "TCP" :
	p == IPPROTO_UDP ? "UDP" :
	p == IPPROTO_IPV6 ? "IPV6" :
	p == IPPROTO_ROUTING ? "ROUTING" :
	p == IPPROTO_FRAGMENT ? "FRAGMENT" :
	p == IPPROTO_RSVP ? "RSVP" :
	p == IPPROTO_GRE ? "GRE" :
	p == IPPROTO_ESP ? "ESP" :
	p == IPPROTO_AH ? "AH" :
	p == IPPROTO_MOBILE ? "MOBILE" :
	p == IPPROTO_ICMPV6 ? "ICMPV6" :
	p == IPPROTO_DSTOPTS ? "DSTOPTS" :
	p == IPPROTO_ETHERIP ? "ETHERIP" :
	p == IPPROTO_PIM ? "PIM" :
	p == IPPROTO_IPCOMP ? "IPCOMP" :
	p == IPPROTO_SCTP ? "SCTP" :
	p == IPPROTO_RAW ? "RAW" :
	"<unknown>";

typedef uint32_t ipaddr_t;
typedef struct ip ipha_t;

/* The packet: FreeBSD 10 always passes NULL here. */
typedef struct pktinfo {
	uintptr_t pkt_addr;
} pktinfo_t;

/* The connection state a packet belongs to; cs_cid identifies the connection. */
typedef struct csinfo {
	uintptr_t cs_addr;
	uint64_t cs_cid;
	pid_t cs_pid;
	uint32_t cs_zoneid;
} csinfo_t;

/* Version-independent view of an IPv4 or IPv6 header. */
typedef struct ipinfo {
	uint8_t ip_ver;
	uint32_t ip_plength;
	string ip_saddr;
	string ip_daddr;
} ipinfo_t;

/* The interface a packet passes. */
typedef struct ifinfo {
	string if_name;
	int8_t if_local;
	uintptr_t if_addr;
} ifinfo_t;

/* An IPv4 header, fields in host order where FreeBSD 10 swaps them. */
typedef struct ipv4info {
	uint8_t ipv4_ver;
	uint8_t ipv4_ihl;
	uint8_t ipv4_tos;
	uint16_t ipv4_length;
	uint16_t ipv4_ident;
	uint8_t ipv4_flags;
	uint16_t ipv4_offset;
	uint8_t ipv4_ttl;
	uint8_t ipv4_protocol;
	string ipv4_protostr;
	uint16_t ipv4_checksum;
	ipaddr_t ipv4_src;
	ipaddr_t ipv4_dst;
	string ipv4_saddr;
	string ipv4_daddr;
	ipha_t *ipv4_hdr;
} ipv4info_t;

/* An IPv6 header. */
typedef struct ipv6info {
	uint8_t ipv6_ver;
	uint8_t ipv6_tclass;
	uint32_t ipv6_flow;
	uint16_t ipv6_plen;
	uint8_t ipv6_nexthdr;
	string ipv6_nextstr;
	uint8_t ipv6_hlim;
	struct in6_addr *ipv6_src;
	struct in6_addr *ipv6_dst;
	string ipv6_saddr;
	string ipv6_daddr;
	struct ip6_hdr *ipv6_hdr;
} ipv6info_t;

translator pktinfo_t < void *p > {
	pkt_addr = NULL;
};

translator csinfo_t < void *p > {
	cs_addr = NULL;
	cs_cid = (uint64_t)p;
	cs_pid = 0;
	cs_zoneid = 0;
};

translator csinfo_t < struct inpcb *p > {
	cs_addr = NULL;
	cs_cid = (uint64_t)p;
	cs_pid = 0;
	cs_zoneid = 0;
};

/*
 * The header's first nibble decides: version 4 reads it as struct ip, anything else as
 * struct ip6_hdr (FreeBSD 10 does the same, so a garbage version reads as IPv6).
 */
translator ipinfo_t < uint8_t *p > {
	ip_ver = p == NULL ? 0 : ((struct ip *)p)->ip_v;
	ip_plength = p == NULL ? 0 :
	    ((struct ip *)p)->ip_v == 4 ?
	    ntohs(((struct ip *)p)->ip_len) - (((struct ip *)p)->ip_hl << 2) :
	    ntohs(((struct ip6_hdr *)p)->ip6_ctlun.ip6_un1.ip6_un1_plen);
	ip_saddr = p == NULL ? "<unknown>" :
	    ((struct ip *)p)->ip_v == 4 ?
	    inet_ntoa(&((struct ip *)p)->ip_src.s_addr) :
	    inet_ntoa6(&((struct ip6_hdr *)p)->ip6_src);
	ip_daddr = p == NULL ? "<unknown>" :
	    ((struct ip *)p)->ip_v == 4 ?
	    inet_ntoa(&((struct ip *)p)->ip_dst.s_addr) :
	    inet_ntoa6(&((struct ip6_hdr *)p)->ip6_dst);
};

/* No NULL check: every ip probe site passes a real interface. */
translator ifinfo_t < struct ifnet *p > {
	if_name = stringof(p->if_xname);
	if_local = (p->if_flags & IFF_LOOPBACK) == 0 ? 0 : 1;
	if_addr = (uintptr_t)p;
};

/* ip_off is shown as stored (network order), like FreeBSD 10's ip.d. */
translator ipv4info_t < struct ip *p > {
	ipv4_ver = p == NULL ? 0 : p->ip_v;
	ipv4_ihl = p == NULL ? 0 : p->ip_hl;
	ipv4_tos = p == NULL ? 0 : p->ip_tos;
	ipv4_length = p == NULL ? 0 : ntohs(p->ip_len);
	ipv4_ident = p == NULL ? 0 : ntohs(p->ip_id);
	ipv4_flags = p == NULL ? 0 : (p->ip_off & 0xe000);
	ipv4_offset = p == NULL ? 0 : p->ip_off;
	ipv4_ttl = p == NULL ? 0 : p->ip_ttl;
	ipv4_protocol = p == NULL ? 0 : p->ip_p;
	ipv4_protostr = p == NULL ? "<null>" : protocols[p->ip_p];
	ipv4_checksum = p == NULL ? 0 : ntohs(p->ip_sum);
	ipv4_src = p == NULL ? 0 : (ipaddr_t)ntohl(p->ip_src.s_addr);
	ipv4_dst = p == NULL ? 0 : (ipaddr_t)ntohl(p->ip_dst.s_addr);
	ipv4_saddr = p == NULL ? "<unknown>" : inet_ntoa(&p->ip_src.s_addr);
	ipv4_daddr = p == NULL ? "<unknown>" : inet_ntoa(&p->ip_dst.s_addr);
	ipv4_hdr = (ipha_t *)p;
};

/* The first 32 bits hold version, traffic class and flow label, in network order. */
translator ipv6info_t < struct ip6_hdr *p > {
	ipv6_ver = p == NULL ? 0 :
	    (ntohl(p->ip6_ctlun.ip6_un1.ip6_un1_flow) & 0xf0000000) >> 28;
	ipv6_tclass = p == NULL ? 0 :
	    (ntohl(p->ip6_ctlun.ip6_un1.ip6_un1_flow) & 0x0ff00000) >> 20;
	ipv6_flow = p == NULL ? 0 :
	    ntohl(p->ip6_ctlun.ip6_un1.ip6_un1_flow) & 0x000fffff;
	ipv6_plen = p == NULL ? 0 : ntohs(p->ip6_ctlun.ip6_un1.ip6_un1_plen);
	ipv6_nexthdr = p == NULL ? 0 : p->ip6_ctlun.ip6_un1.ip6_un1_nxt;
	ipv6_nextstr = p == NULL ? "<null>" :
	    protocols[p->ip6_ctlun.ip6_un1.ip6_un1_nxt];
	ipv6_hlim = p == NULL ? 0 : p->ip6_ctlun.ip6_un1.ip6_un1_hlim;
	ipv6_src = p == NULL ? 0 : (struct in6_addr *)&p->ip6_src;
	ipv6_dst = p == NULL ? 0 : (struct in6_addr *)&p->ip6_dst;
	ipv6_saddr = p == NULL ? "<unknown>" : inet_ntoa6(&p->ip6_src);
	ipv6_daddr = p == NULL ? "<unknown>" : inet_ntoa6(&p->ip6_dst);
	ipv6_hdr = p;
};
