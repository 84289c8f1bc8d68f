/*
 * TCP timers (netinet/tcp_timer.c) on the CPU's logical clock: the
 * retransmission timer (which resends an unanswered SYN) and the 2*MSL
 * timer that ends TIME_WAIT.  They run as "intr", like FreeBSD's callouts.
 */
#include <model/kern.h>

static const int tcp_syn_backoff[TCP_MAXRXTSHIFT + 1] =
    { 1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64 };
static const int tcp_backoff[TCP_MAXRXTSHIFT + 1] =
    { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512, 512 };

void
tcp_timer_activate(struct tcpcb *tp __unused, struct callout *c, int delta)
{
	if (delta == 0) {
		c->c_flags &= ~CALLOUT_ACTIVE;
		return;
	}
	c->c_time = (uint32_t)(curnet()->clock + (uint32_t)delta);
	c->c_flags |= CALLOUT_ACTIVE;
}

/* Deadlines compare modulo 2^32, so the clock may wrap (after ~50 days of ticks). */
static int
callout_due(const struct callout *c, uint32_t now)
{
	return (callout_active(c) && (int)(now - (uint32_t)c->c_time) >= 0);
}

static __noinline void
tcp_timer_rexmt(struct tcpcb *tp)
{
	int rexmt;

	tcp_timer_activate(tp, &tp->t_timers->tt_rexmt, 0);
	if (++tp->t_rxtshift > TCP_MAXRXTSHIFT) {
		tp->t_rxtshift = TCP_MAXRXTSHIFT;
		(void)tcp_drop(tp, 60);
		return;
	}
	if (tp->t_state == TCPS_SYN_SENT)
		rexmt = TCPTV_RTOBASE * tcp_syn_backoff[tp->t_rxtshift];
	else
		rexmt = TCP_REXMTVAL(tp) * tcp_backoff[tp->t_rxtshift];
	TCPT_RANGESET(tp->t_rxtcur, rexmt, (int)tp->t_rttmin, TCPTV_REXMTMAX);
	/* Karn: no RTT sample from a retransmitted segment. */
	tp->t_rtttime = 0;
	tp->snd_nxt = tp->snd_una;
	tp->t_flags |= TF_ACKNOW;
	(void)tcp_output(tp);
}

void
tcp_timers_run(void)
{
	struct model_net *mn = curnet();
	struct thread *td = NULL;
	int i;

	for (i = 0; i < NINP; i++) {
		struct tcpcb_mem *tm = &mn->tcbs[i];
		struct tcptw *tw = &mn->tws[i];

		if (tm->used && callout_due(&tm->tt.tt_rexmt, mn->clock)) {
			if (td == NULL)
				td = thread_switch(P_INTR);
			tcp_timer_rexmt(&tm->tcb);
		}
		if (tw->tw_inpcb != NULL &&
		    (int)(mn->clock - (uint32_t)tw->tw_time) >= 0) {
			if (td == NULL)
				td = thread_switch(P_INTR);
			tcp_twclose(tw);
		}
	}
	if (td != NULL)
		thread_restore(td);
}

/* The earliest pending deadline, so an idle CPU can jump its clock there. */
int
tcp_timers_next(uint32_t *when)
{
	struct model_net *mn = curnet();
	int i, found = 0;

	for (i = 0; i < NINP; i++) {
		uint32_t t;

		if (mn->tcbs[i].used &&
		    callout_active(&mn->tcbs[i].tt.tt_rexmt)) {
			t = (uint32_t)mn->tcbs[i].tt.tt_rexmt.c_time;
			if (!found || (int)(t - *when) < 0)
				*when = t;
			found = 1;
		}
		if (mn->tws[i].tw_inpcb != NULL) {
			t = (uint32_t)mn->tws[i].tw_time;
			if (!found || (int)(t - *when) < 0)
				*when = t;
			found = 1;
		}
	}
	return (found);
}
