#!/usr/bin/env -S guestrace -s
/*
 * IP payload sizes per interface and direction, as linear histograms in 64-byte steps up to
 * 1500 bytes. Printed when the trace ends (Ctrl-C).
 */

ip:::send
{
	@sizes[args[3]->if_name, "send"] = lquantize(args[2]->ip_plength, 0, 1500, 64);
}

ip:::receive
{
	@sizes[args[3]->if_name, "receive"] = lquantize(args[2]->ip_plength, 0, 1500, 64);
}
