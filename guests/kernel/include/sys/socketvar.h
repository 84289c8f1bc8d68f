/* Sockets, socket buffers and uio (sys/socketvar.h, sys/sockbuf.h, sys/uio.h). */
#ifndef _SYS_SOCKETVAR_H_
#define _SYS_SOCKETVAR_H_

#include <sys/types.h>

struct mbuf;
struct protosw;
struct thread;
struct sockaddr;
struct vnet;
struct ucred;
struct sigio;

struct sockbuf {
	short sb_state;
	short sb_flags;
	struct mbuf *sb_mb;
	struct mbuf *sb_mbtail;
	struct mbuf *sb_lastrecord;
	struct mbuf *sb_sndptr;
	u_int sb_sndptroff;
	u_int sb_cc;
	u_int sb_hiwat;
	u_int sb_mbcnt;
	u_int sb_mcnt;
	u_int sb_ccnt;
	u_int sb_mbmax;
	u_int sb_ctl;
	int sb_lowat;
	int sb_timeo;
};
#define SBS_CANTSENDMORE 0x0010
#define SBS_CANTRCVMORE 0x0020

struct socket {
	int so_count;
	short so_type;
	short so_options;
	short so_linger;
	short so_state;
	int so_qstate;
	void *so_pcb;
	struct vnet *so_vnet;
	struct protosw *so_proto;
	struct socket *so_head;
	TAILQ_HEAD(, socket) so_incomp;
	TAILQ_HEAD(, socket) so_comp;
	TAILQ_ENTRY(socket) so_list;
	u_short so_qlen;
	u_short so_incqlen;
	u_short so_qlimit;
	short so_timeo;
	u_short so_error;
	struct sigio *so_sigio;
	u_long so_oobmark;
	struct sockbuf so_rcv, so_snd;
	struct ucred *so_cred;
	void *so_label;
	void *so_peerlabel;
	uint32_t so_gencnt;
	void *so_emuldata;
	/* The model's own bookkeeping for its ground truth. */
	struct thread *so_owner;
	u_long so_model_sent;
	u_long so_model_rcvd;
};

#define SO_ACCEPTCONN 0x0002
#define SS_ISCONNECTED 0x0002
#define SS_ISCONNECTING 0x0004
#define SS_ISDISCONNECTING 0x0008
#define SS_NOFDREF 0x0001
#define SS_ISDISCONNECTED 0x2000

struct iovec {
	void *iov_base;
	size_t iov_len;
};

enum uio_rw { UIO_READ, UIO_WRITE };
enum uio_seg { UIO_USERSPACE, UIO_SYSSPACE, UIO_NOCOPY };

struct uio {
	struct iovec *uio_iov;
	int uio_iovcnt;
	off_t uio_offset;
	ssize_t uio_resid;
	enum uio_seg uio_segflg;
	enum uio_rw uio_rw;
	struct thread *uio_td;
};

#endif
