#!/bin/sh
# Lists the guest's network probes, as `dtrace -l -P ip -P tcp -P udp` does on FreeBSD 10.
# Extra arguments (--gdb, --kernel, ...) are passed to guestrace.
exec guestrace -l -P ip -P tcp -P udp "$@"
