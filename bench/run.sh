#!/bin/bash
# mod_ws_gateway benchmark driver.
#
#   bench/run.sh [--quick] [--reps N] [--targets a,b,...] [--no-idle]
#                [--idle "1000 5000"] [--idle-default N | --no-idle-default]
#                [--idle-hold S] [--no-load]
#
# For each target, on loopback: start our echo backend and the proxy (its
# own configuration under bench/out/), pin the proxy to one CPU and the
# load generator and backend to the other, run identical loads, stop every
# process by PID. Each measurement is repeated (targets interleaved within
# each repetition) and reported as median [min-max]; failures are reported
# per target, never hidden. Loads: echo with 100 and with 1000 connections,
# bulk, connection rate; idle tunnels at 1000 and 5000 (servers sized for
# them); 10000 idle tunnels held 30 s under Debian's default MPM settings
# (wsgw-async, wstunnel, nginx, haproxy). Full run: 3 repetitions, about 30
# minutes; --quick: 1 repetition, short windows, idle 1000, 2000 idle under
# default settings held 5 s, about 6 minutes. --idle-hold S: hold the idle
# tunnels under default settings S seconds; --no-load: idle tests only (for
# memory work: `--targets wsgw-async --no-load --no-idle --idle-hold 5`).
#
# Targets: direct (no proxy), relay-thread and relay-epoll (bench/
# wsgb-relay: a bare TCP relay, a thread per connection or one epoll
# thread: the floor of each way to build the proxy), wsgw-tunnel, wsgw-frames (mod_ws_gateway,
# tunnels in worker threads: WSGatewayAsync Off), wsgw-async (frames mode,
# tunnels move to the child's reactor: the default under mpm_event),
# proxy-http (mod_proxy_http upgrade=websocket), wstunnel
# (mod_proxy_wstunnel, no fallback), nginx (1 worker), haproxy (1 thread).
#
# Environment: WSGB_PROXY_CPU (0), WSGB_LOAD_CPU (1), WSGB_MODULE (the .so
# of this tree), WSGB_OUT (bench/out/run-DATE), WSGB_NICE (0: the nice
# value of every process started, for a machine shared with other work),
# WSGB_HTTPD_EXTRA (directives added to every httpd configuration, for
# sizing experiments such as "ThreadStackSize 262144").
set -u

WSGB_BENCH=$(cd "$(dirname "$0")" && pwd)
WSGB_TOP=$(dirname "$WSGB_BENCH")
WSGB_ARGS="$*"

WSGB_TARGETS="direct relay-thread relay-epoll wsgw-tunnel wsgw-frames wsgw-async proxy-http wstunnel nginx haproxy"
WSGB_REPS=3
WSGB_IDLE="1000 5000"
WSGB_IDLE_SET=0
# Idle tunnels under Debian's default event MPM settings (wsgw-async,
# wstunnel, nginx, haproxy): how many, held how long.
WSGB_IDLED=10000
WSGB_IDLED_SET=0
WSGB_IDLED_HOLD=30
WSGB_QUICK=0
WSGB_LOADS=1
WSGB_IDLED_HOLD_SET=""
# echo: connections, payload, warm-up, window; bulk likewise; connrate:
# cycles in parallel.
WSGB_ECHO_CONNS=100; WSGB_ECHO_SIZE=64; WSGB_ECHO1K_CONNS=1000
WSGB_BULK_CONNS=4;   WSGB_BULK_SIZE=1048576; WSGB_BULK_WINDOW=2
WSGB_CONN_CONNS=32;  WSGB_CONN_SIZE=64
WSGB_WARMUP=1; WSGB_ECHO_DUR=4; WSGB_BULK_DUR=3; WSGB_CONN_DUR=3

while [ $# -gt 0 ]; do
    case $1 in
    --quick) WSGB_QUICK=1 ;;
    --reps) WSGB_REPS=$2; shift ;;
    --targets) WSGB_TARGETS=$(echo "$2" | tr ',' ' '); shift ;;
    --no-idle) WSGB_IDLE=""; WSGB_IDLE_SET=1 ;;
    --idle) WSGB_IDLE=$2; WSGB_IDLE_SET=1; shift ;;
    --idle-default) WSGB_IDLED=$2; WSGB_IDLED_SET=1; shift ;;
    --no-idle-default) WSGB_IDLED=""; WSGB_IDLED_SET=1 ;;
    --idle-hold) WSGB_IDLED_HOLD_SET=$2; shift ;;
    --no-load) WSGB_LOADS=0 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
WSGB_SETTLE=0.7
if [ "$WSGB_QUICK" = 1 ]; then
    WSGB_REPS=1
    WSGB_WARMUP=0.5; WSGB_ECHO_DUR=1.5; WSGB_BULK_DUR=1.5; WSGB_CONN_DUR=1.5
    WSGB_SETTLE=0.5
    [ "$WSGB_IDLE_SET" = 1 ] || WSGB_IDLE="1000"
    [ "$WSGB_IDLED_SET" = 1 ] || WSGB_IDLED="2000"
    WSGB_IDLED_HOLD=5
fi
[ -z "$WSGB_IDLED_HOLD_SET" ] || WSGB_IDLED_HOLD=$WSGB_IDLED_HOLD_SET

WSGB_PROXY_CPU=${WSGB_PROXY_CPU:-0}
WSGB_LOAD_CPU=${WSGB_LOAD_CPU:-1}
WSGB_NICE=${WSGB_NICE:-0}
WSGB_MODULE=${WSGB_MODULE:-$WSGB_TOP/.libs/mod_ws_gateway.so}
WSGB_OUT=${WSGB_OUT:-$WSGB_BENCH/out/run-$(date +%Y%m%d-%H%M%S)}
WSGB_ECHO=$WSGB_BENCH/wsgb-echo
WSGB_LOAD=$WSGB_BENCH/wsgb-load
# httpd: room for the largest idle test plus spare threads.
WSGB_HTTPD_TPC=128
WSGB_HTTPD_SERVERS=48
WSGB_HTTPD_WORKERS=$((WSGB_HTTPD_TPC * WSGB_HTTPD_SERVERS))

mkdir -p "$WSGB_OUT"
ln -sfn "$WSGB_OUT" "$WSGB_BENCH/out/last"
WSGB_RESULTS=$WSGB_OUT/results.txt
: >"$WSGB_RESULTS"

wsgb_log() {
    echo "[$(date +%H:%M:%S)] $*" | tee -a "$WSGB_OUT/run.log" >&2
}

# shellcheck source=bench/wsgb_targets.sh
. "$WSGB_BENCH/wsgb_targets.sh"

# --- preflight -------------------------------------------------------------
make -s -C "$WSGB_BENCH" >/dev/null || { echo "building bench tools failed" >&2; exit 1; }
for tool in apxs taskset nginx haproxy ps timeout; do
    command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
WSGB_HTTPD=$(apxs -q SBINDIR)/$(apxs -q TARGET)
WSGB_NGINX=$(command -v nginx)
WSGB_HAPROXY=$(command -v haproxy)
case " $WSGB_TARGETS " in
*" wsgw-"*)
    [ -f "$WSGB_MODULE" ] || {
        echo "$WSGB_MODULE is missing: sh build/build.sh first" >&2; exit 1; } ;;
esac
if [ "$(nproc)" -lt 2 ]; then
    wsgb_log "warning: one CPU only: proxy and load share it"
    WSGB_LOAD_CPU=$WSGB_PROXY_CPU
fi
if [ "$(id -u)" -eq 0 ]; then
    # httpd and nginx children run as nobody: let them reach the module.
    d=$WSGB_TOP
    while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null; d=$(dirname "$d"); done
fi
# Each idle tunnel costs the generator one descriptor (a single-process
# proxy: two or three).
wsgb_nofile=$(ulimit -n)
for n in $WSGB_IDLE $WSGB_IDLED; do
    if [ $((2 * n + 100)) -gt "$wsgb_nofile" ]; then
        wsgb_log "warning: ulimit -n is $wsgb_nofile; idle $n may fail"
    fi
done

# Machine and versions, for the report.
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command: bench/run.sh $WSGB_ARGS"
    echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
    echo "pinning: proxy on CPU $WSGB_PROXY_CPU; load generator and echo backend on CPU $WSGB_LOAD_CPU; nice $WSGB_NICE"
    echo "httpd: $($WSGB_HTTPD -v | sed -n 's/^Server version: //p') (event MPM, $WSGB_HTTPD_TPC threads/child, up to $WSGB_HTTPD_SERVERS children${WSGB_HTTPD_EXTRA:+; extra: $WSGB_HTTPD_EXTRA})"
    echo "nginx: $($WSGB_NGINX -v 2>&1 | sed 's/^nginx version: //') (1 worker)"
    echo "haproxy: $($WSGB_HAPROXY -v | head -1 | awk '{print $3}') (1 thread)"
    echo "mod_ws_gateway: $(git -C "$WSGB_TOP" describe --always --dirty 2>/dev/null) (${WSGB_MODULE#"$WSGB_TOP"/})"
    echo "loads: echo $WSGB_ECHO_CONNS and $WSGB_ECHO1K_CONNS conns x $WSGB_ECHO_SIZE B closed loop, ${WSGB_ECHO_DUR} s window; bulk $WSGB_BULK_CONNS conns x $WSGB_BULK_SIZE B messages, $WSGB_BULK_WINDOW in flight each, ${WSGB_BULK_DUR} s; connrate $WSGB_CONN_CONNS in parallel, ${WSGB_CONN_DUR} s; warm-up ${WSGB_WARMUP} s; repetitions $WSGB_REPS; idle: ${WSGB_IDLE:-none}; idle under Debian's default MPM settings: ${WSGB_IDLED:-none} held ${WSGB_IDLED_HOLD} s"
} >"$WSGB_OUT/machine.txt"
wsgb_log "results in $WSGB_OUT"

# --- measurements ----------------------------------------------------------

# Run the load generator ($2...) pinned to the load CPU, bounded in time;
# append "target= rep= test= RESULT-fields" to the results (or failed=).
wsgb_measure() {
    local test=$1 bound line rc
    shift
    bound=$(awk -v a="$WSGB_WARMUP" -v b="$WSGB_ECHO_DUR" -v c="$WSGB_BULK_DUR" \
        -v d="$WSGB_CONN_DUR" 'BEGIN {m = b; if (c > m) m = c; if (d > m) m = d
                                      print int(a + m + 45)}')
    timeout -k 5 "$bound" nice -n "$WSGB_NICE" taskset -c "$WSGB_LOAD_CPU" \
        "$WSGB_LOAD" "$@" --port "$WSGB_PORT" ${WSGB_PID:+--cpu-pid "$WSGB_PID"} \
        --backend-pid "$WSGB_BPID" --proxy-cpu "$WSGB_PROXY_CPU" \
        --load-cpu "$WSGB_LOAD_CPU" >"$WSGB_DIR/$test.out" 2>&1
    rc=$?
    line=$(grep '^RESULT ' "$WSGB_DIR/$test.out" | tail -1)
    if [ -z "$line" ]; then
        echo "target=$WSGB_T rep=$WSGB_REP test=$test failed=no-result rc=$rc" >>"$WSGB_RESULTS"
        wsgb_log "  $test: no result (rc $rc, see $WSGB_DIR/$test.out)"
        return 1
    fi
    echo "target=$WSGB_T rep=$WSGB_REP test=$test rc=$rc ${line#RESULT }" >>"$WSGB_RESULTS"
    wsgb_log "  $test: $(echo "$line" | grep -oE '(^| )(rate|mbps|p99_us|cpu_s|errors)=[^ ]+' | tr -d '\n')"
}

wsgb_run_load() {
    WSGB_DIR=$WSGB_OUT/$WSGB_T-r$WSGB_REP-load
    wsgb_log "$WSGB_T (rep $WSGB_REP): echo, bulk, connrate"
    if ! wsgb_start_target "$WSGB_T" "$WSGB_DIR"; then
        for test in echo bulk connrate; do
            echo "target=$WSGB_T rep=$WSGB_REP test=$test failed=start" >>"$WSGB_RESULTS"
        done
        return
    fi
    if [ -n "$WSGB_PID" ]; then
        # The server at rest with its smallest pool, for the idle test.
        sleep "$WSGB_SETTLE"
        echo "target=$WSGB_T rep=$WSGB_REP test=minimal $(wsgb_tree_mem "$WSGB_PID")" >>"$WSGB_RESULTS"
    fi
    wsgb_measure echo echo --conns $WSGB_ECHO_CONNS --size $WSGB_ECHO_SIZE \
        --warmup $WSGB_WARMUP --duration $WSGB_ECHO_DUR
    wsgb_measure bulk bulk --conns $WSGB_BULK_CONNS --size $WSGB_BULK_SIZE \
        --window $WSGB_BULK_WINDOW --warmup $WSGB_WARMUP --duration $WSGB_BULK_DUR
    wsgb_measure connrate connrate --conns $WSGB_CONN_CONNS --size $WSGB_CONN_SIZE \
        --warmup $WSGB_WARMUP --duration $WSGB_CONN_DUR
    wsgb_measure echo1k echo --conns $WSGB_ECHO1K_CONNS --size $WSGB_ECHO_SIZE \
        --warmup $WSGB_WARMUP --duration $WSGB_ECHO_DUR
    wsgb_stop_logged
}

# Stop the target; note what its logs say about the measurements and,
# separately, about the stop.
wsgb_stop_logged() {
    local p c
    sleep 0.5
    p=$(wsgb_log_problems "$WSGB_DIR")
    c=$(wsgb_log_crashes "$WSGB_DIR")
    wsgb_stop_target "$WSGB_T"
    echo "target=$WSGB_T rep=$WSGB_REP test=logs problems=$p crashes=$c stop_problems=$(( $(wsgb_log_problems "$WSGB_DIR") - p )) stop_crashes=$(( $(wsgb_log_crashes "$WSGB_DIR") - c ))" >>"$WSGB_RESULTS"
}

# Idle tunnels: memory of the proxy's process tree before and while N
# tunnels are held, for each N of WSGB_IDLE on one server (the load
# generator stops and holds at each size), then every tunnel verified with
# an echo. httpd starts with the whole pool the largest size needs (one
# worker thread per tunnel plus a spare child), so "base" holds the idle
# threads and the difference is what the tunnels themselves cost; the
# report adds the cost of a worker thread from base and the 1-child
# "minimal" measurement.
wsgb_run_idle() {
    local sizes=$1 max=0 n lpid i base line rc children=0 est ver ramp
    local est_all ver_all ready
    declare -A held
    for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
    WSGB_DIR=$WSGB_OUT/$WSGB_T-r$WSGB_REP-idle
    ready=$WSGB_DIR/ready
    wsgb_log "$WSGB_T (rep $WSGB_REP): idle tunnels, $(echo $sizes | tr ' ' '/')"
    case $WSGB_T in
    wsgw-*|proxy-http|wstunnel)
        children=$(( (max + WSGB_HTTPD_TPC - 1) / WSGB_HTTPD_TPC + 1 ))
        [ "$children" -le "$WSGB_HTTPD_SERVERS" ] || children=$WSGB_HTTPD_SERVERS ;;
    esac
    if ! WSGB_HTTPD_START=$((children > 0 ? children : 1)) \
            wsgb_start_target "$WSGB_T" "$WSGB_DIR"; then
        for n in $sizes; do
            echo "target=$WSGB_T rep=$WSGB_REP test=idle$n failed=start" >>"$WSGB_RESULTS"
        done
        return
    fi
    if [ "$children" -gt 0 ] && \
            ! wsgb_wait_threads "$WSGB_PID" $((children * WSGB_HTTPD_TPC)); then
        wsgb_log "  the pool of $children children did not come up in 15 s"
    fi
    sleep "$WSGB_SETTLE"
    base=$(wsgb_tree_mem "$WSGB_PID")
    rm -f "$ready"
    timeout -k 5 $((90 + 60 * $(echo $sizes | wc -w))) nice -n "$WSGB_NICE" \
        taskset -c "$WSGB_LOAD_CPU" "$WSGB_LOAD" idle \
        --port "$WSGB_PORT" --conns "$max" --stages "$(echo $sizes | tr ' ' ',')" \
        --ramp-conc 128 --timeout 30 --hold 100 --ready-file "$ready" \
        >"$WSGB_DIR/idle.out" 2>&1 &
    lpid=$!
    for n in $sizes; do
        for i in $(seq 1 900); do
            [ -f "$ready" ] && break
            kill -0 "$lpid" 2>/dev/null || break
            sleep 0.1
        done
        if [ ! -f "$ready" ]; then
            wsgb_log "  idle$n: the ramp did not finish in 90 s"
            break
        fi
        sleep "$WSGB_SETTLE"    # let the MPM finish what the ramp started
        held[$n]=$(wsgb_tree_mem "$WSGB_PID")
        rm -f "$ready"
    done
    wait "$lpid"
    rc=$?
    line=$(grep '^RESULT ' "$WSGB_DIR/idle.out" | tail -1)
    wsgb_stop_logged
    est_all=$(echo "$line" | grep -oE ' established=[0-9]+' | cut -d= -f2)
    ver_all=$(echo "$line" | grep -oE ' verified=[0-9]+' | cut -d= -f2)
    for n in $sizes; do
        if [ -z "$line" ] || [ -z "${held[$n]:-}" ]; then
            echo "target=$WSGB_T rep=$WSGB_REP test=idle$n failed=no-result rc=$rc" >>"$WSGB_RESULTS"
            continue
        fi
        est=$(echo "$line" | grep -oE " established_$n=[0-9]+" | cut -d= -f2)
        ramp=$(echo "$line" | grep -oE " ramp_s_$n=[0-9.]+" | cut -d= -f2)
        # Verification happens once, at the end, for all tunnels: the ones
        # that failed it count against every size.
        ver=$(( ${est:-0} - (${est_all:-0} - ${ver_all:-0}) ))
        [ "$ver" -ge 0 ] || ver=0
        echo "target=$WSGB_T rep=$WSGB_REP test=idle$n rc=$rc $(echo "$base" | sed 's/\([a-z_]*\)=/base_\1=/g') $(echo "${held[$n]}" | sed 's/\([a-z_]*\)=/held_\1=/g') ${line#RESULT } established=${est:-0} verified=$ver ramp_s=${ramp:-0}" >>"$WSGB_RESULTS"
        wsgb_log "  idle$n: established=${est:-0} verified=$ver base [$base] held [${held[$n]}]"
    done
}

# Idle tunnels under Debian's default event MPM settings (as shipped in
# /etc/apache2/mods-available/mpm_event.conf: 2 children at start, 25
# threads each, MaxRequestWorkers 150): N tunnels are opened (128
# handshakes in flight), held WSGB_IDLED_HOLD seconds, measured, then each
# one is verified with an echo. Nothing else is tuned (no
# AsyncRequestWorkerFactor, no max=).
wsgb_run_idle_default() {
    local n=$1 lpid i base held line rc est ver ramp ready
    WSGB_DIR=$WSGB_OUT/$WSGB_T-r$WSGB_REP-idled
    ready=$WSGB_DIR/ready
    wsgb_log "$WSGB_T (rep $WSGB_REP): $n idle tunnels, default MPM settings"
    if ! WSGB_HTTPD_START=2 WSGB_HTTPD_TPC=25 WSGB_HTTPD_THREADLIMIT=64 \
            WSGB_HTTPD_SERVERS=16 WSGB_HTTPD_WORKERS=150 \
            WSGB_HTTPD_MINSPARE=25 WSGB_HTTPD_MAXSPARE=75 \
            wsgb_start_target "$WSGB_T" "$WSGB_DIR"; then
        echo "target=$WSGB_T rep=$WSGB_REP test=idled$n failed=start" >>"$WSGB_RESULTS"
        return
    fi
    sleep "$WSGB_SETTLE"
    base=$(wsgb_tree_mem "$WSGB_PID")
    rm -f "$ready"
    timeout -k 5 $((180 + WSGB_IDLED_HOLD)) nice -n "$WSGB_NICE" \
        taskset -c "$WSGB_LOAD_CPU" "$WSGB_LOAD" idle \
        --port "$WSGB_PORT" --conns "$n" --stages "$n" \
        --ramp-conc 128 --timeout 30 --hold 600 --ready-file "$ready" \
        >"$WSGB_DIR/idle.out" 2>&1 &
    lpid=$!
    for i in $(seq 1 1500); do
        [ -f "$ready" ] && break
        kill -0 "$lpid" 2>/dev/null || break
        sleep 0.1
    done
    held=""
    if [ -f "$ready" ]; then
        sleep "$WSGB_IDLED_HOLD"     # the hold itself is what is measured
        held=$(wsgb_tree_mem "$WSGB_PID")
        rm -f "$ready"
    else
        wsgb_log "  idled$n: the ramp did not finish in 150 s"
    fi
    wait "$lpid"
    rc=$?
    line=$(grep '^RESULT ' "$WSGB_DIR/idle.out" | tail -1)
    wsgb_stop_logged
    if [ -z "$line" ] || [ -z "$held" ]; then
        echo "target=$WSGB_T rep=$WSGB_REP test=idled$n failed=no-result rc=$rc" >>"$WSGB_RESULTS"
        return
    fi
    est=$(echo "$line" | grep -oE ' established=[0-9]+' | cut -d= -f2)
    ver=$(echo "$line" | grep -oE ' verified=[0-9]+' | cut -d= -f2)
    ramp=$(echo "$line" | grep -oE " ramp_s_$n=[0-9.]+" | cut -d= -f2)
    echo "target=$WSGB_T rep=$WSGB_REP test=idled$n rc=$rc $(echo "$base" | sed 's/\([a-z_]*\)=/base_\1=/g') $(echo "$held" | sed 's/\([a-z_]*\)=/held_\1=/g') ${line#RESULT } established=${est:-0} verified=${ver:-0} ramp_s=${ramp:-0}" >>"$WSGB_RESULTS"
    wsgb_log "  idled$n: established=${est:-0} verified=${ver:-0} base [$base] held [$held]"
}

wsgb_cleanup() {
    wsgb_stop_target "${WSGB_T:-target}"
}
trap 'wsgb_cleanup; exit 130' INT TERM
trap 'wsgb_cleanup' EXIT

WSGB_START=$(date +%s)
for WSGB_REP in $(seq 1 "$WSGB_REPS"); do
    for WSGB_T in $WSGB_TARGETS; do
        [ "$WSGB_LOADS" = 0 ] || wsgb_run_load
        # Idle memory: not for direct (no proxy) nor the relays (a relay
        # holds two fixed buffers per connection: nothing to learn).
        case $WSGB_T in
        direct|relay-*) ;;
        *) [ -z "$WSGB_IDLE" ] || wsgb_run_idle "$WSGB_IDLE" ;;
        esac
        case $WSGB_T in
        wsgw-async|wstunnel|nginx|haproxy)
            [ -z "$WSGB_IDLED" ] || wsgb_run_idle_default "$WSGB_IDLED" ;;
        esac
    done
done
wsgb_log "measurements took $(( $(date +%s) - WSGB_START )) s"

awk -v machine="$WSGB_OUT/machine.txt" -f "$WSGB_BENCH/wsgb_report.awk" \
    "$WSGB_RESULTS" >"$WSGB_OUT/report.md"
cat "$WSGB_OUT/report.md"
wsgb_log "report: $WSGB_OUT/report.md"
