#!/usr/bin/env -S guestrace -qs
/*
 * How long TCP connections live, from the moment one is established (either side) until it
 * leaves the connected states, as a power-of-two histogram in microseconds per remote address.
 */

#pragma D option quiet

tcp:::accept-established,
tcp:::connect-established
{
	start[args[1]->cs_cid] = timestamp;
}

tcp:::state-change
/start[args[1]->cs_cid] && (args[3]->tcps_state == TCPS_TIME_WAIT ||
    args[3]->tcps_state == TCPS_CLOSED)/
{
	@lifetime_us[args[3]->tcps_raddr] =
	    quantize((timestamp - start[args[1]->cs_cid]) / 1000);
	start[args[1]->cs_cid] = 0;
}

dtrace:::END
{
	printf("TCP connection lifetimes (microseconds) per remote host:\n");
	printa("\n  %s\n%@d", @lifetime_us);
}
