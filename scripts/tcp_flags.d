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

tcp:::send
{
	this->bytes = args[2]->ip_plength - args[4]->tcp_offset;
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
	this->bytes = args[2]->ip_plength - args[4]->tcp_offset;
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
