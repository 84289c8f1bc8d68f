#!/usr/bin/env bash
# Per-event cost of --pcap and JSON output: how long guestrace holds the model guest stopped per
# event (GUESTRACE_STATS: "guest held stopped" / stops), for the same ip probes traced
#   base:  -q -n 'ip:::send,ip:::receive { @ = count(); }'
#   pcap:  the same with --pcap (each packet read from guest memory and written)
#   text:  -q -n 'ip:::send,ip:::receive { printf(...) }' (text output to a file)
#   json:  the same printf with -O json (JSON lines to a file)
# Rows are interleaved over PASSES passes of SLICE seconds each; medians are printed.
#
#   providers/benches/capture_json.sh [path/to/release/guestrace]   (PASSES=5 SLICE=4)
set -euo pipefail
bin=${1:-target/release/guestrace}
passes=${PASSES:-5}
slice=${SLICE:-4}
work=$(mktemp -d)
trap 'kill "$boot" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" model boot > "$work/boot" 2>&1 &
boot=$!
for _ in $(seq 100); do [ -s "$work/boot" ] && break; sleep 0.1; done
read -r _ gdb _ kernel _ ram _ < "$work/boot"
target=(--gdb "$gdb" --kernel "$kernel" --ram "$ram")
fmt='printf("%s %s %d\n", args[2]->ip_saddr, args[2]->ip_daddr, args[2]->ip_plength);'

run() { # name, args...: prints µs held per stop
  local name=$1; shift
  GUESTRACE_STATS=1 timeout -s INT "$slice" "$bin" "${target[@]}" "$@" > "$work/out" 2> "$work/err" || true
  awk -v n="$name" -v s="" '/stats:/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "stops" && s == "") s = $i; if ($i == "stopped") h = $(i+1) }
       if (s > 0) printf "%s %.1f %d\n", n, h * 1e6 / s, s }' "$work/err"
}

for p in $(seq "$passes"); do
  run base -q -n 'ip:::send,ip:::receive { @ = count(); }'
  run pcap -q -n 'ip:::send,ip:::receive { @ = count(); }' --pcap "$work/cap.pcapng"
  run text -q -n "ip:::send,ip:::receive { $fmt }"
  run json -q -O json -n "ip:::send,ip:::receive { $fmt }"
done > "$work/rows"

echo "row   median µs held per stop   (stops per run)"
for r in base pcap text json; do
  grep "^$r " "$work/rows" | sort -k2 -n | awk -v r="$r" '{ v[NR] = $2; s[NR] = $3 } END { m = int((NR + 1) / 2); printf "%-5s %8.1f   (%s runs; median run %d stops)\n", r, v[m], NR, s[m] }'
done
