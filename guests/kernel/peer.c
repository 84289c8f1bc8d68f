/*
 * The far side of em0: remote hosts (10.0.2.2 for cpu0, 10.0.2.3 for cpu1,
 * and fe80::2 / fe80::3) that answer like a real TCP/IP stack.  They see
 * the guest's packets as they leave em0 and put their answers on em0's
 * receive path.  Nothing here fires a probe: this is not the traced kernel.
 */
#include <model/kern.h>
#include <netinet/ip_icmp.h>

enum { PC_FREE, PC_HTTP, PC_SSH_CLIENT, PC_CLOSED_CLIENT };

struct peer_conn {
	int kind;
	u_short pport;		/* the peer's port, host order */
	u_short gport;		/* the guest's port, host order */
	tcp_seq snd_nxt, rcv_nxt;
	int responded, fin_sent;
};

static struct peer_conn peer_conns[MODEL_MAXCPU][NPEER];
static u_short peer_ip_id[MODEL_MAXCPU];
static uint32_t peer_iss[MODEL_MAXCPU];
static u_short peer_port[MODEL_MAXCPU];

#define HTTP_RESPONSE_LEN 628
static const int http_seg_len[3] = { 200, 200, 228 };
static const int http_seg_order[3] = { 0, 2, 1 };
static const char ssh_banner[] = "SSH-2.0-OpenSSH_7.5 FreeBSD-20170903\n";

void
peer_init_cpu(struct model_net *mn)
{
	mn->peers = peer_conns[mn->cpu];
	peer_iss[mn->cpu] = 0x5eed0000u + (uint32_t)mn->cpu * 0x01000000u;
	peer_port[mn->cpu] = (u_short)(40000 + mn->cpu * 5000);
}

static void
peer_deliver(struct mbuf *m)
{
	wire_check(m, "em0 in");
	gt_peer("send", mtod(m, void *));
	m->m_pkthdr.rcvif = em0ifp;
	m->m_pkthdr.csum_flags = 0;
	netisr_queue(m);
}

static struct mbuf *
peer_pkt4(int proto, int l4len)
{
	struct model_net *mn = curnet();
	struct mbuf *m = m_gethdr(0, MT_DATA);
	struct ip *ip = mtod(m, struct ip *);

	bzero(ip, sizeof(*ip));
	ip->ip_v = IPVERSION;
	ip->ip_hl = 5;
	ip->ip_len = htons((u_short)(sizeof(*ip) + l4len));
	ip->ip_id = htons(peer_ip_id[mn->cpu]++);
	ip->ip_off = proto == IPPROTO_TCP ? htons(IP_DF) : 0;
	ip->ip_ttl = IPDEFTTL;
	ip->ip_p = (u_char)proto;
	ip->ip_src = peer_addr4(mn->cpu);
	ip->ip_dst = in_em0;
	ip->ip_sum = htons(in_cksum_buf(ip, sizeof(*ip), 0));
	m->m_len = sizeof(*ip) + l4len;
	return (m);
}

static void
peer_tcp_send(struct peer_conn *pc, int flags, tcp_seq seq, const char *data,
    int len, int mss_opt)
{
	int optlen = mss_opt ? TCPOLEN_MAXSEG : 0;
	int tl = sizeof(struct tcphdr) + optlen + len;
	struct mbuf *m = peer_pkt4(IPPROTO_TCP, tl);
	struct ip *ip = mtod(m, struct ip *);
	struct tcphdr *th = (struct tcphdr *)(ip + 1);
	u_char *opt = (u_char *)(th + 1);

	bzero(th, sizeof(*th));
	th->th_sport = htons(pc->pport);
	th->th_dport = htons(pc->gport);
	th->th_seq = htonl(seq);
	th->th_ack = (flags & TH_ACK) ? htonl(pc->rcv_nxt) : 0;
	th->th_off = (u_char)((sizeof(*th) + optlen) >> 2);
	th->th_flags = (u_char)flags;
	th->th_win = htons(flags & TH_RST ? 0 : 65535);
	if (mss_opt) {
		opt[0] = TCPOPT_MAXSEG;
		opt[1] = TCPOLEN_MAXSEG;
		opt[2] = 1460 >> 8;
		opt[3] = 1460 & 0xff;
	}
	if (len > 0)
		memcpy(opt + optlen, data, len);
	th->th_sum = htons(in_cksum_buf(th, tl, in_pseudo_sum(ip->ip_src.s_addr,
	    ip->ip_dst.s_addr, IPPROTO_TCP, tl)));
	peer_deliver(m);
}

static struct peer_conn *
peer_alloc(int kind)
{
	struct peer_conn *pcs = curnet()->peers;
	int i;

	for (i = 0; i < NPEER; i++)
		if (pcs[i].kind == PC_FREE) {
			bzero(&pcs[i], sizeof(pcs[i]));
			pcs[i].kind = kind;
			return (&pcs[i]);
		}
	panic("peer: out of connections");
}

static tcp_seq
peer_new_iss(void)
{
	int cpu = curnet()->cpu;

	peer_iss[cpu] += 0x00c0ffee;
	return (peer_iss[cpu]);
}

static void
http_response(struct peer_conn *pc)
{
	static char body[HTTP_RESPONSE_LEN];
	static const char hdr[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.12.1\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 519\r\n\r\n";
	tcp_seq base = pc->snd_nxt;
	int i, off[3];

	for (i = 0; i < HTTP_RESPONSE_LEN; i++)
		body[i] = i < (int)sizeof(hdr) - 1 ? hdr[i] :
		    (char)('a' + i % 26);
	off[0] = 0;
	off[1] = http_seg_len[0];
	off[2] = off[1] + http_seg_len[1];
	/* The second and third segments swap places on the way. */
	for (i = 0; i < 3; i++) {
		int s = http_seg_order[i];

		peer_tcp_send(pc, TH_ACK | TH_PUSH, base + (tcp_seq)off[s],
		    body + off[s], http_seg_len[s], 0);
	}
	pc->snd_nxt = base + HTTP_RESPONSE_LEN;
	/* The server closes first: the guest's side does the passive close. */
	peer_tcp_send(pc, TH_FIN | TH_ACK, pc->snd_nxt, NULL, 0, 0);
	pc->snd_nxt++;
	pc->fin_sent = 1;
}

static void
peer_tcp_input(struct ip *ip, struct tcphdr *th, int tlen)
{
	struct model_net *mn = curnet();
	u_short gport = ntohs(th->th_sport), pport = ntohs(th->th_dport);
	tcp_seq seq = ntohl(th->th_seq);
	int flags = th->th_flags, dlen = tlen - (th->th_off << 2), i;
	struct peer_conn *pc = NULL, tmp;

	(void)ip;
	for (i = 0; i < NPEER; i++)
		if (mn->peers[i].kind != PC_FREE &&
		    mn->peers[i].gport == gport && mn->peers[i].pport == pport)
			pc = &mn->peers[i];
	if (pc == NULL) {
		if ((flags & (TH_SYN | TH_ACK | TH_RST)) != TH_SYN)
			return;
		if (pport == 80) {
			if (mn->peer_drop_syn > 0) {
				mn->peer_drop_syn--;
				gt_note("peer-lost-syn");
				return;
			}
			pc = peer_alloc(PC_HTTP);
			pc->pport = pport;
			pc->gport = gport;
			pc->rcv_nxt = seq + 1;
			pc->snd_nxt = peer_new_iss();
			peer_tcp_send(pc, TH_SYN | TH_ACK, pc->snd_nxt, NULL, 0, 1);
			pc->snd_nxt++;
			return;
		}
		/* Nothing listens there: refuse. */
		bzero(&tmp, sizeof(tmp));
		tmp.pport = pport;
		tmp.gport = gport;
		tmp.rcv_nxt = seq + 1;
		peer_tcp_send(&tmp, TH_RST | TH_ACK, 0, NULL, 0, 0);
		return;
	}
	switch (pc->kind) {
	case PC_HTTP:
		if (flags & TH_RST) {
			pc->kind = PC_FREE;
			return;
		}
		if (dlen > 0 && seq == pc->rcv_nxt) {
			pc->rcv_nxt += dlen;
			peer_tcp_send(pc, TH_ACK, pc->snd_nxt, NULL, 0, 0);
			if (!pc->responded) {
				pc->responded = 1;
				http_response(pc);
			}
		}
		if ((flags & TH_FIN) && seq + (tcp_seq)dlen == pc->rcv_nxt) {
			pc->rcv_nxt++;
			peer_tcp_send(pc, TH_ACK, pc->snd_nxt, NULL, 0, 0);
			if (pc->fin_sent)
				pc->kind = PC_FREE;
		}
		break;
	case PC_SSH_CLIENT:
		if ((flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
			pc->rcv_nxt = seq + 1;
			peer_tcp_send(pc, TH_ACK, pc->snd_nxt, NULL, 0, 0);
			peer_tcp_send(pc, TH_ACK | TH_PUSH, pc->snd_nxt,
			    ssh_banner, sizeof(ssh_banner) - 1, 0);
			pc->snd_nxt += sizeof(ssh_banner) - 1;
		} else if (dlen > 0 && seq == pc->rcv_nxt) {
			pc->rcv_nxt += dlen;
			peer_tcp_send(pc, TH_ACK, pc->snd_nxt, NULL, 0, 0);
			/* The client goes away without a goodbye. */
			peer_tcp_send(pc, TH_RST | TH_ACK, pc->snd_nxt, NULL, 0,
			    0);
			pc->kind = PC_FREE;
		}
		break;
	case PC_CLOSED_CLIENT:
		if (flags & TH_RST)
			pc->kind = PC_FREE;
		break;
	}
}

#define NTP_LEN 48

/* An NTP server's answer: ports swapped, a 48-byte mode-4 packet. */
static void
peer_udp_fill(struct udphdr *ruh, const struct udphdr *uh)
{
	u_char *d = (u_char *)(ruh + 1);
	int i;

	ruh->uh_sport = uh->uh_dport;
	ruh->uh_dport = uh->uh_sport;
	ruh->uh_ulen = htons((u_short)(sizeof(*ruh) + NTP_LEN));
	ruh->uh_sum = 0;
	for (i = 0; i < NTP_LEN; i++)
		d[i] = (u_char)(i == 0 ? 0x24 : i == 1 ? 2 : i);
}

/* A zero UDP checksum means "none": send 0xffff instead. */
static u_short
udp_sum_field(u_short sum)
{
	return (htons(sum == 0 ? 0xffff : sum));
}

static void
peer_udp_reply4(struct udphdr *uh)
{
	int tl = sizeof(struct udphdr) + NTP_LEN;
	struct mbuf *m = peer_pkt4(IPPROTO_UDP, tl);
	struct ip *rip = mtod(m, struct ip *);
	struct udphdr *ruh = (struct udphdr *)(rip + 1);

	peer_udp_fill(ruh, uh);
	ruh->uh_sum = udp_sum_field(in_cksum_buf(ruh, tl, in_pseudo_sum(
	    rip->ip_src.s_addr, rip->ip_dst.s_addr, IPPROTO_UDP, tl)));
	peer_deliver(m);
}

static void
peer_udp_reply6(struct ip6_hdr *ip6, struct udphdr *uh)
{
	struct mbuf *m = m_gethdr(0, MT_DATA);
	struct ip6_hdr *rip6 = mtod(m, struct ip6_hdr *);
	struct udphdr *ruh = (struct udphdr *)(rip6 + 1);
	int tl = sizeof(struct udphdr) + NTP_LEN;

	bzero(rip6, sizeof(*rip6));
	rip6->ip6_flow = htonl(0x60000000);
	rip6->ip6_plen = htons((u_short)tl);
	rip6->ip6_nxt = IPPROTO_UDP;
	rip6->ip6_hlim = IPV6_DEFHLIM;
	rip6->ip6_src = ip6->ip6_dst;
	rip6->ip6_dst = ip6->ip6_src;
	peer_udp_fill(ruh, uh);
	ruh->uh_sum = udp_sum_field(in_cksum_buf(ruh, tl, in6_pseudo_sum(
	    &rip6->ip6_src, &rip6->ip6_dst, IPPROTO_UDP, tl)));
	m->m_len = sizeof(*rip6) + tl;
	peer_deliver(m);
}

static void
peer_icmp_echo(int type, u_short id, u_short seq, const u_char *data, int dlen)
{
	int tl = sizeof(struct icmp) + dlen;
	struct mbuf *m = peer_pkt4(IPPROTO_ICMP, tl);
	struct icmp *icp = (struct icmp *)(mtod(m, struct ip *) + 1);

	icp->icmp_type = (u_char)type;
	icp->icmp_code = 0;
	icp->icmp_id = id;
	icp->icmp_seq = seq;
	memcpy(icp + 1, data, dlen);
	icp->icmp_cksum = 0;
	icp->icmp_cksum = htons(in_cksum_buf(icp, tl, 0));
	peer_deliver(m);
}

void
peer_wire_input(struct mbuf *m)
{
	u_char *p = mtod(m, u_char *);

	gt_peer("receive", p);
	if ((p[0] >> 4) == 4) {
		struct ip *ip = (struct ip *)p;
		int hlen = ip->ip_hl << 2, l4len = ntohs(ip->ip_len) - hlen;
		u_char *l4 = p + hlen;

		if (ip->ip_p == IPPROTO_TCP)
			peer_tcp_input(ip, (struct tcphdr *)l4, l4len);
		else if (ip->ip_p == IPPROTO_UDP &&
		    ntohs(((struct udphdr *)l4)->uh_dport) == 123)
			peer_udp_reply4((struct udphdr *)l4);
		else if (ip->ip_p == IPPROTO_ICMP &&
		    ((struct icmp *)l4)->icmp_type == ICMP_ECHO) {
			struct icmp *icp = (struct icmp *)l4;

			peer_icmp_echo(ICMP_ECHOREPLY, icp->icmp_id,
			    icp->icmp_seq, (u_char *)(icp + 1),
			    l4len - (int)sizeof(*icp));
		}
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)p;

		if (ip6->ip6_nxt == IPPROTO_UDP &&
		    ntohs(((struct udphdr *)(ip6 + 1))->uh_dport) == 123)
			peer_udp_reply6(ip6, (struct udphdr *)(ip6 + 1));
	}
	m_freem(m);
}

/* The peer opens a connection to the guest's port. */
void
peer_tcp_connect(u_short dport, int behaviour)
{
	struct model_net *mn = curnet();
	struct peer_conn *pc = peer_alloc(behaviour == PEER_SSH_CLIENT_RESET ?
	    PC_SSH_CLIENT : PC_CLOSED_CLIENT);

	if (++peer_port[mn->cpu] >= 40000 + mn->cpu * 5000 + 4000)
		peer_port[mn->cpu] = (u_short)(40000 + mn->cpu * 5000);
	pc->pport = peer_port[mn->cpu];
	pc->gport = dport;
	pc->snd_nxt = peer_new_iss();
	peer_tcp_send(pc, TH_SYN, pc->snd_nxt, NULL, 0, 1);
	pc->snd_nxt++;
}

void
peer_icmp_ping(u_short seq)
{
	u_char data[56];
	int i;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = (u_char)i;
	peer_icmp_echo(ICMP_ECHO, htons(0x4242), htons(seq), data,
	    sizeof(data));
}

int
peer_idle(void)
{
	struct model_net *mn = curnet();
	int i;

	for (i = 0; i < NPEER; i++)
		if (mn->peers[i].kind != PC_FREE)
			return (0);
	return (1);
}
