/* The introspect test kernel: two vCPUs calling functions the tests put breakpoints on.
 *
 * It boots through the model guest's PVH entry (guests/kernel/boot.S, linked unchanged): that
 * enters long mode on 2 MiB pages and calls hammer_time on the first vCPU and init_secondary on
 * each vCPU its real-mode trampoline starts, on the stack left in ap_boot_stack. */

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

struct pcpu {
    struct pcpu *self;
    u64 cpuid;
    u64 pad[6];
};

struct obj {
    u64 seq;
    u64 calls;
    char name[16];
};

struct pcpu pcpus[2];
struct obj objs[2] = { { 0, 0, "obj-cpu0" }, { 0, 0, "obj-cpu1" } };
volatile u64 loops[2];
volatile u64 probe_sites[2];
volatile u64 stub_body_runs;
volatile u64 probe_enabled;
volatile u64 cpus_up;
void *ap_boot_stack; /* read by boot.S's AP entry */
const char marker[32] = "introspect test kernel data";
/* Reached only through the 4 KiB-page window at 0xffffffffc0000000, pages in reverse order. */
u8 window_data[4][4096] __attribute__((aligned(4096)));
/* The page directory and page table behind that window. */
u64 pd_window[512] __attribute__((aligned(4096)));
u64 pt_window[512] __attribute__((aligned(4096)));
static u8 ap_stack_mem[16384] __attribute__((aligned(16)));

extern char ap_tramp_start[], ap_tramp_end[];

#define KERNBASE 0xffffffff80000000UL
#define WINDOW 0xffffffffc0000000UL
#define PTE_ADDR 0x000ffffffffff000UL
#define PTE_RW 3UL     /* present, writable */
#define PTE_LARGE 0x83UL /* present, writable, large page */

static inline void outb(u32 port, u8 v) { __asm__ volatile("outb %0, %w1" ::"a"(v), "Nd"(port)); }
static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static void puts(const char *s)
{
    while (*s)
        outb(0x3f8, (u8)*s++);
}

static u64 phys(const void *p) { return (u64)p - KERNBASE; }
static u64 *low(u64 pa) { return (u64 *)pa; } /* identity map */

/* The function whose body must never run while traced (an emulated-return target). Seven
 * arguments: the last one is on the stack at [rsp+8] at entry. */
__attribute__((noinline, noipa)) void note_stub_body(void) { stub_body_runs++; }

/* Not a leaf, like FreeBSD's sdt_probe_stub (which prints and backtraces): with frame pointers
 * it starts with push %rbp, where a pointer watch moves its breakpoint. */
__attribute__((noinline, noipa, optimize("no-optimize-sibling-calls"), section(".stub_text")))
void probe_stub(u64 id, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    (void)id; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
    note_stub_body();
}

__attribute__((noinline, noipa)) void count_call(struct obj *o) { o->calls++; }

/* Called through a pointer, as FreeBSD calls sdt_probe_func: `call *probe_func(%rip)`. */
void (*probe_func)(u64, u64, u64, u64, u64, u64, u64) = probe_stub;

/* An entry-breakpoint target; not a leaf, so with frame pointers it starts with push %rbp,
 * like most FreeBSD kernel functions. */
__attribute__((noinline, noipa, section(".traced_text"))) u64 traced_func(struct obj *o, u64 x)
{
    count_call(o);
    return x * 2 + 1;
}

/* Recursion, to check that returns pair with their own frame. */
__attribute__((noinline, noipa, optimize("no-optimize-sibling-calls"), section(".recurse_text")))
u64 recurse(u64 n)
{
    if (n == 0)
        return 0;
    u64 r = recurse(n - 1);
    /* A barrier between the call and the add keeps gcc from turning this into a loop. */
    __asm__ volatile("" : "+r"(r)::"memory");
    return r + n;
}

/* The pointer loaded first, then `call *%reg`: a read watch on the pointer stops at the load,
 * not at the stub, so the stub's breakpoint must catch this call. A function of its own, so the
 * compiler cannot merge it with the `call *probe_func(%rip)` site. */
__attribute__((noinline, noipa)) static void probe_loaded_first(int cpu)
{
    void (*f)(u64, u64, u64, u64, u64, u64, u64) = probe_func;
    __asm__ volatile("" : "+r"(f));
    f((u64)cpu + 1, 0x1000 + cpu, 0x2000, 0x3000, 0x4000, 0x5000, 0xabc0 + cpu);
}

static void work(int cpu)
{
    for (;;) {
        loops[cpu]++;
        if (probe_enabled) {
            probe_sites[cpu]++;
            if (loops[cpu] % 8 != 0)
                probe_func((u64)cpu + 1, 0x1000 + cpu, 0x2000, 0x3000, 0x4000, 0x5000, 0xabc0 + cpu);
            else
                probe_loaded_first(cpu);
        }
        traced_func(&objs[cpu], loops[cpu]);
        recurse(3);
    }
}

/* boot.S maps the low 4 GiB and the kernel with 2 MiB pages. The tests want all three page
 * sizes, so the low 4 GiB become four 1 GiB pages and the last 1 GiB of the address space gets
 * the 4 KiB-page window. The tables are reached through CR3 over the identity map. */
static void map_pages(void)
{
    u64 cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    u64 *pml4 = low(cr3 & PTE_ADDR);
    u64 *pdpt_low = low(pml4[0] & PTE_ADDR);
    u64 *pdpt_high = low(pml4[511] & PTE_ADDR);
    for (u64 i = 0; i < 4; i++)
        pdpt_low[i] = (i << 30) | PTE_LARGE;
    for (int i = 0; i < 4; i++)
        pt_window[i] = phys(window_data[3 - i]) | PTE_RW;
    pd_window[0] = phys(pt_window) | PTE_RW;
    pdpt_high[511] = phys(pd_window) | PTE_RW;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4096; j += 8)
            *(u64 *)&window_data[i][j] = 0x5749000000000000UL | ((u64)i << 32) | (u64)j;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

static void start_ap(void)
{
    volatile u32 *apic = (volatile u32 *)0xfee00000UL;
    u8 *dst = (u8 *)0x8000;
    for (char *p = ap_tramp_start; p < ap_tramp_end; p++)
        *dst++ = (u8)*p;
    ap_boot_stack = &ap_stack_mem[sizeof ap_stack_mem];
    apic[0x310 / 4] = 1u << 24;
    apic[0x300 / 4] = 0x4500; /* INIT */
    for (volatile int i = 0; i < 100000; i++) {
    }
    apic[0x310 / 4] = 1u << 24;
    apic[0x300 / 4] = 0x4608; /* SIPI, vector 0x08 -> 0x8000 */
}

void kmain(int cpu)
{
    pcpus[cpu].self = &pcpus[cpu];
    pcpus[cpu].cpuid = (u64)cpu;
    wrmsr(0xc0000101, (u64)&pcpus[cpu]); /* GS_BASE */
    wrmsr(0xc0000102, 0x7ffffffff000UL); /* KERNEL_GS_BASE */
    if (cpu == 0) {
        map_pages();
        puts("up cpu0\n");
        __atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
        start_ap();
    } else {
        puts("up cpu1\n");
        __atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
    }
    work(cpu);
}

/* boot.S's entry points: the first vCPU with the PVH start_info (unused here), then the AP. */
void hammer_time(u32 start_info)
{
    (void)start_info;
    kmain(0);
}

void init_secondary(void) { kmain(1); }
