#!/usr/bin/env -S guestrace -qs
/*
 * Out-of-order TCP segments per remote host: data that arrives beyond the next sequence number
 * the connection expects (so it waits in reassembly). Counts and payload bytes are printed every
 * five seconds and when the trace ends.
 */

#pragma D option quiet

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

tcp:::receive
/args[3]->tcps_state >= TCPS_ESTABLISHED &&
    args[4]->tcp_seq > args[3]->tcps_rnxt && this->bytes > 0/
{
	@segments[args[2]->ip_saddr] = count();
	@bytes[args[2]->ip_saddr] = sum(this->bytes);
}

profile:::tick-5s,
dtrace:::END
{
	printf("%-40s %10s %10s\n", "REMOTE HOST", "SEGMENTS", "BYTES");
	printa("%-40s %@10d %@10d\n", @segments, @bytes);
	printf("\n");
}
