/* A small kernel of our own for lang's tests: the members the network translators read. */
struct in_addr { uint32_t s_addr; };
struct in6_addr { uint8_t s6_addr[16]; };
struct ip {
    uint8_t ip_hl:4, ip_v:4;
    uint8_t ip_tos;
    uint16_t ip_len;
    uint16_t ip_id;
    uint16_t ip_off;
    uint8_t ip_ttl;
    uint8_t ip_p;
    uint16_t ip_sum;
    struct in_addr ip_src, ip_dst;
};
struct tcphdr {
    uint16_t th_sport;
    uint16_t th_dport;
    uint32_t th_seq;
    uint32_t th_ack;
    uint8_t th_x2:4, th_off:4;
    uint8_t th_flags;
    uint16_t th_win;
    uint16_t th_sum;
    uint16_t th_urp;
};
struct inpcb {
    uint8_t inp_vflag;
    uint16_t inp_lport;
    uint16_t inp_fport;
    struct in_addr inp_laddr;
    struct in_addr inp_faddr;
    char inp_name[8];
};
struct tcpcb {
    struct inpcb *t_inpcb;
    int t_state;
    uint32_t snd_una;
};
