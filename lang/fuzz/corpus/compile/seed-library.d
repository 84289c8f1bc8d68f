/* A translator library of our own for lang's tests, shaped like the providers' dlib files. */
#pragma D depends_on provider tcp
inline uint8_t TH_FIN = 0x01;
inline uint8_t TH_SYN = 0x02;
inline uint8_t TH_RST = 0x04;
inline uint8_t TH_PUSH = 0x08;
inline uint8_t TH_ACK = 0x10;
inline int TCPS_ESTABLISHED = 4;
inline string tcp_state_string[int32_t state] =
    state == 0 ? "state-closed" :
    state == TCPS_ESTABLISHED ? "state-established" : "<unknown>";

typedef struct tcpinfo {
    uint16_t tcp_sport;
    uint16_t tcp_dport;
    uint32_t tcp_seq;
    uint8_t tcp_offset;
    uint8_t tcp_flags;
    struct tcphdr *tcp_hdr;
} tcpinfo_t;

typedef struct tcpsinfo {
    int32_t tcps_state;
    uint16_t tcps_lport;
    string tcps_name;
    uintptr_t tcps_addr;
} tcpsinfo_t;

typedef struct ipinfo {
    uint8_t ip_ver;
    uint32_t ip_plength;
} ipinfo_t;

translator tcpinfo_t < struct tcphdr *p > {
    tcp_sport = p == NULL ? 0 : ntohs(p->th_sport);
    tcp_dport = p == NULL ? 0 : ntohs(p->th_dport);
    tcp_seq = p == NULL ? -1 : ntohl(p->th_seq);
    tcp_offset = p == NULL ? -1 : (p->th_off << 2);
    tcp_flags = p == NULL ? 0 : p->th_flags;
    tcp_hdr = p;
};

translator tcpsinfo_t < struct tcpcb *p > {
    tcps_state = p == NULL ? -1 : p->t_state;
    tcps_lport = p == NULL ? 0 : ntohs(p->t_inpcb->inp_lport);
    tcps_name = p == NULL ? "" : p->t_inpcb->inp_name;
    tcps_addr = (uintptr_t)p;
};

translator ipinfo_t < uint8_t *p > {
    ip_ver = p == NULL ? 0 : ((struct ip *)p)->ip_v;
    ip_plength = p == NULL ? 0 : ntohs(((struct ip *)p)->ip_len) - (((struct ip *)p)->ip_hl << 2);
};
