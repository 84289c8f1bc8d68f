/*
 * Per-CPU data (sys/pcpu.h): pc_curthread first, so that curthread is
 * %gs:0 as on FreeBSD/amd64, where GS base points at the CPU's struct pcpu.
 */
#ifndef _SYS_PCPU_H_
#define _SYS_PCPU_H_

#include <sys/types.h>

struct thread;
struct pcb;
struct model_net;

struct pcpu {
	struct thread *pc_curthread;
	struct thread *pc_idlethread;
	struct thread *pc_fpcurthread;
	struct thread *pc_deadthread;
	struct pcb *pc_curpcb;
	uint64_t pc_switchtime;
	int pc_switchticks;
	u_int pc_cpuid;
	STAILQ_ENTRY(pcpu) pc_allcpu;
	void *pc_spinlocks;
	long pc_cp_time[5];
	void *pc_device;
	void *pc_netisr;
	int pc_dnweight;
	int pc_domain;
	uintptr_t pc_dynamic;
	/* amd64 machine-dependent part */
	char pc_monitorbuf[128];
	struct pcpu *pc_prvspace;
	struct pmap *pc_curpmap;
	struct amd64tss *pc_tssp;
	void *pc_commontssp;
	uint64_t pc_kcr3;
	uint64_t pc_ucr3;
	uint64_t pc_saved_ucr3;
	u_int pc_apic_id;
	u_int pc_acpi_id;
	/* The model's own: this CPU's network workload state. */
	struct model_net *pc_model;
};

#endif
