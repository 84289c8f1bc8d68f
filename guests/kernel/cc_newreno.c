/*
 * NewReno's window growth (netinet/cc/cc_newreno.c, cc.c), the part the
 * workload reaches: the initial window when a connection is established
 * (RFC 3390) and slow start per acknowledged bytes (RFC 3465, L = 2).
 */
#include <model/kern.h>

void
cc_conn_init(struct tcpcb *tp)
{
	u_long mss = tp->t_maxseg;

	tp->snd_cwnd = min(4 * mss, max(2 * mss, 4380UL));
}

void
cc_ack_received(struct tcpcb *tp, int acked)
{
	u_long incr, cap;

	if (acked <= 0 || tp->snd_cwnd > tp->snd_ssthresh)
		return;
	incr = min((u_long)acked, 2UL * tp->t_maxseg);
	cap = (u_long)TCP_MAXWIN << tp->snd_scale;
	tp->snd_cwnd = min(tp->snd_cwnd + incr, cap);
}
