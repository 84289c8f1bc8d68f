/*
 * The serial console (COM1).  Lines are formatted privately and written
 * whole under a spin lock, so the two CPUs' ground-truth lines never mix.
 */
#include <model/kern.h>
#include <stdarg.h>

int vsnprintf_model(char *buf, size_t len, const char *fmt, va_list ap);

static volatile int cons_lock;

static inline void
outb(u_short port, u_char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void
cons_write(const char *s, int n)
{
	while (__atomic_exchange_n(&cons_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	while (n-- > 0)
		outb(0x3f8, (u_char)*s++);
	__atomic_store_n(&cons_lock, 0, __ATOMIC_RELEASE);
}

void
kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf_model(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	cons_write(buf, n);
}

void
panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf_model(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("panic: %s\n", buf);
	(void)n;
	for (;;)
		__asm__ volatile("cli; hlt");
}
