#pragma D option quiet
tcp:::send
{
    printf("%s %5d -> %-5d %6d %s%s%s%s%s\n", tcp_state_string[args[3]->tcps_state],
        args[4]->tcp_sport, args[4]->tcp_dport, args[2]->ip_plength - args[4]->tcp_offset,
        args[4]->tcp_flags & TH_FIN ? "FIN|" : "", args[4]->tcp_flags & TH_SYN ? "SYN|" : "",
        args[4]->tcp_flags & TH_RST ? "RST|" : "", args[4]->tcp_flags & TH_PUSH ? "PUSH|" : "",
        args[4]->tcp_flags & TH_ACK ? "ACK" : "");
}
