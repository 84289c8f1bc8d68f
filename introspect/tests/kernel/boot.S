/* Boot path of the introspect test kernel: PVH entry (32-bit, paging off), long mode with
 * 4-level tables, jump to the higher half; and the real-mode trampoline for the second vCPU. */

#define MSR_EFER 0xc0000080

    .section .note.pvh, "a"
    .p2align 2
    .long 4                 /* namesz */
    .long 8                 /* descsz: QEMU reads a size_t */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .p2align 2
    .quad pvh_start

    .section .boot.text, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    lgdt gdtr
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $0x100, %eax                /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax           /* PG | PE */
    movl %eax, %cr0
    ljmp $0x08, $long64

    .code64
long64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    /* .bss is not in the file: clear it before anything lives there. */
    movabs $__bss_start, %rdi
    movabs $__bss_end, %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movabs $boot_stack_top, %rsp
    xorl %edi, %edi
    movabs $kmain, %rax
    call *%rax
1:  hlt
    jmp 1b

    /* Second vCPU: long mode, then the per-CPU stack the BSP left in ap_stack. */
ap_long64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movabs $ap_stack, %rax
    movq (%rax), %rsp
    movl $1, %edi
    movabs $kmain, %rax
    call *%rax
1:  hlt
    jmp 1b

    /* Copied to 0x8000 by the BSP; real mode straight to long mode. Position dependent on
     * 0x8000, hence the offsets. */
    .code16
    .globl trampoline_start, trampoline_end
trampoline_start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl 0x8000 + (tramp_gdtr - trampoline_start)
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax
    movl %eax, %cr0
    ljmpl $0x08, $ap_long64
    .p2align 3
tramp_gdtr:
    .word gdt_end - gdt - 1
    .long gdt
trampoline_end:

    .section .boot.data, "aw"
    .p2align 3
gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .long gdt

    /* Identity map of 0-4 GiB with 1 GiB pages; KERNBASE 0xffffffff80000000 -> 0 with 2 MiB
     * pages (128 MiB); the C code adds a 4 KiB-page window at 0xffffffffc0000000. */
    .p2align 12
    .globl pml4, pdpt_high, pd_window, pt_window
pml4:
    .quad pdpt_low + 3
    .fill 510, 8, 0
    .quad pdpt_high + 3
    .p2align 12
pdpt_low:
    .quad 0x00000000 + 0x83
    .quad 0x40000000 + 0x83
    .quad 0x80000000 + 0x83
    .quad 0xc0000000 + 0x83
    .fill 508, 8, 0
    .p2align 12
pdpt_high:
    .fill 510, 8, 0
    .quad pd_high + 3
    .quad 0                         /* [511]: the 4 KiB window, filled in by C */
    .p2align 12
pd_high:
    .set i, 0
    .rept 64
    .quad (i << 21) + 0x83
    .set i, i + 1
    .endr
    .fill 448, 8, 0
    .p2align 12
pd_window:
    .fill 512, 8, 0
    .p2align 12
pt_window:
    .fill 512, 8, 0
    .p2align 12
boot_stack:
    .fill 4096, 1, 0
boot_stack_top:
    .section .note.GNU-stack,"",@progbits
