/* TCP control blocks (netinet/tcp_var.h, tcp_timer.h, tcp_fsm.h), 10.4 names. */
#ifndef _NETINET_TCP_VAR_H_
#define _NETINET_TCP_VAR_H_

#include <netinet/tcp.h>

struct inpcb;
struct mbuf;
struct vnet;

#define TCPS_CLOSED 0
#define TCPS_LISTEN 1
#define TCPS_SYN_SENT 2
#define TCPS_SYN_RECEIVED 3
#define TCPS_ESTABLISHED 4
#define TCPS_CLOSE_WAIT 5
#define TCPS_FIN_WAIT_1 6
#define TCPS_CLOSING 7
#define TCPS_LAST_ACK 8
#define TCPS_FIN_WAIT_2 9
#define TCPS_TIME_WAIT 10
#define TCP_NSTATES 11

#define TCPS_HAVERCVDSYN(s) ((s) >= TCPS_SYN_RECEIVED)
#define TCPS_HAVEESTABLISHED(s) ((s) >= TCPS_ESTABLISHED)
#define TCPS_HAVERCVDFIN(s) \
	((s) == TCPS_CLOSE_WAIT || ((s) >= TCPS_CLOSING && (s) != TCPS_FIN_WAIT_2))

#define SEQ_LT(a, b) ((int)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int)((a) - (b)) >= 0)

struct tseg_qent {
	LIST_ENTRY(tseg_qent) tqe_q;
	int tqe_len;
	struct tcphdr *tqe_th;
	struct mbuf *tqe_m;
};
LIST_HEAD(tsegqe_head, tseg_qent);

/* A callout reduced to its deadline on the CPU's logical clock (c_time holds
 * the 32-bit tick, compared modulo 2^32; c_flags says whether it is armed). */
struct callout {
	sbintime_t c_time;
	void *c_arg;
	void (*c_func)(void *);
	short c_flags;
	short c_iflags;
	volatile int c_cpu;
};

#define CALLOUT_ACTIVE 0x0002
#define callout_active(c) ((c)->c_flags & CALLOUT_ACTIVE)

struct tcp_timer {
	struct callout tt_rexmt;
	struct callout tt_persist;
	struct callout tt_keep;
	struct callout tt_2msl;
	struct callout tt_delack;
	uint32_t tt_flags;
	uint32_t tt_draincnt;
};

struct sackblk {
	tcp_seq start;
	tcp_seq end;
};
struct sackhole;
struct sackhint {
	struct sackhole *nexthole;
	int sack_bytes_rexmit;
	tcp_seq last_sack_ack;
	int ispare;
	uint64_t _pad[2];
};
#define MAX_SACK_BLKS 6

struct tcpcb {
	struct tsegqe_head t_segq;
	void *t_pspare[2];
	int t_segqlen;
	int t_dupacks;
	struct tcp_timer *t_timers;
	struct inpcb *t_inpcb;
	int t_state;
	u_int t_flags;
	struct vnet *t_vnet;
	tcp_seq snd_una;
	tcp_seq snd_max;
	tcp_seq snd_nxt;
	tcp_seq snd_up;
	tcp_seq snd_wl1;
	tcp_seq snd_wl2;
	tcp_seq iss;
	tcp_seq irs;
	tcp_seq rcv_nxt;
	tcp_seq rcv_adv;
	u_long rcv_wnd;
	tcp_seq rcv_up;
	u_long snd_wnd;
	u_long snd_cwnd;
	u_long snd_spare1;
	u_long snd_ssthresh;
	u_long snd_spare2;
	tcp_seq snd_recover;
	u_int t_maxopd;
	u_int t_rcvtime;
	u_int t_starttime;
	u_int t_rtttime;
	tcp_seq t_rtseq;
	u_int t_bw_spare1;
	tcp_seq t_bw_spare2;
	int t_rxtcur;
	u_int t_maxseg;
	int t_srtt;
	int t_rttvar;
	int t_rxtshift;
	u_int t_rttmin;
	u_int t_rttbest;
	u_long t_rttupdated;
	u_long max_sndwnd;
	int t_softerror;
	char t_oobflags;
	char t_iobc;
	u_char snd_scale;
	u_char rcv_scale;
	u_char request_r_scale;
	u_int32_t ts_recent;
	u_int ts_recent_age;
	u_int32_t ts_offset;
	tcp_seq last_ack_sent;
	tcp_seq snd_recover_prev;
	u_long snd_cwnd_prev;
	u_long snd_ssthresh_prev;
	tcp_seq snd_high;
	int t_sndzerowin;
	u_int t_badrxtwin;
	u_char snd_limited;
	int snd_numholes;
	TAILQ_HEAD(sackhole_head, sackhole) snd_holes;
	tcp_seq snd_fack;
	int rcv_numsacks;
	struct sackblk sackblks[MAX_SACK_BLKS];
	tcp_seq sack_newdata;
	struct sackhint sackhint;
	int t_rttlow;
	u_int32_t rfbuf_ts;
	int rfbuf_cnt;
	struct toedev *tod;
	int t_sndrexmitpack;
	int t_rcvoopack;
	void *t_toe;
	int t_bytes_acked;
	struct cc_algo *cc_algo;
	struct cc_var *ccv;
	struct osd *osd;
	u_int t_keepinit;
	u_int t_keepidle;
	u_int t_keepintvl;
	u_int t_keepcnt;
	u_int t_tsomax;
	u_int t_tsomaxsegcount;
	u_int t_tsomaxsegsize;
	u_int t_pmtud_saved_maxopd;
	u_int t_flags2;
};

#define TF_ACKNOW 0x000001
#define TF_DELACK 0x000002
#define TF_NODELAY 0x000004
#define TF_NOOPT 0x000008
#define TF_SENTFIN 0x000010
#define TF_NEEDSYN 0x000400
#define TF_NEEDFIN 0x000800

/* What is left of a connection in TIME_WAIT (netinet/tcp_var.h). */
struct tcptw {
	struct inpcb *tw_inpcb;
	tcp_seq snd_nxt;
	tcp_seq rcv_nxt;
	tcp_seq iss;
	tcp_seq irs;
	u_short last_win;
	short tw_so_options;
	struct ucred *tw_cred;
	u_int32_t t_recent;
	u_int32_t ts_offset;
	u_int t_starttime;
	int tw_time;
	TAILQ_ENTRY(tcptw) tw_2msl;
	void *tw_pspare;
	u_int *tw_spare;
};

#define intotcpcb(ip) ((struct tcpcb *)(ip)->inp_ppcb)
#define intotw(ip) ((struct tcptw *)(ip)->inp_ppcb)
#define sototcpcb(so) (intotcpcb(sotoinpcb(so)))

/* The combined IP+TCP header template tcp_output and tcp_respond fill in. */
struct tcpiphdr {
	struct ipovly ti_i;
	struct tcphdr ti_t;
};

#define TCPTV_MSL (30 * hz)
#define TCPTV_RTOBASE (3 * hz)
#define TCPTV_SRTTBASE 0
#define TCPTV_MIN (hz / 33)
#define TCPTV_REXMTMAX (64 * hz)
#define TCPTV_CPU_VAR (hz / 5)
#define TCP_RTT_SCALE 32
#define TCP_RTT_SHIFT 5
#define TCP_RTTVAR_SHIFT 4
#define TCP_DELTA_SHIFT 2
#define TCP_MAX_WINSHIFT 14
#define TCP_REXMTVAL(tp) \
	max((tp)->t_rttmin, (((tp)->t_srtt >> (TCP_RTT_SHIFT - TCP_DELTA_SHIFT)) + \
	    (tp)->t_rttvar) >> TCP_DELTA_SHIFT)
/* FreeBSD 10 adds tcp_rexmit_slop (200 ms) to every computed timeout. */
#define TCPT_RANGESET(tv, value, tvmin, tvmax) do { \
	(tv) = (value) + TCPTV_CPU_VAR; \
	if ((u_long)(tv) < (u_long)(tvmin)) \
		(tv) = (tvmin); \
	if ((u_long)(tv) > (u_long)(tvmax)) \
		(tv) = (tvmax); \
} while (0)
#define TCP_MAXRXTSHIFT 12
#define TCP_MSS 536
#define TCP6_MSS 1220

#endif
