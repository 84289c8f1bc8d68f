#!/usr/bin/env -S guestrace -s
/*
 * Where is the guest sending IP packets? Prints the destination address of every IPv4 and
 * IPv6 packet as it leaves.
 */

ip:::send
{
	printf("%s\n", args[2]->ip_daddr);
}
