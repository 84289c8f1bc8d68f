#!/usr/bin/env -S guestrace -qs
/*
 * Every TCP segment the guest sends or receives: direction, both endpoints, payload bytes and
 * the header's flags.
 */

#pragma D option quiet
#pragma D option switchrate=10hz

dtrace:::BEGIN
{
	printf("%3s %-22s    %-22s %6s  %s\n", "CPU", "LOCAL", "REMOTE", "BYTES", "FLAGS");
}

tcp:::send,
tcp:::receive
{
	/*
	 * Payload bytes: the datagram's length minus the IP and TCP headers. On the receive path
	 * ip_plength alone can mislead: when tcp_input checks an IPv4 checksum in software, its
	 * overlay leaves ip_hl zeroed, so the IP header's length is taken from where the TCP
	 * header starts (arg2 and arg4 are the raw IP and TCP headers).
	 */
	this->iplen = args[2]->ip_ver == 4 ?
	    ntohs(((struct ip *)arg2)->ip_len) : args[2]->ip_plength + 40;
	this->bytes = this->iplen - (arg4 - arg2) -
	    ((struct tcphdr *)arg4)->th_off * 4;
}

tcp:::send
{
	printf("%3d %15s:%-6d -> %15s:%-6d %6d  (%s%s%s%s%s%s\b)\n", cpu,
	    args[2]->ip_saddr, args[4]->tcp_sport,
	    args[2]->ip_daddr, args[4]->tcp_dport, this->bytes,
	    args[4]->tcp_flags & TH_FIN ? "FIN|" : "",
	    args[4]->tcp_flags & TH_SYN ? "SYN|" : "",
	    args[4]->tcp_flags & TH_RST ? "RST|" : "",
	    args[4]->tcp_flags & TH_PUSH ? "PUSH|" : "",
	    args[4]->tcp_flags & TH_ACK ? "ACK|" : "",
	    args[4]->tcp_flags & TH_URG ? "URG|" : "");
}

tcp:::receive
{
	printf("%3d %15s:%-6d <- %15s:%-6d %6d  (%s%s%s%s%s%s\b)\n", cpu,
	    args[2]->ip_daddr, args[4]->tcp_dport,
	    args[2]->ip_saddr, args[4]->tcp_sport, this->bytes,
	    args[4]->tcp_flags & TH_FIN ? "FIN|" : "",
	    args[4]->tcp_flags & TH_SYN ? "SYN|" : "",
	    args[4]->tcp_flags & TH_RST ? "RST|" : "",
	    args[4]->tcp_flags & TH_PUSH ? "PUSH|" : "",
	    args[4]->tcp_flags & TH_ACK ? "ACK|" : "",
	    args[4]->tcp_flags & TH_URG ? "URG|" : "");
}
