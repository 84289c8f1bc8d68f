/* Internet protocol control blocks (netinet/in_pcb.h), 10.4 layout of names. */
#ifndef _NETINET_IN_PCB_H_
#define _NETINET_IN_PCB_H_

#include <netinet/in.h>

struct socket;
struct ucred;
struct inpcbinfo;
struct inpcbgroup;

struct in_addr_4in6 {
	u_int32_t ia46_pad32[3];
	struct in_addr ia46_addr4;
};

struct in_endpoints {
	u_int16_t ie_fport;
	u_int16_t ie_lport;
	union {
		struct in_addr_4in6 ie46_foreign;
		struct in6_addr ie6_foreign;
	} ie_dependfaddr;
	union {
		struct in_addr_4in6 ie46_local;
		struct in6_addr ie6_local;
	} ie_dependladdr;
	u_int32_t ie6_zoneid;
};
#define ie_faddr ie_dependfaddr.ie46_foreign.ia46_addr4
#define ie_laddr ie_dependladdr.ie46_local.ia46_addr4
#define ie6_faddr ie_dependfaddr.ie6_foreign
#define ie6_laddr ie_dependladdr.ie6_local

struct in_conninfo {
	u_int8_t inc_flags;
	u_int8_t inc_len;
	u_int16_t inc_fibnum;
	struct in_endpoints inc_ie;
};
#define INC_ISIPV6 0x01

struct inpcb {
	LIST_ENTRY(inpcb) inp_hash;
	LIST_ENTRY(inpcb) inp_pcbgrouphash;
	LIST_ENTRY(inpcb) inp_list;
	void *inp_ppcb;
	struct inpcbinfo *inp_pcbinfo;
	struct inpcbgroup *inp_pcbgroup;
	LIST_ENTRY(inpcb) inp_pcbgroup_wild;
	struct socket *inp_socket;
	struct ucred *inp_cred;
	u_int32_t inp_flow;
	int inp_flags;
	int inp_flags2;
	u_char inp_vflag;
	u_char inp_ip_ttl;
	u_char inp_ip_p;
	u_char inp_ip_minttl;
	uint32_t inp_flowid;
	u_int inp_refcount;
	void *inp_pspare[5];
	u_int inp_ispare[6];
	struct in_conninfo inp_inc;
	void *inp_label;
	struct inpcbpolicy *inp_sp;
	struct {
		u_char inp4_ip_tos;
		struct mbuf *inp4_options;
		struct ip_moptions *inp4_moptions;
	} inp_depend4;
	struct {
		struct mbuf *inp6_options;
		struct ip6_pktopts *inp6_outputopts;
		struct ip6_moptions *inp6_moptions;
		struct icmp6_filter *inp6_icmp6filt;
		int inp6_cksum;
		short inp6_hops;
	} inp_depend6;
	LIST_ENTRY(inpcb) inp_portlist;
	struct inpcbport *inp_phd;
	u_int32_t inp_gencnt;
	/* The model's own: which pool slot is in use. */
	int inp_model_used;
};

#define inp_fport inp_inc.inc_ie.ie_fport
#define inp_lport inp_inc.inc_ie.ie_lport
#define inp_faddr inp_inc.inc_ie.ie_faddr
#define inp_laddr inp_inc.inc_ie.ie_laddr
#define in6p_faddr inp_inc.inc_ie.ie6_faddr
#define in6p_laddr inp_inc.inc_ie.ie6_laddr

#define INP_IPV4 0x1
#define INP_IPV6 0x2
#define INP_IPV6PROTO 0x4

#define INP_TIMEWAIT 0x01000000
#define INP_DROPPED 0x04000000
#define INP_SOCKREF 0x08000000

#define sotoinpcb(so) ((struct inpcb *)(so)->so_pcb)

#endif
