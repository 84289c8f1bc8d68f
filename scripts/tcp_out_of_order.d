#!/usr/bin/env -S guestrace -qs
/*
 * Out-of-order TCP segments per remote host: data that arrives beyond the next sequence number
 * the connection expects (so it waits in reassembly). Counts and payload bytes are printed every
 * five seconds and when the trace ends.
 */

#pragma D option quiet

tcp:::receive
/args[3]->tcps_state >= TCPS_ESTABLISHED &&
    args[4]->tcp_seq > args[3]->tcps_rnxt &&
    args[2]->ip_plength - args[4]->tcp_offset > 0/
{
	@segments[args[2]->ip_saddr] = count();
	@bytes[args[2]->ip_saddr] = sum(args[2]->ip_plength - args[4]->tcp_offset);
}

profile:::tick-5s,
dtrace:::END
{
	printf("%-40s %10s %10s\n", "REMOTE HOST", "SEGMENTS", "BYTES");
	printa("%-40s %@10d %@10d\n", @segments, @bytes);
	printf("\n");
}
