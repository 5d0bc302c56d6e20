# Sourced by bench/run.sh: one configuration generator per target, and
# starting/stopping processes by PID. Every configuration is written under
# the run directory; nothing in /etc is read for configuration or touched.
#
# Each target listens on 127.0.0.1:$port, maps /ws/ to the echo backend on
# 127.0.0.1:$bport, logs only warnings and errors and has no access log.

# httpd pieces shared by every httpd target: the event MPM sized for the
# idle test (WSGB_HTTPD_WORKERS threads), WSGB_HTTPD_START children at
# start (1 unless the idle test asks for its whole pool up front, so that
# no child is spawned while tunnels are counted).
wsgb_httpd_common() {
    local dir=$1 port=$2 libexec user_lines=""
    libexec=$(apxs -q LIBEXECDIR)
    if [ "$(id -u)" -eq 0 ]; then
        user_lines="User nobody
Group nogroup"
    fi
    cat <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir"
ErrorLog "$dir/error.log"
LogLevel warn
$user_lines
LoadModule mpm_event_module $libexec/mod_mpm_event.so
LoadModule authz_core_module $libexec/mod_authz_core.so
LoadModule proxy_module $libexec/mod_proxy.so
LoadModule proxy_http_module $libexec/mod_proxy_http.so
ListenBacklog 4096
Timeout 60
<IfModule mpm_event_module>
    StartServers            ${WSGB_HTTPD_START:-1}
    ServerLimit             $WSGB_HTTPD_SERVERS
    ThreadLimit             ${WSGB_HTTPD_THREADLIMIT:-$WSGB_HTTPD_TPC}
    ThreadsPerChild         $WSGB_HTTPD_TPC
    MinSpareThreads         ${WSGB_HTTPD_MINSPARE:-$WSGB_HTTPD_TPC}
    MaxSpareThreads         ${WSGB_HTTPD_MAXSPARE:-$WSGB_HTTPD_WORKERS}
    MaxRequestWorkers       $WSGB_HTTPD_WORKERS
    MaxConnectionsPerChild  0
</IfModule>
${WSGB_HTTPD_EXTRA:-}
CONF
}

# wsgw-tunnel and wsgw-frames: tunnels in their worker thread (the
# per-tunnel pollset, WSGatewayAsync Off); wsgw-async: frames mode, tunnels
# move to the child's reactor once quiet (the default under mpm_event).
wsgb_conf_wsgw() {
    local dir=$1 port=$2 bport=$3 mode=$4 async=$5
    wsgb_httpd_common "$dir" "$port"
    cat <<CONF
LoadModule ws_gateway_module $WSGB_MODULE
WSGatewayPass /ws ws://127.0.0.1:$bport/
WSGatewayMode $mode
WSGatewayAsync $async
CONF
}

wsgb_conf_proxy_http() {
    local dir=$1 port=$2 bport=$3
    wsgb_httpd_common "$dir" "$port"
    cat <<CONF
# mod_proxy_http's own tunnel (httpd >= 2.4.47), no mod_proxy_wstunnel.
ProxyPass /ws/ http://127.0.0.1:$bport/ upgrade=websocket
CONF
}

wsgb_conf_wstunnel() {
    local dir=$1 port=$2 bport=$3 libexec
    libexec=$(apxs -q LIBEXECDIR)
    wsgb_httpd_common "$dir" "$port"
    cat <<CONF
LoadModule proxy_wstunnel_module $libexec/mod_proxy_wstunnel.so
# Without this, mod_proxy_wstunnel hands ws:// to mod_proxy_http.
ProxyWebsocketFallbackToProxyHttp Off
ProxyPass /ws/ ws://127.0.0.1:$bport/
CONF
}

wsgb_conf_nginx() {
    local dir=$1 port=$2 bport=$3 user_line=""
    if [ "$(id -u)" -eq 0 ]; then
        user_line="user nobody nogroup;"
    fi
    cat <<CONF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 65536;
$user_line
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 32768;
}
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location /ws/ {
            proxy_pass http://127.0.0.1:$bport/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
        }
    }
}
CONF
}

wsgb_conf_haproxy() {
    local dir=$1 port=$2 bport=$3 maxconn
    # Two descriptors a tunnel, within the hard limit HAProxy may raise to.
    maxconn=$(( ($(ulimit -Hn) - 200) / 2 ))
    [ "$maxconn" -le 30000 ] || maxconn=30000
    cat <<CONF
global
    nbthread 1
    maxconn $maxconn
    pidfile $dir/haproxy.pid
    # no "log" line: nothing is logged

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout tunnel 3600s

frontend fe
    bind 127.0.0.1:$port backlog 4096
    default_backend be

backend be
    server echo 127.0.0.1:$bport
CONF
}

# The PIDs of $1 and all its descendants, one a line.
wsgb_tree_pids() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            in_tree[root] = 1
            do {
                changed = 0
                for (p in parent)
                    if (!(p in in_tree) && (parent[p] in in_tree)) {
                        in_tree[p] = 1; changed = 1
                    }
            } while (changed)
            for (p in in_tree) if (p in parent) print p
        }'
}

# "rss_kb=N pss_kb=N vsz_kb=N threads=N procs=N" summed over the process
# tree of $1 (RSS counts shared pages once per process, PSS splits them).
wsgb_tree_mem() {
    local pid rss=0 pss=0 vsz=0 thr=0 procs=0 v
    for pid in $(wsgb_tree_pids "$1"); do
        [ -r "/proc/$pid/status" ] || continue
        v=$(awk '/^VmRSS:/ {r=$2} /^VmSize:/ {s=$2} /^Threads:/ {t=$2}
                 END {print r+0, s+0, t+0}' "/proc/$pid/status" 2>/dev/null) || continue
        set -- $v
        rss=$((rss + $1))
        vsz=$((vsz + $2))
        thr=$((thr + $3))
        v=$(awk '/^Pss:/ {print $2; exit}' "/proc/$pid/smaps_rollup" 2>/dev/null)
        pss=$((pss + ${v:-0}))
        procs=$((procs + 1))
    done
    echo "rss_kb=$rss pss_kb=$pss vsz_kb=$vsz threads=$thr procs=$procs"
}

# Wait (bounded) until the tree of $1 runs at least $2 threads.
wsgb_wait_threads() {
    local i m
    for i in $(seq 1 150); do
        m=$(wsgb_tree_mem "$1")
        m=${m#*threads=}
        [ "${m%% *}" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# Stop a process we started, by PID: TERM, a bounded wait, then KILL for it
# and for any of its descendants still there (their PIDs are taken before).
wsgb_stop_pid() {
    local pid=$1 what=$2 kids i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(wsgb_tree_pids "$pid" | grep -vx "$pid")
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        wsgb_log "warning: $what (pid $pid) ignored TERM for 10 s; killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    for i in $kids; do
        if kill -0 "$i" 2>/dev/null; then
            sleep 1
            kill -0 "$i" 2>/dev/null && kill -KILL "$i" 2>/dev/null
        fi
    done
    return 0
}

# Start the echo backend pinned to the load CPU; sets WSGB_BPID, WSGB_BPORT.
wsgb_start_backend() {
    local dir=$1 i
    rm -f "$dir/backend.port"
    nice -n "${WSGB_NICE:-0}" taskset -c "$WSGB_LOAD_CPU" "$WSGB_ECHO" --port 0 \
        --port-file "$dir/backend.port" >"$dir/backend.log" 2>&1 &
    WSGB_BPID=$!
    for i in $(seq 1 50); do
        [ -s "$dir/backend.port" ] && break
        kill -0 "$WSGB_BPID" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$dir/backend.port" ]; then
        wsgb_log "error: the echo backend did not start (see $dir/backend.log)"
        wsgb_stop_pid "$WSGB_BPID" backend
        WSGB_BPID=""
        return 1
    fi
    WSGB_BPORT=$(cat "$dir/backend.port")
}

# Start target $1 (with its backend) in a fresh directory $2, pinned to the
# proxy CPU; wait until a WebSocket echo works through it. Sets WSGB_PID
# (the proxy's root process, empty for "direct") and WSGB_PORT.
wsgb_start_target() {
    local target=$1 dir=$2 i conf cmd
    rm -rf "$dir"
    mkdir -p "$dir/tmp"
    WSGB_PID=""
    wsgb_start_backend "$dir" || return 1
    if [ "$target" = direct ]; then
        WSGB_PORT=$WSGB_BPORT
    else
        WSGB_PORT=$("$WSGB_LOAD" free-port)
        case $target in
        wsgw-tunnel)  wsgb_conf_wsgw "$dir" "$WSGB_PORT" "$WSGB_BPORT" tunnel Off ;;
        wsgw-frames)  wsgb_conf_wsgw "$dir" "$WSGB_PORT" "$WSGB_BPORT" frames Off ;;
        wsgw-async)   wsgb_conf_wsgw "$dir" "$WSGB_PORT" "$WSGB_BPORT" frames On ;;
        proxy-http)   wsgb_conf_proxy_http "$dir" "$WSGB_PORT" "$WSGB_BPORT" ;;
        wstunnel)     wsgb_conf_wstunnel "$dir" "$WSGB_PORT" "$WSGB_BPORT" ;;
        nginx)        wsgb_conf_nginx "$dir" "$WSGB_PORT" "$WSGB_BPORT" ;;
        haproxy)      wsgb_conf_haproxy "$dir" "$WSGB_PORT" "$WSGB_BPORT" ;;
        relay-thread|relay-epoll) echo "# wsgb-relay: no configuration" ;;
        *) wsgb_log "error: unknown target $target"; return 1 ;;
        esac >"$dir/proxy.conf"
        case $target in
        nginx)   cmd="$WSGB_NGINX -p $dir/ -c $dir/proxy.conf" ;;
        haproxy) cmd="$WSGB_HAPROXY -db -f $dir/proxy.conf" ;;
        relay-*) cmd="$WSGB_BENCH/wsgb-relay --port $WSGB_PORT --backend-port $WSGB_BPORT --mode ${target#relay-}" ;;
        *)       cmd="$WSGB_HTTPD -f $dir/proxy.conf -D FOREGROUND" ;;
        esac
        # shellcheck disable=SC2086
        nice -n "${WSGB_NICE:-0}" taskset -c "$WSGB_PROXY_CPU" $cmd \
            >"$dir/proxy.out" 2>&1 &
        WSGB_PID=$!
    fi
    for i in $(seq 1 30); do
        if [ -n "$WSGB_PID" ] && ! kill -0 "$WSGB_PID" 2>/dev/null; then
            break
        fi
        if "$WSGB_LOAD" probe --port "$WSGB_PORT" >>"$dir/probe.log" 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    wsgb_log "error: $target did not relay a WebSocket echo within 15 s" \
             "(see $dir/proxy.out and $dir/error.log)"
    wsgb_stop_target "$target"
    return 1
}

wsgb_stop_target() {
    wsgb_stop_pid "$WSGB_PID" "$1"
    wsgb_stop_pid "$WSGB_BPID" "backend"
    WSGB_PID=""
    WSGB_BPID=""
}

# Processes that died of a fatal signal, from a target's logs (httpd logs
# them at notice level, so they are counted on their own; a KILL sent at
# shutdown is not a crash).
wsgb_log_crashes() {
    local dir=$1
    cat "$dir/error.log" "$dir/proxy.out" 2>/dev/null \
        | grep -Eci '(exit signal (Segmentation|Aborted|Bus error|Illegal|Floating)|exited on signal (4|6|7|8|11)([^0-9]|$)|core dumped)' \
        || true
}

# Lines at warning level or worse in a target's logs.
wsgb_log_problems() {
    local dir=$1
    cat "$dir/error.log" "$dir/proxy.out" 2>/dev/null \
        | grep -Eci '(:warn\]|:error\]|:crit\]|:alert\]|:emerg\]|\[warn\]|\[error\]|\[crit\]|\[alert\]|\[emerg\]|^\[WARNING\]|^\[ALERT\])' \
        || true
}
