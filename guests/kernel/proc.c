/*
 * The named processes that own the workload's sockets.  There is no
 * scheduler: the workload runs to completion and changes identity by
 * storing a thread in pc_curthread, which is all a tracer looks at.
 */
#include <model/kern.h>

struct proc model_procs[P_COUNT];

static const struct {
	const char *comm;
	const char *tdname;
	pid_t pid;
} proc_table[P_COUNT] = {
	[P_IDLE] = { "idle", "idle: cpu", 11 },
	[P_INTR] = { "intr", "swi1: netisr 0", 12 },
	[P_SSHD] = { "sshd", "sshd", 612 },
	[P_SSH] = { "ssh", "ssh", 1043 },
	[P_FETCH] = { "fetch", "fetch", 1051 },
	[P_NTPD] = { "ntpd", "ntpd", 688 },
	[P_SYSLOGD] = { "syslogd", "syslogd", 523 },
	[P_PING] = { "ping", "ping", 1060 },
};

static void
copy_name(char *dst, const char *src)
{
	int i;

	for (i = 0; i < MAXCOMLEN && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

void
proc_init(void)
{
	int i;

	for (i = 0; i < P_COUNT; i++) {
		model_procs[i].p_pid = proc_table[i].pid;
		copy_name(model_procs[i].p_comm, proc_table[i].comm);
		model_procs[i].p_numthreads = 1;
		model_procs[i].p_pptr = &model_procs[P_IDLE];
	}
}

void
thread_init_cpu(struct model_net *mn, int cpu)
{
	int i;

	for (i = 0; i < P_COUNT; i++) {
		struct thread *td = &mn->threads[i];

		td->td_proc = &model_procs[i];
		td->td_tid = 100000 + cpu * 100 + i;
		td->td_oncpu = (u_char)cpu;
		td->td_lastcpu = (u_char)cpu;
		copy_name(td->td_name, proc_table[i].tdname);
	}
	__pcpu[cpu].pc_idlethread = &mn->threads[P_IDLE];
	__pcpu[cpu].pc_curthread = &mn->threads[P_IDLE];
}

struct thread *
thread_switch(enum model_proc p)
{
	struct pcpu *pc = pcpu_self();
	struct thread *old = pc->pc_curthread;

	pc->pc_curthread = &pc->pc_model->threads[p];
	pc->pc_switchticks = (int)pc->pc_model->clock;
	return (old);
}

void
thread_restore(struct thread *td)
{
	pcpu_self()->pc_curthread = td;
}
