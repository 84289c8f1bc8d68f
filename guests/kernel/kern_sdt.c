/*
 * The SDT hook (sys/kern/kern_sdt.c): sdt_probe_func starts out pointing at
 * sdt_probe_stub, which only complains.  The stub lives alone in its own
 * 4 KiB page (section .sdt_stub_text, see kernel.ld).
 */
#include <model/kern.h>
#include <sys/sdt.h>

void kdb_backtrace(void);

sdt_probe_func_t sdt_probe_func = sdt_probe_stub;

__attribute__((section(".sdt_stub_text"), aligned(16), noinline)) void
sdt_probe_stub(uint32_t id __unused, uintptr_t arg0 __unused,
    uintptr_t arg1 __unused, uintptr_t arg2 __unused,
    uintptr_t arg3 __unused, uintptr_t arg4 __unused)
{
	kprintf("sdt_probe_stub: unexpectedly called\n");
	kdb_backtrace();
}

/* What KDB_TRACE prints: the frame-pointer chain of the caller. */
__noinline void
kdb_backtrace(void)
{
	uintptr_t *fp = __builtin_frame_address(0);
	int depth;

	kprintf("KDB: stack backtrace:\n");
	for (depth = 0; fp != NULL && depth < 16; depth++) {
		uintptr_t ret = fp[1];

		if (ret < 0xffffffff80200000UL)
			break;
		kprintf("#%d %p\n", depth, (void *)ret);
		fp = (uintptr_t *)fp[0];
		if ((uintptr_t)fp < 0xffffffff80000000UL)
			break;
	}
}
