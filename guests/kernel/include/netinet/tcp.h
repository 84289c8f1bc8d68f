/* The TCP header (netinet/tcp.h), little-endian bitfield order. */
#ifndef _NETINET_TCP_H_
#define _NETINET_TCP_H_

#include <sys/types.h>

typedef u_int32_t tcp_seq;

struct tcphdr {
	u_short th_sport;
	u_short th_dport;
	tcp_seq th_seq;
	tcp_seq th_ack;
	u_char th_x2:4,		/* (unused) */
	    th_off:4;		/* data offset */
	u_char th_flags;
	u_short th_win;
	u_short th_sum;
	u_short th_urp;
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PUSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MAXSEG 2
#define TCPOLEN_MAXSEG 4

#define TCP_MAXWIN 65535

#endif
