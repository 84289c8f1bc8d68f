/*
 * The two interfaces: lo0, which loops packets back through the netisr
 * queue, and em0, whose wire leads to the simulated remote peers (peer.c).
 * Also the CPU's netisr queue, drained as the "intr" process.
 */
#include <model/kern.h>

static struct ifnet lo0_ifnet, em0_ifnet;
struct ifnet *lo0ifp = &lo0_ifnet;
struct ifnet *em0ifp = &em0_ifnet;

struct in_addr in_loopback, in_em0, in_gateway;
struct in6_addr in6_loopback, in6_em0_ll;

static int looutput(struct ifnet *, struct mbuf *, const struct sockaddr *,
    struct route *);
static int em_output(struct ifnet *, struct mbuf *, const struct sockaddr *,
    struct route *);

static struct in_addr
mk4(u_char a, u_char b, u_char c, u_char d)
{
	struct in_addr ia;
	u_char *p = (u_char *)&ia.s_addr;

	p[0] = a;
	p[1] = b;
	p[2] = c;
	p[3] = d;
	return (ia);
}

/* The remote peer each CPU talks to: 10.0.2.2 for cpu0, 10.0.2.3 for cpu1. */
struct in_addr
peer_addr4(int cpu)
{
	return (mk4(10, 0, 2, (u_char)(2 + cpu)));
}

/* fe80::2 (cpu0), fe80::3 (cpu1), held with em0's zone embedded. */
struct in6_addr
peer_addr6(int cpu)
{
	struct in6_addr a;

	bzero(&a, sizeof(a));
	a.s6_addr[0] = 0xfe;
	a.s6_addr[1] = 0x80;
	a.s6_addr[15] = (u_char)(2 + cpu);
	in6_setscope(&a, em0ifp);
	return (a);
}

static void
if_setup(struct ifnet *ifp, const char *name, const char *dname, int unit,
    u_short index, int flags, u_long mtu,
    int (*output)(struct ifnet *, struct mbuf *, const struct sockaddr *,
    struct route *))
{
	int i;

	for (i = 0; name[i] && i < IFNAMSIZ - 1; i++)
		ifp->if_xname[i] = name[i];
	ifp->if_dname = dname;
	ifp->if_dunit = unit;
	ifp->if_index = index;
	ifp->if_flags = flags;
	ifp->if_mtu = mtu;
	ifp->if_output = output;
	ifp->if_refcount = 1;
}

void
if_init_all(void)
{
	static const u_char em0_ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
	    0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56 };

	if_setup(em0ifp, "em0", "em", 0, 1,
	    IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_SIMPLEX | IFF_MULTICAST,
	    1500, em_output);
	/* No receive checksum offload: tcp_input verifies in software. */
	em0ifp->if_capabilities = IFCAP_RXCSUM | IFCAP_TXCSUM;
	em0ifp->if_capenable = 0;
	em0ifp->if_addrlen = 6;
	em0ifp->if_hwaddr[0] = 0x52;
	em0ifp->if_hwaddr[1] = 0x54;
	em0ifp->if_hwaddr[3] = 0x12;
	em0ifp->if_hwaddr[4] = 0x34;
	em0ifp->if_hwaddr[5] = 0x56;
	if_setup(lo0ifp, "lo0", "lo", 0, 2,
	    IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_MULTICAST, 16384,
	    looutput);
	lo0ifp->if_capabilities = lo0ifp->if_capenable =
	    IFCAP_RXCSUM | IFCAP_TXCSUM;
	in_loopback = mk4(127, 0, 0, 1);
	in_em0 = mk4(10, 0, 2, 15);
	in_gateway = mk4(10, 0, 2, 2);
	bzero(&in6_loopback, sizeof(in6_loopback));
	in6_loopback.s6_addr[15] = 1;
	memcpy(in6_em0_ll.s6_addr, em0_ll, 16);
	in6_setscope(&in6_em0_ll, em0ifp);
}

void
netisr_queue(struct mbuf *m)
{
	struct model_net *mn = curnet();

	m->m_nextpkt = NULL;
	if (mn->nq_tail != NULL)
		mn->nq_tail->m_nextpkt = m;
	else
		mn->nq_head = m;
	mn->nq_tail = m;
}

/* lo0 marks its packets' checksums as verified, as if_loop's hwassist does. */
static __noinline int
looutput(struct ifnet *ifp, struct mbuf *m, const struct sockaddr *dst __unused,
    struct route *ro __unused)
{
	wire_check(m, "lo0");
	m->m_pkthdr.rcvif = ifp;
	m->m_pkthdr.csum_flags = CSUM_DATA_VALID | CSUM_PSEUDO_HDR;
	m->m_pkthdr.csum_data = 0xffff;
	ifp->if_data.ifi_opackets++;
	netisr_queue(m);
	return (0);
}

static __noinline int
em_output(struct ifnet *ifp, struct mbuf *m, const struct sockaddr *dst __unused,
    struct route *ro __unused)
{
	ifp->if_data.ifi_opackets++;
	wire_check(m, "em0 out");
	peer_wire_input(m);
	return (0);
}

/* A CPU spins this long per network event, so traffic stays modest. */
__noinline void
model_pace(void)
{
	u_long i, n = curnet()->pace;

	for (i = 0; i < n; i++)
		__asm__ volatile("pause");
}

/* Deliver every queued packet, as the netisr thread ("intr"). */
int
netisr_drain(void)
{
	struct model_net *mn = curnet();
	int n = 0;

	while (mn->nq_head != NULL) {
		struct mbuf *m = mn->nq_head;
		struct thread *td;

		mn->nq_head = m->m_nextpkt;
		if (mn->nq_head == NULL)
			mn->nq_tail = NULL;
		m->m_nextpkt = NULL;
		clock_advance(1);
		model_pace();
		td = thread_switch(P_INTR);
		m->m_pkthdr.rcvif->if_data.ifi_ipackets++;
		if ((mtod(m, u_char *)[0] >> 4) == 6)
			ip6_input(m);
		else
			ip_input(m);
		thread_restore(td);
		n++;
	}
	return (n);
}
