/* What gcc itself says about the model guest's structures: compiled (never run) with the model
 * kernel's headers and ABI flags; the symbols tests read the two sections back with objcopy.
 *   .facts:    records of { char what[96]; unsigned long value; } for sizes and offsets
 *   .bitfacts: records of { char what[96]; unsigned char bytes[64]; }: an object whose one
 *              bitfield is all ones, the rest zero, so the set bits show where the field lies. */
#include <model/kern.h>
#include <netinet/in_pcb.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/tcp_var.h>
#include <net/if_var.h>
#include <sys/mbuf.h>
#include <sys/sdt.h>
#include <sys/socketvar.h>
#include <sys/protosw.h>
#include <sys/proc.h>
#include <sys/pcpu.h>

struct fact {
	char what[96];
	unsigned long value;
};

#define SIZE(T) { "size " #T, sizeof(T) }
#define OFF(T, P) { "offset " #T " " #P, offsetof(T, P) }

__attribute__((section(".facts"), used)) static const struct fact facts[] = {
	SIZE(struct tcpcb),
	OFF(struct tcpcb, t_inpcb),
	OFF(struct tcpcb, t_state),
	OFF(struct tcpcb, t_flags),
	OFF(struct tcpcb, snd_nxt),
	OFF(struct tcpcb, rcv_nxt),
	OFF(struct tcpcb, snd_cwnd),
	SIZE(struct sdt_probe),
	OFF(struct sdt_probe, version),
	OFF(struct sdt_probe, prov),
	OFF(struct sdt_probe, probe_entry),
	OFF(struct sdt_probe, argtype_list),
	OFF(struct sdt_probe, mod),
	OFF(struct sdt_probe, func),
	OFF(struct sdt_probe, name),
	OFF(struct sdt_probe, id),
	OFF(struct sdt_probe, n_args),
	OFF(struct sdt_probe, sdtp_lf),
	SIZE(struct sdt_argtype),
	SIZE(struct sdt_provider),
	SIZE(struct inpcb),
	OFF(struct inpcb, inp_ppcb),
	OFF(struct inpcb, inp_socket),
	OFF(struct inpcb, inp_vflag),
	OFF(struct inpcb, inp_inc.inc_ie.ie_fport),
	OFF(struct inpcb, inp_inc.inc_ie.ie_lport),
	OFF(struct inpcb, inp_inc.inc_ie.ie_dependfaddr.ie46_foreign.ia46_addr4),
	OFF(struct inpcb, inp_inc.inc_ie.ie_dependladdr.ie6_local),
	SIZE(struct ip),
	OFF(struct ip, ip_len),
	OFF(struct ip, ip_src),
	OFF(struct ip, ip_dst),
	SIZE(struct tcphdr),
	OFF(struct tcphdr, th_flags),
	OFF(struct tcphdr, th_win),
	SIZE(struct mbuf),
	OFF(struct mbuf, m_hdr.mh_data),
	OFF(struct mbuf, m_hdr.mh_len),
	OFF(struct mbuf, M_dat.MH.MH_pkthdr.rcvif),
	OFF(struct mbuf, M_dat.MH.MH_pkthdr.len),
	SIZE(struct ifnet),
	OFF(struct ifnet, if_xname),
	OFF(struct ifnet, if_index),
	OFF(struct ifnet, if_flags),
	OFF(struct ifnet, if_output),
	SIZE(struct socket),
	OFF(struct socket, so_type),
	OFF(struct socket, so_pcb),
	OFF(struct socket, so_proto),
	OFF(struct protosw, pr_protocol),
	OFF(struct protosw, pr_usrreqs),
	OFF(struct thread, td_proc),
	OFF(struct thread, td_tid),
	OFF(struct thread, td_name),
	OFF(struct proc, p_pid),
	OFF(struct proc, p_comm),
	OFF(struct pcpu, pc_curthread),
};

struct bitfact {
	char what[96];
	union {
		unsigned char bytes[64];
		struct ip ip;
		struct tcphdr th;
		struct m_hdr mh;
	} u;
};

#define BITS(T, MEMBER, P) { "bits " #T " " #P, { .MEMBER.P = -1 } }

#pragma GCC diagnostic ignored "-Woverflow"
__attribute__((section(".bitfacts"), used)) static const struct bitfact bitfacts[] = {
	BITS(struct ip, ip, ip_hl),
	BITS(struct ip, ip, ip_v),
	BITS(struct tcphdr, th, th_x2),
	BITS(struct tcphdr, th, th_off),
	BITS(struct m_hdr, mh, mh_type),
	BITS(struct m_hdr, mh, mh_flags),
};
