#!/usr/bin/env -S guestrace -qs
/*
 * Every TCP state transition with the connection's endpoints and how long (in microseconds)
 * the connection spent in the state it is leaving.
 */

#pragma D option quiet
#pragma D option switchrate=10hz

/* When each connection (keyed by its inpcb) last changed state. */
uint64_t last[uint64_t];

dtrace:::BEGIN
{
	printf("%3s %-18s %-40s %-20s    %-20s %10s\n", "CPU", "CONNECTION",
	    "LOCAL -> REMOTE", "OLD STATE", "NEW STATE", "DELTA(us)");
}

tcp:::state-change
{
	this->delta = last[args[1]->cs_cid] == 0 ? 0 :
	    (timestamp - last[args[1]->cs_cid]) / 1000;
	printf("%3d 0x%-16x %15s:%-5d %15s:%-5d %-20s -> %-20s %10d\n", cpu,
	    args[1]->cs_cid,
	    args[3]->tcps_laddr, args[3]->tcps_lport,
	    args[3]->tcps_raddr, args[3]->tcps_rport,
	    tcp_state_string[args[5]->tcps_state],
	    tcp_state_string[args[3]->tcps_state], this->delta);
	last[args[1]->cs_cid] = timestamp;
}

tcp:::state-change
/args[3]->tcps_state == TCPS_CLOSED || args[3]->tcps_state == TCPS_TIME_WAIT/
{
	last[args[1]->cs_cid] = 0;
}
