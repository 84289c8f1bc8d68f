/* Structures mirroring FreeBSD 10's (netinet/ip.h, tcp.h, in_pcb.h, sys/mbuf.h, net/if_var.h):
 * the same shapes, bitfields, unions and nesting, so the index is checked on what it will meet. */
#include <stdint.h>
#include <stddef.h>

typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef unsigned long u_long;
typedef uint32_t tcp_seq;
typedef uint32_t in_addr_t;
typedef char *caddr_t;

struct socket;
struct sockaddr;
struct route;
struct uio;
struct thread;
/* Declared here, defined only in other.c: a forward declaration resolved across CUs. */
struct hidden;

struct in_addr {
	in_addr_t s_addr;
};

struct ip {
	u_char ip_hl:4, ip_v:4;
	u_char ip_tos;
	u_short ip_len;
	u_short ip_id;
	u_short ip_off;
	u_char ip_ttl;
	u_char ip_p;
	u_short ip_sum;
	struct in_addr ip_src, ip_dst;
} __attribute__((packed, aligned(4)));

struct tcphdr {
	u_short th_sport;
	u_short th_dport;
	tcp_seq th_seq;
	tcp_seq th_ack;
	u_char th_x2:4, th_off:4;
	u_char th_flags;
	u_short th_win;
	u_short th_sum;
	u_short th_urp;
};

struct in6_addr {
	union {
		uint8_t __u6_addr8[16];
		uint16_t __u6_addr16[8];
		uint32_t __u6_addr32[4];
	} __u6_addr;
};

struct in_addr_4in6 {
	uint32_t ia46_pad32[3];
	struct in_addr ia46_addr4;
};

struct in_endpoints {
	uint16_t ie_fport;
	uint16_t ie_lport;
	union {
		struct in_addr_4in6 ie46_foreign;
		struct in6_addr ie6_foreign;
	} ie_dependfaddr;
	union {
		struct in_addr_4in6 ie46_local;
		struct in6_addr ie6_local;
	} ie_dependladdr;
};

struct in_conninfo {
	uint8_t inc_flags;
	uint8_t inc_len;
	uint16_t inc_fibnum;
	struct in_endpoints inc_ie;
};

struct inpcb {
	struct inpcb *inp_next;
	void *inp_ppcb;
	struct socket *inp_socket;
	u_int inp_flags;
	u_char inp_vflag;
	struct in_conninfo inp_inc;
};

enum tcp_state_like {
	TCPS_CLOSED, TCPS_LISTEN, TCPS_SYN_SENT, TCPS_SYN_RECEIVED, TCPS_ESTABLISHED,
	TCPS_TIME_WAIT = 10,
};

struct tcpcb {
	struct inpcb *t_inpcb;
	int t_state;
	u_int t_flags;
	tcp_seq snd_una, snd_max, snd_nxt;
	tcp_seq iss, irs, rcv_nxt;
	u_long rcv_wnd, snd_wnd, snd_cwnd, snd_ssthresh;
	int t_rxtcur;
	u_int t_maxseg;
	int t_srtt;
	u_char snd_scale, rcv_scale;
	enum tcp_state_like t_kind;
	struct hidden *t_hidden;
};

struct ifnet;
struct mbuf;

struct m_hdr {
	struct mbuf *mh_next;
	struct mbuf *mh_nextpkt;
	caddr_t mh_data;
	int32_t mh_len;
	int mh_type:8;
	int mh_flags:24;
};

struct pkthdr {
	struct ifnet *rcvif;
	void *tags;
	int32_t len;
	uint32_t flowid;
	uint64_t csum_flags;
};

struct mbuf {
	struct m_hdr m_hdr;
	union {
		struct {
			struct pkthdr MH_pkthdr;
			union {
				char MH_databuf[200];
			} MH_dat;
		} MH;
		char M_databuf[224];
	} M_dat;
};

struct ifnet {
	char if_xname[16];
	const char *if_dname;
	int if_dunit;
	u_short if_index;
	int if_flags;
	int (*if_output)(struct ifnet *, struct mbuf *, const struct sockaddr *, struct route *);
	void (*if_start)(struct ifnet *);
};

/* C11 anonymous members, as in sdt_probe-like and newer kernel structs. */
struct anon_members {
	int a;
	union {
		int b;
		float c;
	};
	struct {
		char d;
		long e;
	};
	const volatile int cv;
	const char *cp;
	char *const pc;
};

/* A flexible array member and a multi-dimensional array. */
struct flex {
	int n;
	short grid[3][5];
	char data[];
};

/* Bitfields of several storage sizes, one crossing a byte boundary, one unnamed. */
struct odd_bits {
	unsigned long long a:3, b:50, c:11;
	unsigned int d:7;
	unsigned int :5;
	unsigned int e:13;
	signed char f:2;
	_Bool g:1;
};

struct packed_pair {
	char c;
	int i;
} __attribute__((packed));

/* A member past 64 KiB: DWARF 3 producers give its location as DW_FORM_data4, which that
 * version also used for location-list offsets. */
struct big_offsets {
	char pad[70000];
	int after;
};

typedef struct tcpcb tcpcb_t;

int sosend_like(struct socket *so, struct sockaddr *addr, struct uio *uio, struct mbuf *top,
    struct mbuf *control, int flags, struct thread *td);
long hidden_size(void);
extern struct hidden *hidden_ptr;
