/* Network interfaces (net/if_var.h, net/if.h), the members a tracer reads. */
#ifndef _NET_IF_VAR_H_
#define _NET_IF_VAR_H_

#include <sys/types.h>

struct mbuf;
struct sockaddr;
struct route;
struct vnet;
struct ifaddr;

struct ifnet {
	void *if_softc;
	void *if_l2com;
	struct vnet *if_vnet;
	TAILQ_ENTRY(ifnet) if_link;
	char if_xname[IFNAMSIZ];
	const char *if_dname;
	int if_dunit;
	u_int if_refcount;
	TAILQ_HEAD(, ifaddr) if_addrhead;
	int if_pcount;
	void *if_carp;
	void *if_bpf;
	u_short if_index;
	short if_index_reserved;
	void *if_vlantrunk;
	int if_flags;
	int if_capabilities;
	int if_capenable;
	void *if_linkmib;
	size_t if_linkmiblen;
	struct if_data {
		u_char ifi_type;
		u_char ifi_physical;
		u_char ifi_addrlen;
		u_char ifi_hdrlen;
		u_char ifi_link_state;
		u_char ifi_vhid;
		u_char ifi_baudrate_pf;
		u_char ifi_datalen;
		u_long ifi_mtu;
		u_long ifi_metric;
		u_long ifi_baudrate;
		u_long ifi_ipackets;
		u_long ifi_ierrors;
		u_long ifi_opackets;
		u_long ifi_oerrors;
		u_long ifi_collisions;
		u_long ifi_ibytes;
		u_long ifi_obytes;
	} if_data;
	int (*if_output)(struct ifnet *, struct mbuf *, const struct sockaddr *,
	    struct route *);
	void (*if_input)(struct ifnet *, struct mbuf *);
	void (*if_start)(struct ifnet *);
	int (*if_ioctl)(struct ifnet *, u_long, caddr_t);
	void (*if_init)(void *);
	u_char if_addrlen;
	u_char if_hwaddr[6];
};
#define if_mtu if_data.ifi_mtu

#define IFF_UP 0x1
#define IFF_BROADCAST 0x2
#define IFF_LOOPBACK 0x8
#define IFF_RUNNING 0x40
#define IFF_SIMPLEX 0x800
#define IFF_MULTICAST 0x8000
#define IFF_DRV_RUNNING 0x40

#define IFCAP_RXCSUM 0x00001
#define IFCAP_TXCSUM 0x00002

extern struct ifnet *lo0ifp;
extern struct ifnet *em0ifp;

#endif
