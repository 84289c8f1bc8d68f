/*
 * The FreeBSD 10 kernel structures the providers' translator libraries read, written for lang's
 * tests with the members and nesting those libraries use (layouts from our C rules, not DWARF).
 */
struct in_addr { uint32_t s_addr; };
struct in6_addr { union { uint8_t __u6_addr8[16]; uint16_t __u6_addr16[8]; uint32_t __u6_addr32[4]; } __u6_addr; };
struct ip {
	uint8_t ip_hl:4, ip_v:4;
	uint8_t ip_tos;
	uint16_t ip_len;
	uint16_t ip_id;
	uint16_t ip_off;
	uint8_t ip_ttl;
	uint8_t ip_p;
	uint16_t ip_sum;
	struct in_addr ip_src, ip_dst;
};
struct ip6_hdrctl { uint32_t ip6_un1_flow; uint16_t ip6_un1_plen; uint8_t ip6_un1_nxt; uint8_t ip6_un1_hlim; };
struct ip6_hdr {
	union { struct ip6_hdrctl ip6_un1; uint8_t ip6_un2_vfc; } ip6_ctlun;
	struct in6_addr ip6_src;
	struct in6_addr ip6_dst;
};
struct tcphdr {
	uint16_t th_sport;
	uint16_t th_dport;
	uint32_t th_seq;
	uint32_t th_ack;
	uint8_t th_x2:4, th_off:4;
	uint8_t th_flags;
	uint16_t th_win;
	uint16_t th_sum;
	uint16_t th_urp;
};
struct udphdr { uint16_t uh_sport; uint16_t uh_dport; uint16_t uh_ulen; uint16_t uh_sum; };
struct in_addr_4in6 { uint32_t ia46_pad32[3]; struct in_addr ia46_addr4; };
struct in_endpoints {
	uint16_t ie_fport;
	uint16_t ie_lport;
	union { struct in_addr_4in6 ie46_foreign; struct in6_addr ie6_foreign; } ie_dependfaddr;
	union { struct in_addr_4in6 ie46_local; struct in6_addr ie6_local; } ie_dependladdr;
};
struct in_conninfo { uint8_t inc_flags; uint8_t inc_len; uint16_t inc_fibnum; struct in_endpoints inc_ie; };
struct inpcb { void *inp_hash_next; struct in_conninfo inp_inc; uint8_t inp_vflag; };
struct ifnet { void *if_softc; char if_xname[16]; int if_flags; };
struct tcpcb {
	struct inpcb *t_inpcb;
	int t_state;
	uint32_t snd_una, snd_max, snd_nxt, snd_up, snd_wl1, snd_wl2, iss, irs, rcv_nxt, rcv_adv;
	unsigned long rcv_wnd;
	uint32_t rcv_up;
	unsigned long snd_wnd, snd_cwnd, snd_ssthresh;
	uint32_t snd_recover, last_ack_sent, snd_fack, sack_newdata;
	unsigned int t_maxseg;
	int t_rxtcur, t_rxtshift, t_srtt;
	uint8_t snd_scale, rcv_scale;
};
struct iovec { void *iov_base; size_t iov_len; };
struct uio { struct iovec *uio_iov; int uio_iovcnt; off_t uio_offset; ssize_t uio_resid; int uio_segflg; int uio_rw; void *uio_td; };
