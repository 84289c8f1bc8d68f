/* The protocol switches (netinet/in_proto.c, netinet6/in6_proto.c). */
#include <model/kern.h>

struct protosw inetsw[] = {
	{ .pr_type = SOCK_STREAM, .pr_protocol = IPPROTO_TCP,
	  .pr_input = tcp_input, .pr_usrreqs = &tcp_usrreqs },
	{ .pr_type = SOCK_DGRAM, .pr_protocol = IPPROTO_UDP,
	  .pr_input = udp_input, .pr_usrreqs = &udp_usrreqs },
	{ .pr_type = SOCK_RAW, .pr_protocol = IPPROTO_ICMP,
	  .pr_input = icmp_input },
	{ .pr_type = 0 },
};

struct protosw inet6sw[] = {
	{ .pr_type = SOCK_STREAM, .pr_protocol = IPPROTO_TCP,
	  .pr_input = tcp6_input, .pr_usrreqs = &tcp6_usrreqs },
	{ .pr_type = SOCK_DGRAM, .pr_protocol = IPPROTO_UDP,
	  .pr_input = udp6_input, .pr_usrreqs = &udp6_usrreqs },
	{ .pr_type = 0 },
};
