/* Prints what the compiler itself says about the layouts in kernel_like.h, one fact a line,
 * for the symbols tests to compare with the DWARF index:
 *   size TYPE N | align TYPE N | offset TYPE PATH N | bits TYPE PATH BITOFFSET WIDTH
 *   func NAME ADDR | global NAME ADDR | enum NAME VALUE | version TEXT */
#include <stdio.h>
#include <string.h>
#include "kernel_like.h"

const char version[] = "guestrace-symbols-test 1.0 (layouts.c)";
struct tcpcb tcb0;
static int static_counter;
int *volatile keep_static = &static_counter;
struct ifnet ifnet0;
/* Compilers emit DWARF only for types something uses: these globals use the rest. */
struct anon_members anon0;
struct flex *flex0;
struct packed_pair pair0;
tcpcb_t *tcbp0;
short short0;
struct ip ip0;
struct tcphdr th0;
struct mbuf *m0;
struct odd_bits odd0;
u_long ulong0;
caddr_t caddr0;
struct big_offsets *big0;

long hidden_offset_h_tp(void);

#define SIZE(T) printf("size %s %zu\nalign %s %zu\n", #T, sizeof(T), #T, _Alignof(T))
#define OFF(T, P) printf("offset %s %s %zu\n", #T, #P, offsetof(T, P))

/* Bit position of a bitfield: set it to all ones in a zeroed object and look at the bytes. */
#define BITS(T, P) do {                                                     \
	T x_;                                                               \
	memset(&x_, 0, sizeof(x_));                                         \
	x_.P = -1;                                                          \
	const unsigned char *b_ = (const unsigned char *)&x_;               \
	int first_ = -1, width_ = 0;                                        \
	for (size_t i_ = 0; i_ < sizeof(x_) * 8; i_++)                      \
		if (b_[i_ / 8] & (1u << (i_ % 8))) {                        \
			if (first_ < 0) first_ = (int)i_;                   \
			width_++;                                           \
		}                                                           \
	printf("bits %s %s %d %d\n", #T, #P, first_, width_);              \
} while (0)

__attribute__((noinline)) int sosend_like(struct socket *so, struct sockaddr *addr,
    struct uio *uio, struct mbuf *top, struct mbuf *control, int flags, struct thread *td)
{
	return (so != 0) + (addr != 0) + (uio != 0) + (top != 0) + (control != 0) + flags + (td != 0);
}

static inline int triple_plus_one(int v)
{
	return v * 3 + 1;
}

int (*volatile out_of_line)(int) = triple_plus_one;

/* A function with an ELF symbol and no DWARF, like the kernel's assembly routines. */
__asm__(".text\n.globl asm_only\n.type asm_only, @function\nasm_only:\n\tret\n.size asm_only, 1\n");
void asm_only(void);
void (*volatile asm_only_ptr)(void) = asm_only;

static __attribute__((noinline)) int local_helper(int x)
{
	return x + static_counter;
}

int main(int argc, char **argv)
{
	(void)argv;
	SIZE(struct ip);
	OFF(struct ip, ip_tos);
	OFF(struct ip, ip_len);
	OFF(struct ip, ip_sum);
	OFF(struct ip, ip_src);
	OFF(struct ip, ip_dst);
	BITS(struct ip, ip_hl);
	BITS(struct ip, ip_v);
	SIZE(struct tcphdr);
	OFF(struct tcphdr, th_ack);
	OFF(struct tcphdr, th_flags);
	OFF(struct tcphdr, th_urp);
	BITS(struct tcphdr, th_x2);
	BITS(struct tcphdr, th_off);
	SIZE(struct in6_addr);
	SIZE(struct in_endpoints);
	OFF(struct in_endpoints, ie_lport);
	OFF(struct in_endpoints, ie_dependfaddr.ie46_foreign.ia46_addr4);
	OFF(struct in_endpoints, ie_dependladdr.ie6_local.__u6_addr.__u6_addr8[3]);
	SIZE(struct in_conninfo);
	SIZE(struct inpcb);
	OFF(struct inpcb, inp_ppcb);
	OFF(struct inpcb, inp_vflag);
	OFF(struct inpcb, inp_inc.inc_ie.ie_fport);
	OFF(struct inpcb, inp_inc.inc_ie.ie_dependfaddr.ie46_foreign.ia46_addr4.s_addr);
	SIZE(struct tcpcb);
	SIZE(tcpcb_t);
	OFF(struct tcpcb, t_state);
	OFF(struct tcpcb, snd_nxt);
	OFF(struct tcpcb, snd_cwnd);
	OFF(struct tcpcb, t_srtt);
	OFF(struct tcpcb, rcv_scale);
	OFF(struct tcpcb, t_kind);
	OFF(struct tcpcb, t_hidden);
	OFF(tcpcb_t, snd_ssthresh);
	SIZE(enum tcp_state_like);
	SIZE(struct m_hdr);
	OFF(struct m_hdr, mh_len);
	BITS(struct m_hdr, mh_type);
	BITS(struct m_hdr, mh_flags);
	SIZE(struct pkthdr);
	SIZE(struct mbuf);
	OFF(struct mbuf, m_hdr.mh_data);
	OFF(struct mbuf, M_dat.MH.MH_pkthdr.rcvif);
	OFF(struct mbuf, M_dat.MH.MH_pkthdr.csum_flags);
	OFF(struct mbuf, M_dat.MH.MH_dat.MH_databuf);
	OFF(struct mbuf, M_dat.M_databuf[7]);
	SIZE(struct ifnet);
	OFF(struct ifnet, if_dname);
	OFF(struct ifnet, if_index);
	OFF(struct ifnet, if_output);
	OFF(struct ifnet, if_start);
	SIZE(struct anon_members);
	OFF(struct anon_members, b);
	OFF(struct anon_members, c);
	OFF(struct anon_members, d);
	OFF(struct anon_members, e);
	OFF(struct anon_members, cp);
	OFF(struct anon_members, pc);
	SIZE(struct flex);
	OFF(struct flex, grid[2][3]);
	OFF(struct flex, data);
	SIZE(struct odd_bits);
	BITS(struct odd_bits, a);
	BITS(struct odd_bits, b);
	BITS(struct odd_bits, c);
	BITS(struct odd_bits, d);
	BITS(struct odd_bits, e);
	BITS(struct odd_bits, f);
	BITS(struct odd_bits, g);
	SIZE(struct big_offsets);
	OFF(struct big_offsets, after);
	SIZE(struct packed_pair);
	OFF(struct packed_pair, i);
	SIZE(u_long);
	SIZE(unsigned long);
	SIZE(short);
	SIZE(caddr_t);
	printf("size struct hidden %ld\n", hidden_size());
	printf("offset struct hidden h_tp %ld\n", hidden_offset_h_tp());
	printf("enum TCPS_ESTABLISHED %d\nenum TCPS_TIME_WAIT %d\n", TCPS_ESTABLISHED, TCPS_TIME_WAIT);
	printf("func sosend_like %p\n", (void *)sosend_like);
	printf("func main %p\n", (void *)main);
	printf("func hidden_size %p\n", (void *)hidden_size);
	printf("func local_helper %p\n", (void *)local_helper);
	printf("elffunc asm_only %p\n", (void *)asm_only_ptr);
	printf("func triple_plus_one %p\n", (void *)out_of_line);
	printf("global tcb0 %p\n", (void *)&tcb0);
	printf("global ifnet0 %p\n", (void *)&ifnet0);
	printf("global static_counter %p\n", (void *)&static_counter);
	printf("global hidden_ptr %p\n", (void *)&hidden_ptr);
	printf("global version %p\n", (void *)version);
	printf("version %s\n", version);
	return sosend_like(0, 0, 0, 0, 0, argc, 0) + out_of_line(argc) + triple_plus_one(argc) + local_helper(argc) > 1000;
}
