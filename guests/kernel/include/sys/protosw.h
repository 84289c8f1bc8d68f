/* Protocol switch and user-request table (sys/protosw.h). */
#ifndef _SYS_PROTOSW_H_
#define _SYS_PROTOSW_H_

#include <sys/types.h>

struct mbuf;
struct socket;
struct sockaddr;
struct thread;
struct uio;
struct domain;
struct ifnet;

typedef void pr_input_t(struct mbuf *, int);

struct protosw {
	short pr_type;
	struct domain *pr_domain;
	short pr_protocol;
	short pr_flags;
	pr_input_t *pr_input;
	int (*pr_output)(struct mbuf *, struct socket *, ...);
	void (*pr_ctlinput)(int, struct sockaddr *, void *);
	int (*pr_ctloutput)(struct socket *, void *);
	void (*pr_init)(void);
	void (*pr_destroy)(void);
	void (*pr_fasttimo)(void);
	void (*pr_slowtimo)(void);
	void (*pr_drain)(void);
	struct pr_usrreqs *pr_usrreqs;
};

struct pr_usrreqs {
	void (*pru_abort)(struct socket *so);
	int (*pru_accept)(struct socket *so, struct sockaddr **nam);
	int (*pru_attach)(struct socket *so, int proto, struct thread *td);
	int (*pru_bind)(struct socket *so, struct sockaddr *nam,
	    struct thread *td);
	int (*pru_connect)(struct socket *so, struct sockaddr *nam,
	    struct thread *td);
	int (*pru_connect2)(struct socket *so1, struct socket *so2);
	int (*pru_control)(struct socket *so, u_long cmd, caddr_t data,
	    struct ifnet *ifp, struct thread *td);
	void (*pru_detach)(struct socket *so);
	int (*pru_disconnect)(struct socket *so);
	int (*pru_listen)(struct socket *so, int backlog, struct thread *td);
	int (*pru_peeraddr)(struct socket *so, struct sockaddr **nam);
	int (*pru_rcvd)(struct socket *so, int flags);
	int (*pru_rcvoob)(struct socket *so, struct mbuf *m, int flags);
	int (*pru_send)(struct socket *so, int flags, struct mbuf *m,
	    struct sockaddr *addr, struct mbuf *control, struct thread *td);
	int (*pru_sense)(struct socket *so, void *sb);
	int (*pru_shutdown)(struct socket *so);
	int (*pru_flush)(struct socket *so, int direction);
	int (*pru_sockaddr)(struct socket *so, struct sockaddr **nam);
	int (*pru_sosend)(struct socket *so, struct sockaddr *addr,
	    struct uio *uio, struct mbuf *top, struct mbuf *control,
	    int flags, struct thread *td);
	int (*pru_soreceive)(struct socket *so, struct sockaddr **paddr,
	    struct uio *uio, struct mbuf **mp0, struct mbuf **controlp,
	    int *flagsp);
	int (*pru_sopoll)(struct socket *so, int events, void *cred,
	    struct thread *td);
	void (*pru_sosetlabel)(struct socket *so);
	void (*pru_close)(struct socket *so);
};

#endif
