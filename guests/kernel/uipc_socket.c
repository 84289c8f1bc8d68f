/*
 * Sockets (kern/uipc_socket.c, uipc_sockbuf.c).  Every operation goes
 * through so->so_proto->pr_usrreqs, as in FreeBSD, so breakpoints on the
 * protocol entry points see the same call paths.
 */
#include <model/kern.h>

#define SQ_INCOMP 0x0800
#define SQ_COMP 0x1000

static struct socket *
soalloc(void)
{
	struct model_net *mn = curnet();
	int i;

	for (i = 0; i < NSOCK; i++) {
		struct socket *so = &mn->sockets[i];

		if (so->so_count == 0) {
			bzero(so, sizeof(*so));
			so->so_count = 1;
			so->so_rcv.sb_hiwat = 65536;
			so->so_snd.sb_hiwat = 32768;
			return (so);
		}
	}
	panic("cpu%d: out of sockets", mn->cpu);
}

static struct protosw *
pffindtype(int dom, int type)
{
	if (dom == AF_INET)
		return (type == SOCK_STREAM ? &inetsw[0] : &inetsw[1]);
	return (type == SOCK_STREAM ? &inet6sw[0] : &inet6sw[1]);
}

int
socreate(int dom, struct socket **aso, int type, int proto, struct thread *td)
{
	struct socket *so = soalloc();
	int error;

	so->so_type = (short)type;
	so->so_proto = pffindtype(dom, type);
	so->so_owner = td;
	so->so_gencnt = curnet()->clock;
	error = (*so->so_proto->pr_usrreqs->pru_attach)(so, proto, td);
	gt_attach(so);
	*aso = so;
	return (error);
}

int
sobind(struct socket *so, struct sockaddr *nam, struct thread *td)
{
	return ((*so->so_proto->pr_usrreqs->pru_bind)(so, nam, td));
}

int
solisten(struct socket *so, int backlog, struct thread *td)
{
	so->so_qlimit = (u_short)backlog;
	return ((*so->so_proto->pr_usrreqs->pru_listen)(so, backlog, td));
}

int
soconnect(struct socket *so, struct sockaddr *nam, struct thread *td)
{
	return ((*so->so_proto->pr_usrreqs->pru_connect)(so, nam, td));
}

/* A connection for a listening socket, created by the syncache. */
struct socket *
sonewconn(struct socket *head, int connstatus __unused)
{
	struct socket *so = soalloc();

	so->so_type = head->so_type;
	so->so_proto = head->so_proto;
	so->so_options = head->so_options & ~SO_ACCEPTCONN;
	so->so_owner = head->so_owner;
	so->so_gencnt = curnet()->clock;
	if ((*so->so_proto->pr_usrreqs->pru_attach)(so, 0, NULL) != 0) {
		so->so_count = 0;
		return (NULL);
	}
	gt_attach(so);
	so->so_head = head;
	so->so_qstate = SQ_INCOMP;
	head->so_incqlen++;
	return (so);
}

void
soisconnected(struct socket *so)
{
	so->so_state &= ~(SS_ISCONNECTING | SS_ISDISCONNECTING);
	so->so_state |= SS_ISCONNECTED;
	if (so->so_head != NULL && (so->so_qstate & SQ_INCOMP)) {
		so->so_qstate = SQ_COMP;
		so->so_head->so_incqlen--;
		so->so_head->so_qlen++;
	}
}

void
soisdisconnected(struct socket *so)
{
	so->so_state &= ~(SS_ISCONNECTING | SS_ISCONNECTED |
	    SS_ISDISCONNECTING);
	so->so_state |= SS_ISDISCONNECTED;
	so->so_rcv.sb_state |= SBS_CANTRCVMORE;
	so->so_snd.sb_state |= SBS_CANTSENDMORE;
}

void
socantrcvmore(struct socket *so)
{
	so->so_rcv.sb_state |= SBS_CANTRCVMORE;
}

/* The oldest completed connection of a listening socket, if any. */
struct socket *
soaccept_next(struct socket *head)
{
	struct model_net *mn = curnet();
	struct socket *best = NULL;
	int i;

	for (i = 0; i < NSOCK; i++) {
		struct socket *so = &mn->sockets[i];

		if (so->so_count && so->so_head == head &&
		    (so->so_qstate & SQ_COMP) &&
		    (best == NULL || so->so_gencnt < best->so_gencnt))
			best = so;
	}
	if (best != NULL) {
		best->so_head = NULL;
		best->so_qstate = 0;
		head->so_qlen--;
		best->so_owner = curthread;
	}
	return (best);
}

__noinline int
sosend_generic(struct socket *so, struct sockaddr *addr, struct uio *uio,
    struct mbuf *top, struct mbuf *control, int flags, struct thread *td)
{
	int error = 0;

	if (so->so_snd.sb_state & SBS_CANTSENDMORE)
		return (32);	/* EPIPE */
	while (uio->uio_resid > 0) {
		int len = uio->uio_resid > 1024 ? 1024 : (int)uio->uio_resid;

		top = m_gethdr(0, MT_DATA);
		memcpy(mtod(top, void *), (char *)uio->uio_iov->iov_base +
		    uio->uio_offset, len);
		top->m_len = len;
		uio->uio_offset += len;
		uio->uio_resid -= len;
		so->so_model_sent += len;
		error = (*so->so_proto->pr_usrreqs->pru_send)(so, flags, top,
		    addr, control, td);
		if (error)
			break;
	}
	return (error);
}

__noinline int
sosend_dgram(struct socket *so, struct sockaddr *addr, struct uio *uio,
    struct mbuf *top, struct mbuf *control, int flags, struct thread *td)
{
	int len = (int)uio->uio_resid;

	top = m_gethdr(0, MT_DATA);
	top->m_data += 64;
	memcpy(mtod(top, void *), uio->uio_iov->iov_base, len);
	top->m_len = len;
	uio->uio_resid = 0;
	so->so_model_sent += len;
	return ((*so->so_proto->pr_usrreqs->pru_send)(so, flags, top, addr,
	    control, td));
}

__noinline int
sosend(struct socket *so, struct sockaddr *addr, struct uio *uio,
    struct mbuf *top, struct mbuf *control, int flags, struct thread *td)
{
	gt_sockio("sosend", so, uio->uio_resid, 0, 0);
	return ((*so->so_proto->pr_usrreqs->pru_sosend)(so, addr, uio, top,
	    control, flags, td));
}

__noinline int
soreceive_generic(struct socket *so, struct sockaddr **psa __unused,
    struct uio *uio, struct mbuf **mp0 __unused,
    struct mbuf **controlp __unused, int *flagsp __unused)
{
	int len = (int)min((u_int)uio->uio_resid, so->so_rcv.sb_cc);

	sbcopy_out(&so->so_rcv, 0, len, (caddr_t)uio->uio_iov->iov_base +
	    uio->uio_offset);
	sbdrop(&so->so_rcv, len);
	uio->uio_offset += len;
	uio->uio_resid -= len;
	so->so_model_rcvd += len;
	return (0);
}

__noinline int
soreceive_dgram(struct socket *so, struct sockaddr **psa __unused,
    struct uio *uio, struct mbuf **mp0 __unused,
    struct mbuf **controlp __unused, int *flagsp __unused)
{
	struct mbuf *m = so->so_rcv.sb_mb;
	int len;

	if (m == NULL)
		return (EWOULDBLOCK);
	so->so_rcv.sb_mb = m->m_nextpkt;
	if (so->so_rcv.sb_mb == NULL)
		so->so_rcv.sb_mbtail = NULL;
	so->so_rcv.sb_cc -= m->m_len;
	len = (int)min((u_int)uio->uio_resid, (u_int)m->m_len);
	memcpy((caddr_t)uio->uio_iov->iov_base + uio->uio_offset,
	    mtod(m, void *), len);
	uio->uio_offset += len;
	uio->uio_resid -= len;
	so->so_model_rcvd += len;
	m_freem(m);
	return (0);
}

__noinline int
soreceive(struct socket *so, struct sockaddr **psa, struct uio *uio,
    struct mbuf **mp0, struct mbuf **controlp, int *flagsp)
{
	ssize_t resid = uio->uio_resid;
	int error;

	error = (*so->so_proto->pr_usrreqs->pru_soreceive)(so, psa, uio, mp0,
	    controlp, flagsp);
	gt_sockio("soreceive", so, resid, resid - uio->uio_resid, error);
	return (error);
}

void
sofree(struct socket *so)
{
	if (so->so_pcb != NULL)
		(*so->so_proto->pr_usrreqs->pru_detach)(so);
	so->so_count = 0;
}

int
soclose(struct socket *so)
{
	struct pr_usrreqs *pru = so->so_proto->pr_usrreqs;

	so->so_state |= SS_NOFDREF;
	if ((so->so_state & SS_ISCONNECTED) &&
	    !(so->so_state & SS_ISDISCONNECTING) && so->so_pcb != NULL)
		(*pru->pru_disconnect)(so);
	if (so->so_pcb != NULL && pru->pru_close != NULL)
		(*pru->pru_close)(so);
	gt_sock(so);
	sofree(so);
	return (0);
}

/* Socket buffers: a chain of mbufs (streams) or of records (datagrams). */
void
sbappendstream(struct sockbuf *sb, struct mbuf *m)
{
	m->m_next = NULL;
	if (sb->sb_mbtail != NULL)
		sb->sb_mbtail->m_next = m;
	else
		sb->sb_mb = m;
	sb->sb_mbtail = m;
	sb->sb_cc += m->m_len;
}

void
sbappendrecord(struct sockbuf *sb, struct mbuf *m)
{
	m->m_nextpkt = NULL;
	if (sb->sb_mbtail != NULL)
		sb->sb_mbtail->m_nextpkt = m;
	else
		sb->sb_mb = m;
	sb->sb_mbtail = m;
	sb->sb_cc += m->m_len;
}

void
sbdrop(struct sockbuf *sb, int len)
{
	while (len > 0 && sb->sb_mb != NULL) {
		struct mbuf *m = sb->sb_mb;

		if (m->m_len > len) {
			m->m_data += len;
			m->m_len -= len;
			sb->sb_cc -= len;
			return;
		}
		len -= m->m_len;
		sb->sb_cc -= m->m_len;
		sb->sb_mb = m->m_next;
		if (sb->sb_mb == NULL)
			sb->sb_mbtail = NULL;
		m_freem(m);
	}
}

void
sbcopy_out(struct sockbuf *sb, int off, int len, caddr_t dst)
{
	struct mbuf *m;

	for (m = sb->sb_mb; m != NULL && len > 0; m = m->m_next) {
		int n;

		if (off >= m->m_len) {
			off -= m->m_len;
			continue;
		}
		n = min(m->m_len - off, len);
		memcpy(dst, mtod(m, caddr_t) + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
}
