#!/usr/bin/env -S guestrace -qs
/*
 * Bytes each process writes to and reads from UDP sockets, summed every two seconds. It
 * watches the socket layer with fbt: sosend_dgram and soreceive_dgram are the send and
 * receive routines of UDP sockets, and the uio's residual count says how much they moved.
 */

#pragma D option quiet

fbt::sosend_dgram:entry,
fbt::soreceive_dgram:entry
{
	self->uio = args[2];
	self->resid = args[2]->uio_resid;
}

fbt::sosend_dgram:return
/self->uio/
{
	@sent[execname, pid] = sum(self->resid - self->uio->uio_resid);
	self->uio = 0;
}

fbt::soreceive_dgram:return
/self->uio/
{
	@received[execname, pid] = sum(self->resid - self->uio->uio_resid);
	self->uio = 0;
}

profile:::tick-2s,
dtrace:::END
{
	printf("%-16s %8s %12s %12s\n", "PROCESS", "PID", "UDP SENT", "UDP RECEIVED");
	printa("%-16s %8d %@12d %@12d\n", @sent, @received);
	printf("\n");
	trunc(@sent);
	trunc(@received);
}
