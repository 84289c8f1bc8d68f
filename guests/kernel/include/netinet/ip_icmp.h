/* ICMP echo (netinet/ip_icmp.h), the part the model uses. */
#ifndef _NETINET_IP_ICMP_H_
#define _NETINET_IP_ICMP_H_

#include <sys/types.h>

struct icmp {
	u_char icmp_type;
	u_char icmp_code;
	u_short icmp_cksum;
	u_short icmp_id;
	u_short icmp_seq;
};

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

#endif
