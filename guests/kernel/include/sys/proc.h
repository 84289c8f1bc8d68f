/* Threads and processes (sys/proc.h), the members a tracer reads. */
#ifndef _SYS_PROC_H_
#define _SYS_PROC_H_

#include <sys/types.h>

struct pcb;
struct ucred;
struct mtx;

struct thread {
	struct mtx *td_lock;
	struct proc *td_proc;
	TAILQ_ENTRY(thread) td_plist;
	TAILQ_ENTRY(thread) td_runq;
	lwpid_t td_tid;
	int td_flags;
	int td_inhibitors;
	int td_pflags;
	int td_dupfd;
	u_char td_oncpu;
	u_char td_lastcpu;
	u_char td_priority;
	u_char td_user_pri;
	int td_errno;
	char td_name[MAXCOMLEN + 1];
	struct ucred *td_ucred;
	struct pcb *td_pcb;
	int td_state;
	u_int td_ticks;
};

struct proc {
	LIST_ENTRY(proc) p_list;
	TAILQ_HEAD(, thread) p_threads;
	struct ucred *p_ucred;
	int p_flag;
	int p_state;
	pid_t p_pid;
	LIST_ENTRY(proc) p_hash;
	struct proc *p_pptr;
	int p_numthreads;
	u_char p_pad[3];
	char p_comm[MAXCOMLEN + 1];
	struct pgrp *p_pgrp;
	u_int p_stype;
};

#endif
