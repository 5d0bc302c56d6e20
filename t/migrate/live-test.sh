#!/bin/sh
# Live test of ws-gateway-migrate: each recipe in t/migrate/live/*.conf is
# converted, pointed at a test backend (t/migrate/backend.py, a separate
# process) and served by a real httpd with mod_ws_gateway loaded; a
# WebSocket echo through /ws/echo and a plain GET of /hello must both
# reach the backend. Output is TAP.
#
# With WSGM_LIVE_ORIGINAL=1 the unconverted recipes are served instead,
# with mod_proxy_wstunnel and without mod_ws_gateway: that checks the
# harness itself (and shows the broken recipes failing: a recipe whose
# first line says "Broken:" is expected to fail the echo then).
#
# Environment: HTTPD_BIN, APXS, WSGW_MODULE (default
# ./.libs/mod_ws_gateway.so), WSGM_TOOL, PYTHON (default python3).
# Every wait is bounded (10 s); httpd and the backend are stopped by PID.

here=$(cd "$(dirname "$0")" && pwd)
builddir=$(pwd)
python=${PYTHON:-python3}
original=${WSGM_LIVE_ORIGINAL:-}

tool=${WSGM_TOOL:-}
if [ -z "$tool" ]; then
    for c in ./ws-gateway-migrate "$here/../../ws-gateway-migrate"; do
        if [ -x "$c" ]; then
            tool=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
            break
        fi
    done
fi
httpd=${HTTPD_BIN:-}
if [ -z "$httpd" ]; then
    for c in apache2 httpd /usr/sbin/apache2 /usr/sbin/httpd; do
        if command -v "$c" > /dev/null 2>&1; then
            httpd=$(command -v "$c")
            break
        fi
    done
fi
libexec=
for a in "${APXS:-}" apxs apxs2; do
    if [ -n "$a" ] && command -v "$a" > /dev/null 2>&1; then
        libexec=$("$a" -q LIBEXECDIR 2>/dev/null)
        [ -n "$libexec" ] && break
    fi
done
[ -n "$libexec" ] || libexec=/usr/lib/apache2/modules
module=${WSGW_MODULE:-$builddir/.libs/mod_ws_gateway.so}

skip() {
    echo "1..0 # SKIP $1"
    exit 77
}
[ -n "$tool" ] && [ -x "$tool" ] || skip "ws-gateway-migrate is not built"
[ -n "$httpd" ] && [ -x "$httpd" ] || skip "no httpd binary (set HTTPD_BIN)"
command -v "$python" > /dev/null 2>&1 || skip "no $python for the backend"
[ -f "$libexec/mod_proxy_http.so" ] || skip "no mod_proxy_http in $libexec"
if [ -z "$original" ] && [ ! -f "$module" ]; then
    skip "$module is not built yet"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/wsgm-live.XXXXXX") || exit 99
backend_pid=
httpd_pidfile=

stop_pid() {
    # stop process $1 and wait for it, at most 10 s
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$1" 2>/dev/null
    return 0
}

stop_httpd() {
    if [ -n "$httpd_pidfile" ] && [ -f "$httpd_pidfile" ]; then
        stop_pid "$(cat "$httpd_pidfile")"
    fi
    httpd_pidfile=
}

cleanup() {
    stop_httpd
    stop_pid "$backend_pid"
    rm -rf "$scratch"
}
trap cleanup EXIT INT TERM

run_user=
if [ "$(id -u)" = 0 ]; then
    for u in www-data daemon nobody; do
        if id "$u" > /dev/null 2>&1; then
            run_user=$u
            break
        fi
    done
fi

backend_port=$("$python" "$here/wsclient.py" port) || exit 99
"$python" "$here/backend.py" "$backend_port" "$scratch/backend.pid" \
    > "$scratch/backend.log" 2>&1 &
backend_pid=$!
if ! "$python" "$here/wsclient.py" wait "$backend_port" 10; then
    echo "1..0 # SKIP the test backend did not start"
    cat "$scratch/backend.log"
    exit 99
fi

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    [ -n "$2" ] && [ -f "$2" ] && sed 's/^/#   /' "$2"
}

for recipe in "$here"/live/*.conf; do
    name=$(basename "$recipe" .conf)
    root="$scratch/$name"
    mkdir -p "$root"
    port=$("$python" "$here/wsclient.py" port) || exit 99
    broken=
    head -n 1 "$recipe" | grep -q 'Broken:' && broken=1
    sed -e "s/@PORT@/$port/g" -e "s/@BACKEND_PORT@/$backend_port/g" \
        "$recipe" > "$root/in.conf"

    if [ -n "$original" ]; then
        cp "$root/in.conf" "$root/site.conf"
    else
        (cd "$root" && "$tool" in.conf > site.conf 2> convert.err)
        status=$?
        if [ "$status" -gt 1 ] || ! grep -q WSGatewayPass "$root/site.conf"
        then
            not_ok "$name: converted (exit $status)" "$root/convert.err"
            continue
        fi
        ok "$name: converted (exit $status)"
    fi

    {
        echo "ServerRoot \"$root\""
        echo "Listen 127.0.0.1:$port"
        echo "ServerName localhost"
        echo "PidFile \"$root/httpd.pid\""
        echo "ErrorLog \"$root/error.log\""
        echo "LogLevel warn"
        echo "DefaultRuntimeDir \"$root\""
        if [ -n "$run_user" ]; then
            echo "User $run_user"
            echo "Group $(id -gn "$run_user")"
        fi
        for m in mpm_event authz_core proxy proxy_http rewrite; do
            echo "LoadModule ${m}_module \"$libexec/mod_$m.so\""
        done
        if [ -n "$original" ]; then
            echo "LoadModule proxy_wstunnel_module \"$libexec/mod_proxy_wstunnel.so\""
        else
            echo "LoadModule ws_gateway_module \"$module\""
        fi
        echo "Include \"$root/site.conf\""
    } > "$root/httpd.conf"
    chmod 755 "$root"

    httpd_pidfile="$root/httpd.pid"
    if ! "$httpd" -f "$root/httpd.conf" -k start > "$root/start.log" 2>&1 \
        || ! "$python" "$here/wsclient.py" wait "$port" 10 \
             >> "$root/start.log" 2>&1; then
        cat "$root/error.log" >> "$root/start.log" 2>/dev/null
        sed 's/^/site: /' "$root/site.conf" >> "$root/start.log"
        not_ok "$name: httpd starts" "$root/start.log"
        stop_httpd
        continue
    fi
    ok "$name: httpd starts"

    if "$python" "$here/wsclient.py" get "$port" /hello \
        "backend saw GET /hello" > "$root/get.log" 2>&1; then
        ok "$name: plain GET /hello reaches the backend"
    else
        cat "$root/error.log" >> "$root/get.log" 2>/dev/null
        not_ok "$name: plain GET /hello reaches the backend" "$root/get.log"
    fi

    if "$python" "$here/wsclient.py" echo "$port" /ws/echo "ping-$name" \
        > "$root/echo.log" 2>&1; then
        if [ -n "$original" ] && [ -n "$broken" ]; then
            not_ok "$name: the broken original should not relay the echo" \
                "$root/echo.log"
        else
            ok "$name: WebSocket echo through /ws/echo"
        fi
    else
        if [ -n "$original" ] && [ -n "$broken" ]; then
            ok "$name: the broken original fails the echo, as expected"
        else
            cat "$root/error.log" >> "$root/echo.log" 2>/dev/null
            sed 's/^/site: /' "$root/site.conf" >> "$root/echo.log"
            not_ok "$name: WebSocket echo through /ws/echo" "$root/echo.log"
        fi
    fi
    stop_httpd
done

echo "1..$n"
[ "$failed" -eq 0 ]
