#!/bin/bash
# Profile one target under one load, with the same pinning and configuration
# as run.sh, in three phases of SECONDS each: perf stat (CPU time, context
# switches per message), perf record (cpu-clock samples, DWARF call
# graphs), strace -c (system calls per message).
#
#   bench/profile.sh TARGET [echo|bulk|connrate] [SECONDS]
#
# Writes bench/out/profile-TARGET-LOAD/ (per-message.txt, self.txt,
# dso.txt, callers.txt, perf.data). Needs perf (Debian: linux-perf) and
# strace. Every process is stopped by PID; every phase is bounded.
set -u

WSGB_BENCH=$(cd "$(dirname "$0")" && pwd)
WSGB_TOP=$(dirname "$WSGB_BENCH")
target=${1:?usage: bench/profile.sh TARGET [echo|bulk|connrate] [SECONDS]}
load=${2:-echo}
secs=${3:-8}

WSGB_PROXY_CPU=${WSGB_PROXY_CPU:-0}
WSGB_LOAD_CPU=${WSGB_LOAD_CPU:-1}
WSGB_NICE=${WSGB_NICE:-0}
WSGB_MODULE=${WSGB_MODULE:-$WSGB_TOP/.libs/mod_ws_gateway.so}
WSGB_ECHO=$WSGB_BENCH/wsgb-echo
WSGB_LOAD=$WSGB_BENCH/wsgb-load
WSGB_HTTPD_TPC=128
WSGB_HTTPD_SERVERS=48
WSGB_HTTPD_WORKERS=$((WSGB_HTTPD_TPC * WSGB_HTTPD_SERVERS))
WSGB_HTTPD=$(apxs -q SBINDIR)/$(apxs -q TARGET)
WSGB_NGINX=$(command -v nginx)
WSGB_HAPROXY=$(command -v haproxy)
out=$WSGB_BENCH/out/profile-$target-$load
mkdir -p "$out"

wsgb_log() {
    echo "[$(date +%H:%M:%S)] $*" >&2
}
# shellcheck source=bench/wsgb_targets.sh
. "$WSGB_BENCH/wsgb_targets.sh"

command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
make -s -C "$WSGB_BENCH" >/dev/null || exit 1
trap 'wsgb_stop_pid "${lpid:-}" load; wsgb_stop_target "$target"' EXIT
trap 'exit 130' INT TERM

wsgb_start_target "$target" "$out/run" || exit 1
case $load in
echo)     args="--conns 100 --size 64" ;;
bulk)     args="--conns 4 --size 1048576 --window 2" ;;
connrate) args="--conns 32 --size 64" ;;
*) echo "unknown load $load" >&2; exit 2 ;;
esac

# One phase: the load for $secs (after 1 s of warm-up) while $@ watches the
# proxy's processes for the same $secs; the load's RESULT goes to $phase.out.
wsgb_phase() {
    local phase=$1 pids
    shift
    # shellcheck disable=SC2086
    timeout -k 5 $((secs + 40)) nice -n "$WSGB_NICE" taskset -c "$WSGB_LOAD_CPU" \
        "$WSGB_LOAD" "$load" $args --port "$WSGB_PORT" --warmup 1 \
        --duration "$secs" ${WSGB_PID:+--cpu-pid "$WSGB_PID"} \
        >"$out/$phase.out" 2>&1 &
    lpid=$!
    sleep 1
    pids=$(wsgb_tree_pids "${WSGB_PID:-$WSGB_BPID}" | paste -sd, -)
    "$@" "$pids" >"$out/$phase.log" 2>&1
    wait "$lpid"
    lpid=""
}
wsgb_perf_stat() {
    timeout -k 5 $((secs + 20)) perf stat -e task-clock,context-switches,cpu-migrations,page-faults \
        -p "$1" -- sleep "$secs"
}
wsgb_perf_record() {
    timeout -k 5 $((secs + 20)) perf record -F 999 --call-graph dwarf,16384 \
        -o "$out/perf.data" -p "$1" -- sleep "$secs"
}
wsgb_strace() {
    local p args=""
    for p in $(echo "$1" | tr ',' ' '); do args="$args -p $p"; done
    # shellcheck disable=SC2086
    timeout -s INT -k 5 "$secs" strace -c -f $args
}

wsgb_phase stat wsgb_perf_stat
wsgb_phase record wsgb_perf_record
wsgb_phase strace wsgb_strace

perf report -i "$out/perf.data" --stdio --no-children --sort sym \
    -g none --percent-limit 0.3 >"$out/self.txt" 2>/dev/null
perf report -i "$out/perf.data" --stdio --no-children --sort dso \
    -g none >"$out/dso.txt" 2>/dev/null
perf report -i "$out/perf.data" --stdio --children --sort sym \
    -g caller,0.5,callee --percent-limit 2 >"$out/callers.txt" 2>/dev/null

# Per message (echo, connrate: per message or cycle; bulk: per MB).
{
    unit=$(awk '/^RESULT/ {for (i = 1; i <= NF; i++) if ($i ~ /^(msgs|cycles)=/) {split($i, a, "="); n = a[2]}
                           if ($0 ~ /mode=bulk/) for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) {split($i, a, "="); n = a[2] / 1e6}
                           print n}' "$out/stat.out")
    echo "perf stat (per $( [ "$load" = bulk ] && echo MB || echo message), $unit in the window):"
    awk -v n="$unit" '/task-clock/ { gsub(",", "", $1); printf "  %-18s %10.2f us\n", "cpu time", $1 / n * 1000 }
        /context-switches|cpu-migrations|page-faults/ { gsub(",", "", $1); printf "  %-18s %10.2f\n", $2, $1 / n }' "$out/stat.log"
    unit=$(awk '/^RESULT/ {for (i = 1; i <= NF; i++) if ($i ~ /^(msgs|cycles)=/) {split($i, a, "="); n = a[2]}
                           if ($0 ~ /mode=bulk/) for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) {split($i, a, "="); n = a[2] / 1e6}
                           print n}' "$out/strace.out")
    echo "system calls under strace (per unit, $unit in the window; strace slows the proxy):"
    awk -v n="$unit" '$0 ~ /^-/ {sep++; next} sep == 1 && NF >= 5 {
        printf "  %-16s %8.2f\n", $NF, $4 / n }' "$out/strace.log" | sort -k2 -rn | head -12
} | tee "$out/per-message.txt"
grep -E '^ +[0-9]' "$out/dso.txt" | head -8
grep -E '^ +[0-9]' "$out/self.txt" | grep -v '\[k\]' | head -25
echo "full reports in $out"
