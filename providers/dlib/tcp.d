/*
 * guestrace D library: the tcp provider's stable types, as FreeBSD 10's dtrace knows them
 * (/usr/lib/dtrace/tcp.d). Needs ip.d, and the inline __freebsd_version (the guest's osreldate),
 * which the guest profile defines: tcpsinfo_t's tcps_rto changed between 10.0 and 10.4.
 */

/* TCP states (netinet/tcp_fsm.h). */
inline int32_t TCPS_CLOSED = 0;
inline int32_t TCPS_LISTEN = 1;
inline int32_t TCPS_SYN_SENT = 2;
inline int32_t TCPS_SYN_RECEIVED = 3;
inline int32_t TCPS_ESTABLISHED = 4;
inline int32_t TCPS_CLOSE_WAIT = 5;
inline int32_t TCPS_FIN_WAIT_1 = 6;
inline int32_t TCPS_CLOSING = 7;
inline int32_t TCPS_LAST_ACK = 8;
inline int32_t TCPS_FIN_WAIT_2 = 9;
inline int32_t TCPS_TIME_WAIT = 10;

/* TCP header flags (netinet/tcp.h). */
inline uint8_t TH_FIN = 0x01;
inline uint8_t TH_SYN = 0x02;
inline uint8_t TH_RST = 0x04;
inline uint8_t TH_PUSH = 0x08;
inline uint8_t TH_ACK = 0x10;
inline uint8_t TH_URG = 0x20;
inline uint8_t TH_ECE = 0x40;
inline uint8_t TH_CWR = 0x80;

/* A state's name as dtrace scripts print it. */
inline string tcp_state_string[int32_t state] =
	state == TCPS_CLOSED ? "state-closed" :
	state == TCPS_LISTEN ? "state-listen" :
	state == TCPS_SYN_SENT ? "state-syn-sent" :
	state == TCPS_SYN_RECEIVED ? "state-syn-received" :
	state == TCPS_ESTABLISHED ? "state-established" :
	state == TCPS_CLOSE_WAIT ? "state-close-wait" :
	state == TCPS_FIN_WAIT_1 ? "state-fin-wait-1" :
	state == TCPS_CLOSING ? "state-closing" :
	state == TCPS_LAST_ACK ? "state-last-ack" :
	state == TCPS_FIN_WAIT_2 ? "state-fin-wait-2" :
	state == TCPS_TIME_WAIT ? "state-time-wait" :
	"<unknown>";

/* A TCP header. */
typedef struct tcpinfo {
	uint16_t tcp_sport;
	uint16_t tcp_dport;
	uint32_t tcp_seq;
	uint32_t tcp_ack;
	uint8_t tcp_offset;
	uint8_t tcp_flags;
	uint16_t tcp_window;
	uint16_t tcp_checksum;
	uint16_t tcp_urgent;
	struct tcphdr *tcp_hdr;
} tcpinfo_t;

/*
 * The same header after tcp_input() turned th_seq, th_ack, th_win and th_urp to host order in
 * place (every receive-side probe fires after that).
 */
typedef struct tcpinfoh {
	uint16_t tcp_sport;
	uint16_t tcp_dport;
	uint32_t tcp_seq;
	uint32_t tcp_ack;
	uint8_t tcp_offset;
	uint8_t tcp_flags;
	uint16_t tcp_window;
	uint16_t tcp_checksum;
	uint16_t tcp_urgent;
	struct tcphdr *tcp_hdr;
} tcpinfoh_t;

/* The state a connection left, at tcp:::state-change. */
typedef struct tcplsinfo {
	int32_t tcps_state;
} tcplsinfo_t;

/*
 * A TCP connection's state. tcps_srtt (raw, in TCP_RTT_SCALE ticks) first appeared in 10.2;
 * it is kept on older guests too, where t_srtt exists all the same.
 */
typedef struct tcpsinfo {
	uintptr_t tcps_addr;
	int tcps_local;
	int tcps_active;
	uint16_t tcps_lport;
	uint16_t tcps_rport;
	string tcps_laddr;
	string tcps_raddr;
	int32_t tcps_state;
	uint32_t tcps_iss;
	uint32_t tcps_suna;
	uint32_t tcps_snxt;
	uint32_t tcps_rack;
	uint32_t tcps_rnxt;
	uint32_t tcps_swnd;
	int32_t tcps_snd_ws;
	uint32_t tcps_rwnd;
	int32_t tcps_rcv_ws;
	uint32_t tcps_cwnd;
	uint32_t tcps_cwnd_ssthresh;
	uint32_t tcps_sack_fack;
	uint32_t tcps_sack_snxt;
	uint32_t tcps_rto;
	uint32_t tcps_mss;
	int tcps_retransmit;
	int tcps_srtt;
} tcpsinfo_t;

/*
 * tcps_rto is in milliseconds from 10.2 on; 10.0 and 10.1 divided t_rxtcur (ticks) by 1000.
 * Addresses: an inpcb whose inp_vflag is exactly INP_IPV4 holds IPv4 addresses in the last four
 * bytes of its 16-byte slots; any other value reads the slots as IPv6.
 */
translator tcpsinfo_t < struct tcpcb *p > {
	tcps_addr = (uintptr_t)p;
	tcps_local = -1;
	tcps_active = -1;
	tcps_lport = p == NULL ? 0 : ntohs(p->t_inpcb->inp_inc.inc_ie.ie_lport);
	tcps_rport = p == NULL ? 0 : ntohs(p->t_inpcb->inp_inc.inc_ie.ie_fport);
	tcps_laddr = p == NULL ? "<unknown>" :
	    p->t_inpcb->inp_vflag == INP_IPV4 ?
	    inet_ntoa(&p->t_inpcb->inp_inc.inc_ie.ie_dependladdr.ie46_local.ia46_addr4.s_addr) :
	    inet_ntoa6(&p->t_inpcb->inp_inc.inc_ie.ie_dependladdr.ie6_local);
	tcps_raddr = p == NULL ? "<unknown>" :
	    p->t_inpcb->inp_vflag == INP_IPV4 ?
	    inet_ntoa(&p->t_inpcb->inp_inc.inc_ie.ie_dependfaddr.ie46_foreign.ia46_addr4.s_addr) :
	    inet_ntoa6(&p->t_inpcb->inp_inc.inc_ie.ie_dependfaddr.ie6_foreign);
	tcps_state = p == NULL ? -1 : p->t_state;
	tcps_iss = p == NULL ? 0 : p->iss;
	tcps_suna = p == NULL ? 0 : p->snd_una;
	tcps_snxt = p == NULL ? 0 : p->snd_nxt;
	tcps_rack = p == NULL ? 0 : p->last_ack_sent;
	tcps_rnxt = p == NULL ? 0 : p->rcv_nxt;
	tcps_swnd = p == NULL ? -1 : p->snd_wnd;
	tcps_snd_ws = p == NULL ? -1 : p->snd_scale;
	tcps_rwnd = p == NULL ? -1 : p->rcv_wnd;
	tcps_rcv_ws = p == NULL ? -1 : p->rcv_scale;
	tcps_cwnd = p == NULL ? -1 : p->snd_cwnd;
	tcps_cwnd_ssthresh = p == NULL ? -1 : p->snd_ssthresh;
	tcps_sack_fack = p == NULL ? 0 : p->snd_fack;
	tcps_sack_snxt = p == NULL ? 0 : p->sack_newdata;
	tcps_rto = p == NULL ? -1 : __freebsd_version >= 1002000 ?
	    (p->t_rxtcur * 1000) / `hz : p->t_rxtcur / 1000;
	tcps_mss = p == NULL ? -1 : p->t_maxseg;
	tcps_retransmit = p == NULL ? -1 : p->t_rxtshift > 0 ? 1 : 0;
	tcps_srtt = p == NULL ? -1 : p->t_srtt;
};

translator csinfo_t < struct tcpcb *p > {
	cs_addr = NULL;
	cs_cid = (uint64_t)(p == NULL ? 0 : p->t_inpcb);
	cs_pid = 0;
	cs_zoneid = 0;
};

/*
 * tcp_offset is the header length in bytes: that is what FreeBSD 10 users see (20 for a plain
 * header, so that ip_plength - tcp_offset is the payload).
 */
translator tcpinfo_t < struct tcphdr *p > {
	tcp_sport = p == NULL ? 0 : ntohs(p->th_sport);
	tcp_dport = p == NULL ? 0 : ntohs(p->th_dport);
	tcp_seq = p == NULL ? -1 : ntohl(p->th_seq);
	tcp_ack = p == NULL ? -1 : ntohl(p->th_ack);
	tcp_offset = p == NULL ? -1 : (p->th_off << 2);
	tcp_flags = p == NULL ? 0 : p->th_flags;
	tcp_window = p == NULL ? 0 : ntohs(p->th_win);
	tcp_checksum = p == NULL ? 0 : ntohs(p->th_sum);
	tcp_urgent = p == NULL ? 0 : ntohs(p->th_urp);
	tcp_hdr = (struct tcphdr *)p;
};

translator tcpinfoh_t < struct tcphdr *p > {
	tcp_sport = p == NULL ? 0 : ntohs(p->th_sport);
	tcp_dport = p == NULL ? 0 : ntohs(p->th_dport);
	tcp_seq = p == NULL ? -1 : p->th_seq;
	tcp_ack = p == NULL ? -1 : p->th_ack;
	tcp_offset = p == NULL ? -1 : (p->th_off << 2);
	tcp_flags = p == NULL ? 0 : p->th_flags;
	tcp_window = p == NULL ? 0 : p->th_win;
	tcp_checksum = p == NULL ? 0 : ntohs(p->th_sum);
	tcp_urgent = p == NULL ? 0 : p->th_urp;
	tcp_hdr = (struct tcphdr *)p;
};

translator tcplsinfo_t < int s > {
	tcps_state = s;
};
