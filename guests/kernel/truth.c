/*
 * Ground truth on the console.  Every probe site also calls one of these,
 * whether or not a tracer enabled the probe, so the log records each event
 * a tracer could see, plus per-round sums counted independently (the
 * remote peers count what crossed em0 on their side).  guests/README.md
 * documents the format.
 */
#include <model/kern.h>

struct gt_flow {
	int used;
	struct ifnet *ifp;
	int ver, proto;
	u_char src[16], dst[16];
	u_long sent_pkts, sent_bytes, rcvd_pkts, rcvd_bytes;
	u_long peer_sent_pkts, peer_sent_bytes, peer_rcvd_pkts, peer_rcvd_bytes;
};

struct gt_ooo {
	int used, ver;
	u_char host[16];
	u_long segs, bytes;
};

static struct gt_flow gt_flows[MODEL_MAXCPU][NFLOW];
static struct gt_ooo gt_ooos[MODEL_MAXCPU][NOOO];

int gt_bench;

/*
 * Bench mode's per-round counts of probe-site passes.  The formatting and
 * the console (one outb per byte) cost far more than the traffic itself,
 * so bench mode skips both at every site and prints these sums instead.
 */
enum {
	GB_IP4_SEND, GB_IP6_SEND, GB_IP_RECEIVE, GB_TCP_SEND, GB_TCP_RECEIVE,
	GB_TCP_OTHER, GB_UDP_SEND, GB_UDP_RECEIVE, GB_STATE, GB_COUNT
};
static u_long gt_bench_counts[MODEL_MAXCPU][GB_COUNT];
/*
 * The same counts over all CPUs since boot, never reset: a tracer reads
 * them when it starts and stops to learn how often a site ran meanwhile.
 */
u_long gt_bench_total[GB_COUNT];

static void
gt_bench_count(int what)
{
	gt_bench_counts[curnet()->cpu][what]++;
	__atomic_fetch_add(&gt_bench_total[what], 1, __ATOMIC_RELAXED);
}

/* What a packet header says, read the way the ip translators read it. */
struct pkt_view {
	int ver, proto, hl, plen, sport, dport, flags, has_ports;
	u_char src[16], dst[16];
};

static void
pkt_view(const void *hdr, struct pkt_view *v)
{
	const u_char *p = hdr;
	const u_char *l4;

	bzero(v, sizeof(*v));
	v->ver = p[0] >> 4;
	if (v->ver == 4) {
		const struct ip *ip = hdr;

		v->proto = ip->ip_p;
		v->hl = ip->ip_hl;
		v->plen = ntohs(ip->ip_len) - (ip->ip_hl << 2);
		memcpy(v->src, &ip->ip_src, 4);
		memcpy(v->dst, &ip->ip_dst, 4);
		l4 = p + sizeof(struct ip);
	} else {
		const struct ip6_hdr *ip6 = hdr;

		v->proto = ip6->ip6_nxt;
		v->plen = ntohs(ip6->ip6_plen);
		memcpy(v->src, &ip6->ip6_src, 16);
		memcpy(v->dst, &ip6->ip6_dst, 16);
		l4 = p + sizeof(struct ip6_hdr);
	}
	if (v->proto == IPPROTO_TCP || v->proto == IPPROTO_UDP) {
		v->has_ports = 1;
		v->sport = ntohs(((const u_short *)l4)[0]);
		v->dport = ntohs(((const u_short *)l4)[1]);
		if (v->proto == IPPROTO_TCP)
			v->flags = ((const struct tcphdr *)l4)->th_flags;
	}
}

static void
fmt_addr(int ver, const void *a, char *buf)
{
	if (ver == 4)
		inet_ntoa_model(a, buf);
	else
		inet_ntoa6_model(a, buf);
}

/* "t=... exec=... pid=... tid=..." for the current thread. */
static void
fmt_ctx(char *buf, size_t len)
{
	struct thread *td = curthread;

	snprintf_model(buf, len, "t=%u exec=%s pid=%d tid=%d",
	    curnet()->clock, td->td_proc->p_comm, td->td_proc->p_pid,
	    td->td_tid);
}

static int
curproc_index(void)
{
	return ((int)(curthread->td_proc - model_procs));
}

static struct gt_flow *
flow_find(struct ifnet *ifp, const struct pkt_view *v)
{
	struct gt_flow *f = curnet()->flows;
	u_char src[16], dst[16];
	int i, alen = v->ver == 4 ? 4 : 16;

	memcpy(src, v->src, 16);
	memcpy(dst, v->dst, 16);
	if (v->ver == 6) {
		in6_clearscope((struct in6_addr *)src);
		in6_clearscope((struct in6_addr *)dst);
	}
	for (i = 0; i < NFLOW; i++) {
		if (f[i].used && f[i].ifp == ifp && f[i].ver == v->ver &&
		    f[i].proto == v->proto && memcmp(f[i].src, src, alen) == 0 &&
		    memcmp(f[i].dst, dst, alen) == 0)
			return (&f[i]);
	}
	for (i = 0; i < NFLOW; i++) {
		if (!f[i].used) {
			bzero(&f[i], sizeof(f[i]));
			f[i].used = 1;
			f[i].ifp = ifp;
			f[i].ver = v->ver;
			f[i].proto = v->proto;
			memcpy(f[i].src, src, 16);
			memcpy(f[i].dst, dst, 16);
			return (&f[i]);
		}
	}
	panic("ground truth: too many flows");
}

void
gt_init_cpu(struct model_net *mn)
{
	mn->flows = gt_flows[mn->cpu];
	mn->ooo = gt_ooos[mn->cpu];
}

void
gt_ip(const char *dir, struct ifnet *ifp, const void *hdr)
{
	struct pkt_view v;
	struct gt_flow *f;
	char ctx[96], s[48], d[48], ports[64];

	pkt_view(hdr, &v);
	if (gt_bench) {
		gt_bench_count(dir[0] == 'r' ? GB_IP_RECEIVE :
		    v.ver == 4 ? GB_IP4_SEND : GB_IP6_SEND);
		return;
	}
	fmt_ctx(ctx, sizeof(ctx));
	fmt_addr(v.ver, v.src, s);
	fmt_addr(v.ver, v.dst, d);
	ports[0] = '\0';
	if (v.proto == IPPROTO_TCP)
		snprintf_model(ports, sizeof(ports), " sport=%d dport=%d flags=0x%02x",
		    v.sport, v.dport, v.flags);
	else if (v.proto == IPPROTO_UDP)
		snprintf_model(ports, sizeof(ports), " sport=%d dport=%d",
		    v.sport, v.dport);
	kprintf("gt %d ip %s %s if=%s v=%d proto=%d src=%s dst=%s plen=%d%s\n",
	    curnet()->cpu, dir, ctx, ifp->if_xname, v.ver, v.proto, s, d,
	    v.plen, ports);
	f = flow_find(ifp, &v);
	if (dir[0] == 's') {
		f->sent_pkts++;
		f->sent_bytes += v.plen;
	} else {
		f->rcvd_pkts++;
		f->rcvd_bytes += v.plen;
	}
}

void
gt_peer(const char *dir, const void *hdr)
{
	struct pkt_view v;
	struct gt_flow *f;

	pkt_view(hdr, &v);
	f = flow_find(em0ifp, &v);
	if (dir[0] == 's') {
		f->peer_sent_pkts++;
		f->peer_sent_bytes += v.plen;
	} else {
		f->peer_rcvd_pkts++;
		f->peer_rcvd_bytes += v.plen;
	}
}

void
gt_tcp(const char *probe, struct tcpcb *tp, const void *iph,
    const struct tcphdr *th, int hostorder)
{
	const u_char *p = iph;
	int ver = p[0] >> 4, hl = 0, iplen, len, off = th->th_off << 2, pi;
	char ctx[96], s[48], d[48];
	const void *sa, *da;

	if (gt_bench) {
		gt_bench_count(probe[0] == 's' ? GB_TCP_SEND :
		    probe[0] == 'r' ? GB_TCP_RECEIVE : GB_TCP_OTHER);
		return;
	}
	if (ver == 4) {
		const struct ip *ip = iph;

		hl = ip->ip_hl;
		iplen = ntohs(ip->ip_len);
		len = iplen - (int)sizeof(struct ip) - off;
		sa = &ip->ip_src;
		da = &ip->ip_dst;
	} else {
		const struct ip6_hdr *ip6 = iph;

		iplen = ntohs(ip6->ip6_plen) + (int)sizeof(struct ip6_hdr);
		len = ntohs(ip6->ip6_plen) - off;
		sa = &ip6->ip6_src;
		da = &ip6->ip6_dst;
	}
	fmt_ctx(ctx, sizeof(ctx));
	fmt_addr(ver, sa, s);
	fmt_addr(ver, da, d);
	kprintf("gt %d tcp %s %s tp=%p inp=%p v=%d src=%s sport=%d dst=%s "
	    "dport=%d flags=0x%02x seq=%u ack=%u win=%u off=%d len=%d state=%d "
	    "rnxt=%u iphl=%d iplen=%d\n", curnet()->cpu, probe, ctx, (void *)tp,
	    tp != NULL ? (void *)tp->t_inpcb : NULL, ver, s, ntohs(th->th_sport),
	    d, ntohs(th->th_dport), th->th_flags,
	    hostorder ? th->th_seq : ntohl(th->th_seq),
	    hostorder ? th->th_ack : ntohl(th->th_ack),
	    hostorder ? th->th_win : ntohs(th->th_win), off, len,
	    tp != NULL ? tp->t_state : -1, tp != NULL ? tp->rcv_nxt : 0, hl,
	    iplen);
	pi = curproc_index();
	if (probe[0] == 's')
		curnet()->proc_bytes[pi][0] += len;
	else if (probe[0] == 'r')
		curnet()->proc_bytes[pi][1] += len;
}

void
gt_udp(const char *probe, struct inpcb *inp, const void *iph,
    const struct udphdr *uh)
{
	const u_char *p = iph;
	int ver = p[0] >> 4, hl = 0, len = ntohs(uh->uh_ulen) -
	    (int)sizeof(struct udphdr);
	char ctx[96], s[48], d[48];

	if (gt_bench) {
		gt_bench_count(probe[0] == 's' ? GB_UDP_SEND : GB_UDP_RECEIVE);
		return;
	}
	if (ver == 4) {
		const struct ip *ip = iph;

		hl = ip->ip_hl;
		fmt_addr(4, &ip->ip_src, s);
		fmt_addr(4, &ip->ip_dst, d);
	} else {
		const struct ip6_hdr *ip6 = iph;

		fmt_addr(6, &ip6->ip6_src, s);
		fmt_addr(6, &ip6->ip6_dst, d);
	}
	fmt_ctx(ctx, sizeof(ctx));
	kprintf("gt %d udp %s %s inp=%p v=%d src=%s sport=%d dst=%s dport=%d "
	    "len=%d iphl=%d\n", curnet()->cpu, probe, ctx, (void *)inp, ver, s,
	    ntohs(uh->uh_sport), d, ntohs(uh->uh_dport), len, hl);
	curnet()->proc_bytes[curproc_index()][probe[0] == 's' ? 2 : 3] += len;
}

static void
fmt_inp(struct inpcb *inp, char *buf, size_t len)
{
	char l[48], f[48];
	int v6 = (inp->inp_vflag & INP_IPV6) != 0;

	if (v6) {
		fmt_addr(6, &inp->in6p_laddr, l);
		fmt_addr(6, &inp->in6p_faddr, f);
	} else {
		fmt_addr(4, &inp->inp_laddr, l);
		fmt_addr(4, &inp->inp_faddr, f);
	}
	snprintf_model(buf, len, "v=%d laddr=%s lport=%d raddr=%s rport=%d",
	    v6 ? 6 : 4, l, ntohs(inp->inp_lport), f, ntohs(inp->inp_fport));
}

void
gt_state(struct tcpcb *tp, int oldstate)
{
	char ctx[96], conn[160];

	if (gt_bench) {
		gt_bench_count(GB_STATE);
		return;
	}
	fmt_ctx(ctx, sizeof(ctx));
	fmt_inp(tp->t_inpcb, conn, sizeof(conn));
	kprintf("gt %d state %s tp=%p inp=%p old=%d new=%d %s\n",
	    curnet()->cpu, ctx, (void *)tp, (void *)tp->t_inpcb, oldstate,
	    tp->t_state, conn);
	curnet()->states_seen[tp->t_state]++;
}

void
gt_ooo(struct tcpcb *tp, const struct tcphdr *th, int tlen)
{
	struct model_net *mn = curnet();
	struct inpcb *inp = tp->t_inpcb;
	int v6 = (inp->inp_vflag & INP_IPV6) != 0, i;
	const void *host = v6 ? (const void *)&inp->in6p_faddr :
	    (const void *)&inp->inp_faddr;
	char ctx[96], h[48];

	if (gt_bench)
		return;
	fmt_ctx(ctx, sizeof(ctx));
	fmt_addr(v6 ? 6 : 4, host, h);
	kprintf("gt %d ooo %s tp=%p host=%s seq=%u len=%d rnxt=%u\n", mn->cpu,
	    ctx, (void *)tp, h, th->th_seq, tlen, tp->rcv_nxt);
	for (i = 0; i < NOOO; i++) {
		struct gt_ooo *o = &mn->ooo[i];

		if (!o->used) {
			o->used = 1;
			o->ver = v6 ? 6 : 4;
			memcpy(o->host, host, v6 ? 16 : 4);
		} else if (o->ver != (v6 ? 6 : 4) ||
		    memcmp(o->host, host, v6 ? 16 : 4) != 0)
			continue;
		o->segs++;
		o->bytes += tlen;
		return;
	}
}

void
gt_sock(struct socket *so)
{
	struct inpcb *inp = sotoinpcb(so);
	struct thread *owner = so->so_owner != NULL ? so->so_owner : curthread;
	char conn[160];

	if (gt_bench)
		return;
	if (inp != NULL)
		fmt_inp(inp, conn, sizeof(conn));
	else
		snprintf_model(conn, sizeof(conn), "v=0");
	kprintf("gt %d sock t=%u exec=%s pid=%d so=%p inp=%p proto=%s sent=%lu "
	    "rcvd=%lu %s\n", curnet()->cpu, curnet()->clock,
	    owner->td_proc->p_comm, owner->td_proc->p_pid, (void *)so,
	    (void *)inp, so->so_type == SOCK_STREAM ? "tcp" : "udp",
	    so->so_model_sent, so->so_model_rcvd, conn);
}

/* A socket got its PCB (pru_attach), in the context that created it. */
void
gt_attach(struct socket *so)
{
	struct inpcb *inp = sotoinpcb(so);
	char ctx[96];

	if (gt_bench)
		return;
	fmt_ctx(ctx, sizeof(ctx));
	kprintf("gt %d attach %s so=%p inp=%p proto=%s v=%d\n", curnet()->cpu,
	    ctx, (void *)so, (void *)inp,
	    so->so_type == SOCK_STREAM ? "tcp" : "udp",
	    inp != NULL && (inp->inp_vflag & INP_IPV6) ? 6 : 4);
}

/* sosend (resid at entry) or soreceive (resid at entry, bytes it returned). */
void
gt_sockio(const char *call, struct socket *so, long resid, long done,
    int error)
{
	char ctx[96];

	if (gt_bench)
		return;
	fmt_ctx(ctx, sizeof(ctx));
	if (call[2] == 's')
		kprintf("gt %d sosend %s so=%p proto=%s resid=%ld\n",
		    curnet()->cpu, ctx, (void *)so,
		    so->so_type == SOCK_STREAM ? "tcp" : "udp", resid);
	else
		kprintf("gt %d soreceive %s so=%p proto=%s resid=%ld got=%ld "
		    "error=%d\n", curnet()->cpu, ctx, (void *)so,
		    so->so_type == SOCK_STREAM ? "tcp" : "udp", resid, done,
		    error);
}

void
gt_note(const char *what)
{
	char ctx[96];

	if (gt_bench)
		return;
	fmt_ctx(ctx, sizeof(ctx));
	kprintf("gt %d note %s what=%s\n", curnet()->cpu, ctx, what);
}

void
gt_round_begin(void)
{
	struct model_net *mn = curnet();

	bzero(mn->flows, sizeof(struct gt_flow) * NFLOW);
	bzero(mn->ooo, sizeof(struct gt_ooo) * NOOO);
	bzero(mn->proc_bytes, sizeof(mn->proc_bytes));
	bzero(mn->states_seen, sizeof(mn->states_seen));
	kprintf("gt %d round begin n=%d t=%u\n", mn->cpu, mn->round,
	    mn->clock);
}

/* Bench mode's round summary: the counts of probe-site passes. */
static void
gt_bench_sums(struct model_net *mn)
{
	u_long *c = gt_bench_counts[mn->cpu];

	kprintf("bench %d n=%d ip_send=%lu ip4_send=%lu ip_receive=%lu "
	    "tcp_send=%lu tcp_receive=%lu tcp_other=%lu udp_send=%lu "
	    "udp_receive=%lu state=%lu\n", mn->cpu, mn->round,
	    c[GB_IP4_SEND] + c[GB_IP6_SEND], c[GB_IP4_SEND], c[GB_IP_RECEIVE],
	    c[GB_TCP_SEND], c[GB_TCP_RECEIVE], c[GB_TCP_OTHER], c[GB_UDP_SEND],
	    c[GB_UDP_RECEIVE], c[GB_STATE]);
	bzero(c, sizeof(gt_bench_counts[0]));
}

static void
gt_round_sums(struct model_net *mn)
{
	int i;

	for (i = 0; i < NFLOW; i++) {
		struct gt_flow *f = &mn->flows[i];
		char s[48], d[48];

		if (!f->used)
			continue;
		fmt_addr(f->ver, f->src, s);
		fmt_addr(f->ver, f->dst, d);
		kprintf("gt %d flow n=%d if=%s v=%d proto=%d src=%s dst=%s "
		    "sent_pkts=%lu sent_bytes=%lu rcvd_pkts=%lu rcvd_bytes=%lu "
		    "peer_sent_pkts=%lu peer_sent_bytes=%lu peer_rcvd_pkts=%lu "
		    "peer_rcvd_bytes=%lu\n", mn->cpu, mn->round,
		    f->ifp->if_xname, f->ver, f->proto, s, d, f->sent_pkts,
		    f->sent_bytes, f->rcvd_pkts, f->rcvd_bytes,
		    f->peer_sent_pkts, f->peer_sent_bytes, f->peer_rcvd_pkts,
		    f->peer_rcvd_bytes);
	}
	for (i = 0; i < NOOO; i++) {
		struct gt_ooo *o = &mn->ooo[i];
		char h[48];

		if (!o->used)
			continue;
		fmt_addr(o->ver, o->host, h);
		kprintf("gt %d ooo-sum n=%d host=%s segs=%lu bytes=%lu\n",
		    mn->cpu, mn->round, h, o->segs, o->bytes);
	}
	for (i = 0; i < P_COUNT; i++) {
		u_long *b = mn->proc_bytes[i];

		if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0)
			continue;
		kprintf("gt %d proc n=%d exec=%s pid=%d tcp_sent=%lu "
		    "tcp_rcvd=%lu udp_sent=%lu udp_rcvd=%lu\n", mn->cpu,
		    mn->round, model_procs[i].p_comm, model_procs[i].p_pid,
		    b[0], b[1], b[2], b[3]);
	}
	kprintf("gt %d states n=%d seen=%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n",
	    mn->cpu, mn->round, mn->states_seen[0], mn->states_seen[1],
	    mn->states_seen[2], mn->states_seen[3], mn->states_seen[4],
	    mn->states_seen[5], mn->states_seen[6], mn->states_seen[7],
	    mn->states_seen[8], mn->states_seen[9], mn->states_seen[10]);
}

void
gt_round_end(void)
{
	struct model_net *mn = curnet();

	if (gt_bench)
		gt_bench_sums(mn);
	else
		gt_round_sums(mn);
	kprintf("gt %d round end n=%d t=%u mbufs=%d\n", mn->cpu, mn->round,
	    mn->clock, mn->mbufs_out);
}
