#!/usr/bin/env bash
# Benchmark of the symbols crate against drgn, gdb and pahole: each opens Debian's 6.1 cloud
# kernel vmlinux (~220 MB of DWARF 5) in a fresh process and resolves the full layout of one
# struct. Prints per-run figures and a median table (wall seconds, peak RSS MB).
#
#   symbols/bench.sh            # RUNS=5, TYPE='struct tcp_sock'
#   RUNS=7 TOOLS="symbols drgn" symbols/bench.sh
#
# "cold" runs first evict the vmlinux from the page cache (dd iflag=nocache, this file only);
# "warm" runs find it cached. Every run is a new process either way.
set -euo pipefail

RUNS=${RUNS:-5}
TYPE=${TYPE:-struct tcp_sock}
TOOLS=${TOOLS:-symbols drgn pahole gdb}
MODES=${MODES:-cold warm}
CACHE=${SYMBOLS_BENCH_CACHE:-$HOME/.cache/guestrace-symbols}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-symbols}

find_vmlinux() {
    ls "$CACHE"/root/usr/lib/debug/boot/vmlinux-6.1.0-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1
}

vmlinux=$(find_vmlinux)
if [ -z "$vmlinux" ]; then
    mkdir -p "$CACHE"
    pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-dbg$'
    pkg=$(apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -n 1)
    if [ -z "$pkg" ]; then
        apt-get update -qq
        pkg=$(apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -n 1)
    fi
    [ -n "$pkg" ] || { echo "bench.sh: no linux-image-6.1.0-*-cloud-amd64-dbg package found" >&2; exit 1; }
    echo "fetching $pkg into $CACHE" >&2
    (cd "$CACHE" && apt-get download "$pkg" && dpkg-deb -x "$pkg"_*.deb root && rm -f "$pkg"_*.deb)
    vmlinux=$(find_vmlinux)
fi
echo "vmlinux: $vmlinux ($(du -h "$vmlinux" | cut -f1))" >&2

command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
for tool in $TOOLS; do
    case $tool in
        drgn) python3 -c 'import drgn' 2>/dev/null || pip install -q drgn ;;
        pahole) command -v pahole >/dev/null || apt-get install -y -qq dwarves >/dev/null ;;
        gdb) command -v gdb >/dev/null || apt-get install -y -qq gdb >/dev/null ;;
        symbols) (cd "$ROOT" && cargo build -q --release -p symbols --example ptype) ;;
    esac
done
ptype="$CARGO_TARGET_DIR/release/examples/ptype"
struct=${TYPE#struct }

command_for() {
    case $1 in
        symbols) echo "$ptype $vmlinux '$TYPE'" ;;
        drgn) echo "python3 $HERE/benches/drgn_layout.py $vmlinux '$TYPE'" ;;
        pahole) echo "pahole -C $struct $vmlinux" ;;
        gdb) echo "gdb -batch -nx -ex 'ptype /o $TYPE' $vmlinux" ;;
    esac
}

results=$(mktemp)
trap 'rm -f "$results" "$results.one"' EXIT
for run in $(seq "$RUNS"); do
    for mode in $MODES; do
        for tool in $TOOLS; do
            cmd=$(command_for "$tool")
            if [ "$mode" = cold ]; then
                dd if="$vmlinux" iflag=nocache count=0 status=none
            else
                cat "$vmlinux" >/dev/null
            fi
            if ! /usr/bin/time -o "$results.one" -f '%e %M %U %S' bash -c "$cmd" >/dev/null 2>&1; then
                echo "bench.sh: $tool failed: $cmd" >&2
                exit 1
            fi
            read -r wall rss user sys <"$results.one"
            echo "$tool $mode $wall $rss $user $sys" >>"$results"
            echo "run $run $mode $tool: ${wall} s wall, $((rss / 1024)) MB peak, ${user}+${sys} s CPU" >&2
        done
    done
done

echo
echo "| tool | page cache | median wall (s) | median CPU user+sys (s) | median peak RSS (MB) | runs |"
echo "|---|---|---|---|---|---|"
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    tool, mode, wall, rss, user, sys_ = line.split()
    rows.setdefault((tool, mode), []).append((float(wall), int(rss) / 1024, float(user) + float(sys_)))
for (tool, mode), runs in rows.items():
    wall = statistics.median(r[0] for r in runs)
    rss = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    print(f"| {tool} | {mode} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {len(runs)} |")
PY
