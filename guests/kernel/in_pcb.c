/*
 * Internet PCBs (netinet/in_pcb.c): a per-CPU pool, lookup by 4-tuple with
 * a wildcard fallback for listening and bound sockets, ephemeral ports.
 */
#include <model/kern.h>

__noinline int
in_pcballoc(struct socket *so, void *pcbinfo __unused)
{
	struct model_net *mn = curnet();
	int i;

	for (i = 0; i < NINP; i++) {
		struct inpcb *inp = &mn->inpcbs[i];

		if (inp->inp_model_used)
			continue;
		bzero(inp, sizeof(*inp));
		inp->inp_model_used = 1;
		inp->inp_socket = so;
		inp->inp_ip_ttl = IPDEFTTL;
		inp->inp_gencnt = (u_int32_t)mn->clock;
		so->so_pcb = inp;
		return (0);
	}
	panic("cpu%d: out of inpcbs", mn->cpu);
}

/* The socket lets go of its PCB; the protocol may still hold it. */
__noinline void
in_pcbdetach(struct inpcb *inp)
{
	if (inp->inp_socket != NULL)
		inp->inp_socket->so_pcb = NULL;
	inp->inp_socket = NULL;
}

__noinline void
in_pcbfree(struct inpcb *inp)
{
	bzero(inp, sizeof(*inp));
}

static int
addr_is_any(int isv6, const void *a)
{
	static const u_char zero[16];

	return (memcmp(a, zero, isv6 ? 16 : 4) == 0);
}

struct inpcb *
in_pcblookup_model(int proto, int isv6, const void *faddr, u_short fport,
    const void *laddr, u_short lport, int wildcard)
{
	struct model_net *mn = curnet();
	struct inpcb *wild = NULL;
	int alen = isv6 ? 16 : 4, i;

	for (i = 0; i < NINP; i++) {
		struct inpcb *inp = &mn->inpcbs[i];
		const void *il, *ifa;

		if (!inp->inp_model_used || inp->inp_ip_p != proto ||
		    inp->inp_lport != lport ||
		    !!(inp->inp_vflag & INP_IPV6) != isv6)
			continue;
		if ((inp->inp_flags & INP_DROPPED) &&
		    !(inp->inp_flags & INP_TIMEWAIT))
			continue;
		il = isv6 ? (const void *)&inp->in6p_laddr :
		    (const void *)&inp->inp_laddr;
		ifa = isv6 ? (const void *)&inp->in6p_faddr :
		    (const void *)&inp->inp_faddr;
		if (inp->inp_fport == fport && memcmp(ifa, faddr, alen) == 0 &&
		    memcmp(il, laddr, alen) == 0)
			return (inp);
		if (wildcard && inp->inp_fport == 0 && addr_is_any(isv6, ifa) &&
		    (addr_is_any(isv6, il) || memcmp(il, laddr, alen) == 0) &&
		    wild == NULL)
			wild = inp;
	}
	return (wild);
}

u_short
in_pcb_ephemeral(void)
{
	struct model_net *mn = curnet();

	if (mn->next_port < 49152 || mn->next_port > 65000)
		mn->next_port = (u_short)(49152 + mn->cpu * 4000);
	return (mn->next_port++);
}
