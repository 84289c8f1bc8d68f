/*
 * Packet buffers with FreeBSD 10.4's nesting (sys/sys/mbuf.h): the header in
 * m_hdr, the packet header in M_dat.MH.MH_pkthdr.  The model keeps every
 * packet in one mbuf, so MSIZE is larger than FreeBSD's 256.
 */
#ifndef _SYS_MBUF_H_
#define _SYS_MBUF_H_

#include <sys/types.h>

struct ifnet;
struct m_tag;

#define MSIZE 2048

struct m_hdr {
	struct mbuf *mh_next;
	struct mbuf *mh_nextpkt;
	caddr_t mh_data;
	int32_t mh_len;
	uint32_t mh_type:8,
	    mh_flags:24;
};

struct pkthdr {
	struct ifnet *rcvif;
	SLIST_HEAD(packet_tags, m_tag) tags;
	int32_t len;
	uint32_t flowid;
	uint64_t csum_flags;
	uint16_t fibnum;
	uint8_t cosqos;
	uint8_t rsstype;
	uint8_t l2hlen;
	uint8_t l3hlen;
	uint8_t l4hlen;
	uint8_t l5hlen;
	union {
		uint8_t eigth[8];
		uint16_t sixteen[4];
		uint32_t thirtytwo[2];
		uint64_t sixtyfour[1];
		uintptr_t unintptr[1];
		void *ptr;
	} PH_per;
	union {
		uint8_t eigth[8];
		uint16_t sixteen[4];
		uint32_t thirtytwo[2];
		uint64_t sixtyfour[1];
		uintptr_t unintptr[1];
		void *ptr;
	} PH_loc;
};
#define csum_data PH_per.thirtytwo[1]

struct m_ext {
	caddr_t ext_buf;
	void (*ext_free)(struct mbuf *, void *, void *);
	void *ext_arg1;
	void *ext_arg2;
	u_int ext_size;
	int ext_type;
	volatile u_int *ref_cnt;
};

#define MLEN ((int)(MSIZE - sizeof(struct m_hdr)))
#define MHLEN ((int)(MLEN - sizeof(struct pkthdr)))

struct mbuf {
	struct m_hdr m_hdr;
	union {
		struct {
			struct pkthdr MH_pkthdr;
			union {
				struct m_ext MH_ext;
				char MH_databuf[MHLEN];
			} MH_dat;
		} MH;
		char M_databuf[MLEN];
	} M_dat;
};

#define m_next m_hdr.mh_next
#define m_len m_hdr.mh_len
#define m_data m_hdr.mh_data
#define m_type m_hdr.mh_type
#define m_flags m_hdr.mh_flags
#define m_nextpkt m_hdr.mh_nextpkt
#define m_pkthdr M_dat.MH.MH_pkthdr
#define m_pktdat M_dat.MH.MH_dat.MH_databuf

#define mtod(m, t) ((t)((m)->m_data))

#define MT_DATA 1
#define M_PKTHDR 0x00000002

#define CSUM_DATA_VALID 0x00000400
#define CSUM_PSEUDO_HDR 0x00000800

struct mbuf *m_gethdr(int how, short type);
void m_freem(struct mbuf *m);
/* Room left in front of the data, for prepending headers. */
#define M_LEADINGSPACE(m) ((m)->m_data - (m)->m_pktdat)

#endif
