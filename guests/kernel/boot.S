/*
 * PVH entry of the model kernel.  QEMU's PVH option ROM enters pvh_start in
 * 32-bit protected mode, paging off, %ebx = hvm_start_info.  We build
 * 4-level page tables (identity 0-4 GiB and KERNBASE -> 0 with 2 MiB pages),
 * enter long mode and jump to the higher half.  Application processors come
 * in through a real-mode trampoline copied to 0x8000.
 */
#define MSR_EFER 0xc0000080
#define AP_TRAMP 0x8000

	.section .note.pvh, "a"
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 8			/* descsz: a 64-bit address, as QEMU reads size_t */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_start

	.section .boot.text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl $boot_stack_top, %esp
	/* 2048 page-directory entries: 4 GiB of 2 MiB pages. */
	movl $pd_tables, %edi
	movl $0x83, %eax		/* present, writable, large */
	movl $2048, %ecx
1:	movl %eax, (%edi)
	movl $0, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 1b
	/* pdpt_low[0..3] -> the four page directories; pdpt_high[510] -> the first. */
	movl $pdpt_low, %edi
	movl $pd_tables + 3, %eax
	movl %eax, 0(%edi)
	addl $4096, %eax
	movl %eax, 8(%edi)
	addl $4096, %eax
	movl %eax, 16(%edi)
	addl $4096, %eax
	movl %eax, 24(%edi)
	movl $pdpt_high, %edi
	movl $pd_tables + 3, %eax
	movl %eax, 510*8(%edi)
	movl $pml4, %edi
	movl $pdpt_low + 3, %eax
	movl %eax, 0(%edi)
	movl $pdpt_high + 3, %eax
	movl %eax, 511*8(%edi)
	call enter_long_mode32
	ljmp $0x08, $long_entry

/* PAE, CR3, EFER.LME, paging; shared by the BSP path. */
enter_long_mode32:
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
	lgdt gdt_desc
	ret

	.code64
long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movabsq $hi_entry, %rax
	jmp *%rax

/* The AP trampoline: copied to AP_TRAMP, entered in real mode by a SIPI. */
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl (ap_gdt_desc - ap_tramp_start + AP_TRAMP)
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
	ljmpl $0x08, $(ap_long - ap_tramp_start + AP_TRAMP)
	.code64
ap_long:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movabsq $ap_hi_entry, %rax
	jmp *%rax
	.balign 8
ap_gdt:
	.quad 0
	.quad 0x00209a0000000000	/* 64-bit code */
	.quad 0x0000920000000000	/* data */
ap_gdt_desc:
	.word 3*8 - 1
	.long ap_gdt - ap_tramp_start + AP_TRAMP
ap_tramp_end:

	.section .boot.data, "aw"
	.balign 8
gdt:
	.quad 0
	.quad 0x00209a0000000000
	.quad 0x0000920000000000
gdt_desc:
	.word 3*8 - 1
	.long gdt
	.balign 4096
pml4:	.fill 512, 8, 0
pdpt_low:	.fill 512, 8, 0
pdpt_high:	.fill 512, 8, 0
pd_tables:	.fill 2048, 8, 0
	.fill 1024, 1, 0
boot_stack_top:

/* Higher-half entry points. */
	.text
	.globl hi_entry
hi_entry:
	movq $bsp_stack + 65536, %rsp
	xorq %rbp, %rbp
	movl %ebx, %r12d
	/* Clear .bss. */
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movl %r12d, %edi
	call hammer_time
1:	hlt
	jmp 1b

	.globl ap_hi_entry
ap_hi_entry:
	movq ap_boot_stack(%rip), %rsp
	xorq %rbp, %rbp
	call init_secondary
1:	hlt
	jmp 1b

	.bss
	.balign 16
	.globl bsp_stack
bsp_stack:
	.skip 65536

	.section .note.GNU-stack, "", @progbits
