/* Per-CPU mbuf pools: a fixed number of single-buffer packets per CPU. */
#include <model/kern.h>

void
mbuf_init_cpu(struct model_net *mn)
{
	int i;

	mn->mfree = NULL;
	for (i = NMBUF - 1; i >= 0; i--) {
		mn->mbufs[i].m_next = mn->mfree;
		mn->mfree = &mn->mbufs[i];
	}
}

struct mbuf *
m_gethdr(int how __unused, short type)
{
	struct model_net *mn = curnet();
	struct mbuf *m = mn->mfree;

	if (m == NULL)
		panic("cpu%d: out of mbufs", mn->cpu);
	mn->mfree = m->m_next;
	mn->mbufs_out++;
	bzero(&m->m_hdr, sizeof(m->m_hdr));
	bzero(&m->m_pkthdr, sizeof(m->m_pkthdr));
	m->m_type = MT_DATA;
	m->m_flags = M_PKTHDR;
	/* Leave room in front for the headers the lower layers prepend. */
	m->m_data = m->m_pktdat + 128;
	return (m);
}

void
m_freem(struct mbuf *m)
{
	struct model_net *mn = curnet();

	if (m == NULL)
		return;
	m->m_type = 0;
	m->m_nextpkt = NULL;
	m->m_next = mn->mfree;
	mn->mfree = m;
	mn->mbufs_out--;
}
