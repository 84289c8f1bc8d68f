/*
 * Machine start-up: the FreeBSD globals a tracer reads, per-CPU data reached
 * through GS base, and bringing up the application processors.
 */
#include <model/kern.h>

#define MSR_GSBASE 0xc0000101
#define MSR_KGSBASE 0xc0000102
#define LAPIC_BASE 0xfee00000UL
#define AP_TRAMP 0x8000


int hz = 1000;
volatile int ticks;
char ostype[] = "FreeBSD";
char osrelease[] = "10.4-RELEASE";
int osreldate = 1004000;
char version[] =
    "FreeBSD 10.4-RELEASE #0 r324094: Fri Sep 29 01:45:44 UTC 2017\n"
    "    root@releng3.nyi.freebsd.org:/usr/obj/usr/src/sys/GENERIC\n";
struct pcpu __pcpu[MAXCPU];
struct pcpu *cpuid_to_pcpu[MAXCPU];
int mp_ncpus = 1;
int mp_maxid;

static struct model_net model_nets[MODEL_MAXCPU];
static char ap_stacks[MODEL_MAXCPU][65536] __aligned(16);
void *ap_boot_stack;
static volatile int ap_cpu;
static volatile int ap_started;
static volatile int all_go;
static u_long boot_pace = 50000;
static uint32_t boot_clock;

extern char ap_tramp_start[], ap_tramp_end[];

void hammer_time(uint32_t start_info);
void init_secondary(void);

static inline void
wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
	    "d"((uint32_t)(v >> 32)));
}

static inline void
outw(u_short port, u_short v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline u_char
inb(u_short port)
{
	u_char v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return (v);
}

/* QEMU's fw_cfg knows how many CPUs the machine has (FW_CFG_NB_CPUS). */
static int
fw_cfg_ncpus(void)
{
	int n;

	outw(0x510, 0x05);
	n = inb(0x511);
	n |= inb(0x511) << 8;
	return (n);
}

/* The value of "key=N" in the command line, if present. */
static int
cmdline_num(const char *s, const char *key, u_long *v)
{
	size_t klen = strlen(key);

	for (; *s; s++) {
		if (s[0] != key[0] || memcmp(s, key, klen) != 0 ||
		    s[klen] != '=')
			continue;
		*v = 0;
		for (s += klen + 1; *s >= '0' && *s <= '9'; s++)
			*v = *v * 10 + (u_long)(*s - '0');
		return (1);
	}
	return (0);
}

/*
 * "pace=N": spin iterations per network event.  "clock=N": the logical
 * clock every CPU starts from (to exercise its wrap-around).  "bench=1":
 * the same traffic with the per-event console lines off (truth.c), so a
 * benchmark sees the probe sites fire at the guest's full speed.
 */
static void
parse_cmdline(uint32_t start_info)
{
	uint64_t cmd_pa;
	const char *s;
	u_long v;

	if (start_info == 0)
		return;
	cmd_pa = *(volatile uint64_t *)(uintptr_t)(start_info + 24);
	if (cmd_pa == 0)
		return;
	s = (const char *)(uintptr_t)cmd_pa;
	if (cmdline_num(s, "pace", &v))
		boot_pace = v;
	if (cmdline_num(s, "clock", &v))
		boot_clock = (uint32_t)v;
	if (cmdline_num(s, "bench", &v))
		gt_bench = v != 0;
}

static void
pcpu_setup(int cpu)
{
	struct pcpu *pc = &__pcpu[cpu];
	struct model_net *mn = &model_nets[cpu];

	pc->pc_cpuid = cpu;
	pc->pc_apic_id = cpu;
	pc->pc_prvspace = pc;
	pc->pc_model = mn;
	cpuid_to_pcpu[cpu] = pc;
	mn->cpu = cpu;
	mn->pace = boot_pace;
	mn->clock = boot_clock;
	wrmsr(MSR_GSBASE, (uint64_t)(uintptr_t)pc);
	/* The user GS base a kernel entry would have swapped out. */
	wrmsr(MSR_KGSBASE, 0x7ffffffff000UL);
	thread_init_cpu(mn, cpu);
	mbuf_init_cpu(mn);
	peer_init_cpu(mn);
	gt_init_cpu(mn);
}

static void
lapic_icr(uint32_t apic_id, uint32_t low)
{
	volatile uint32_t *lapic = (volatile uint32_t *)LAPIC_BASE;

	lapic[0x310 / 4] = apic_id << 24;
	lapic[0x300 / 4] = low;
	while (lapic[0x300 / 4] & (1 << 12))
		__asm__ volatile("pause");
}

static void
start_ap(int cpu)
{
	int tries, spin;

	ap_boot_stack = &ap_stacks[cpu][sizeof(ap_stacks[cpu])];
	ap_cpu = cpu;
	ap_started = 0;
	lapic_icr(cpu, 0x4500);			/* INIT */
	for (tries = 0; tries < 2 && !ap_started; tries++) {
		lapic_icr(cpu, 0x4600 | (AP_TRAMP >> 12));	/* STARTUP */
		for (spin = 0; spin < 50000000 && !ap_started; spin++)
			__asm__ volatile("pause");
	}
	if (!ap_started)
		panic("cpu%d did not start", cpu);
}

void
hammer_time(uint32_t start_info)
{
	int cpu, n;

	parse_cmdline(start_info);
	proc_init();
	if_init_all();
	pcpu_setup(0);
	n = fw_cfg_ncpus();
	if (n < 1)
		n = 1;
	if (n > MODEL_MAXCPU)
		n = MODEL_MAXCPU;
	mp_ncpus = n;
	mp_maxid = n - 1;
	kprintf("%s", version);
	kprintf("guestrace-model: booting, %d cpu(s), pace %lu\n", n, boot_pace);
	memcpy((void *)AP_TRAMP, ap_tramp_start,
	    (size_t)(ap_tramp_end - ap_tramp_start));
	for (cpu = 1; cpu < n; cpu++)
		start_ap(cpu);
	kprintf("guestrace-model: up ncpu=%d hz=%d osrelease=%s\n", n, hz,
	    osrelease);
	__atomic_store_n(&all_go, 1, __ATOMIC_RELEASE);
	workload_run();
}

void
init_secondary(void)
{
	int cpu = ap_cpu;

	pcpu_setup(cpu);
	__atomic_store_n(&ap_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&all_go, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	workload_run();
}
