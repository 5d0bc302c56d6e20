#!/bin/sh
# Every configuration ws-gateway-migrate writes must pass 'apache2 -t' with
# mod_ws_gateway loaded (SPEC §8). For each golden case that is a usable
# configuration, the case directory is copied to a scratch ServerRoot (so
# relative Include lines resolve), the tool converts in.conf, and a minimal
# httpd configuration includes the result:
#
#   ServerRoot, Listen 127.0.0.1:<free port>, PidFile, ErrorLog
#   LoadModule mpm_event, authz_core, proxy, proxy_http, proxy_wstunnel,
#              rewrite (and ssl when present: SSLProxyEngine), then
#              ws_gateway_module from $WSGW_MODULE
#   Include converted.conf
#
# With WSGM_CHECK_INPUTS=1 (the default while the module is not built) the
# inputs themselves are checked too, with the stock modules only: that
# proves the harness and shows the fixtures are configurations httpd takes
# (cases listed in t/migrate/cases/*/apachectl-in-fails are expected to be
# refused: they carry a variant httpd rejects).
#
# Environment: HTTPD_BIN (default: apache2 or httpd on PATH or in
# /usr/sbin), APXS (to ask LIBEXECDIR), WSGW_MODULE (default:
# ./.libs/mod_ws_gateway.so in the build directory), WSGM_TOOL, WSGM_CASES.
# Output is TAP; exit 77 (skipped) when httpd or the module is missing.

here=$(cd "$(dirname "$0")" && pwd)
cases=${WSGM_CASES:-$here/cases}
builddir=$(pwd)

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
for a in "${APXS:-}" apxs apxs2 /usr/bin/apxs /usr/bin/apxs2; do
    if [ -n "$a" ] && command -v "$a" > /dev/null 2>&1; then
        libexec=$("$a" -q LIBEXECDIR 2>/dev/null)
        [ -n "$libexec" ] && break
    fi
done
[ -n "$libexec" ] || libexec=/usr/lib/apache2/modules

module=${WSGW_MODULE:-$builddir/.libs/mod_ws_gateway.so}

if [ -z "$tool" ] || [ ! -x "$tool" ]; then
    echo "1..0 # SKIP ws-gateway-migrate is not built (set WSGM_TOOL)"
    exit 77
fi
if [ -z "$httpd" ] || [ ! -x "$httpd" ]; then
    echo "1..0 # SKIP no httpd binary (set HTTPD_BIN)"
    exit 77
fi
if [ ! -f "$libexec/mod_proxy.so" ]; then
    echo "1..0 # SKIP httpd modules not found in $libexec (set APXS)"
    exit 77
fi
have_module=1
if [ ! -f "$module" ]; then
    have_module=0
    : "${WSGM_CHECK_INPUTS:=1}"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/wsgm-apachectl.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT INT TERM

free_port() {
    # a port nothing listens on now (apache2 -t does not bind it anyway)
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo 18080
}

# write_conf ROOT CONF WITH_MODULE
write_conf() {
    {
        echo "ServerRoot \"$1\""
        echo "Listen 127.0.0.1:$(free_port)"
        echo "ServerName localhost"
        echo "PidFile \"$1/httpd.pid\""
        echo "ErrorLog \"$1/error.log\""
        echo "DefaultRuntimeDir \"$1\""
        # Debian's envvars, which fixtures copied from real sites use
        echo "Define APACHE_LOG_DIR \"$1\""
        echo "Define APACHE_RUN_DIR \"$1\""
        for m in mpm_event authz_core proxy proxy_http proxy_wstunnel rewrite \
                 ssl; do
            if [ -f "$libexec/mod_$m.so" ]; then
                echo "LoadModule ${m}_module \"$libexec/mod_$m.so\""
            fi
        done
        if [ "$3" = 1 ]; then
            echo "LoadModule ws_gateway_module \"$module\""
        fi
        echo "Include \"$2\""
    } > "$1/httpd-test.conf"
}

n=0
failed=0
for dir in "$cases"/*/; do
    [ -f "$dir/in.conf" ] || continue
    name=$(basename "$dir")
    want_exit=$(cat "$dir/exit" 2>/dev/null || echo 0)
    [ "$want_exit" = 2 ] && continue        # not a configuration at all

    root="$scratch/$name"
    mkdir -p "$root"
    cp -R "$dir"/. "$root"/

    if [ -n "${WSGM_CHECK_INPUTS:-}" ] && [ "$WSGM_CHECK_INPUTS" != 0 ]; then
        n=$((n + 1))
        if [ "$have_module" = 0 ] && grep -q WSGatewayPass "$dir/in.conf"; then
            echo "ok $n - $name: input # SKIP it needs the module"
        else
            write_conf "$root" "$root/in.conf" "$have_module"
            if "$httpd" -t -f "$root/httpd-test.conf" > "$root/in.log" 2>&1
            then
                got=ok
            else
                got=refused
            fi
            want=ok
            [ -f "$dir/apachectl-in-fails" ] && want=refused
            if [ "$got" = "$want" ]; then
                echo "ok $n - $name: input ($got by httpd, as expected)"
            else
                failed=$((failed + 1))
                echo "not ok $n - $name: input $got by httpd, expected $want"
                sed 's/^/#   /' "$root/in.log"
            fi
        fi
    fi

    n=$((n + 1))
    if [ "$have_module" = 0 ]; then
        echo "ok $n - $name: converted output # SKIP $module not built yet"
        continue
    fi
    (cd "$root" && "$tool" in.conf > converted.conf 2> convert.err)
    write_conf "$root" "$root/converted.conf" 1
    if "$httpd" -t -f "$root/httpd-test.conf" > "$root/out.log" 2>&1; then
        echo "ok $n - $name: converted output passes $(basename "$httpd") -t"
    else
        failed=$((failed + 1))
        echo "not ok $n - $name: converted output refused by $(basename "$httpd") -t"
        sed 's/^/#   /' "$root/out.log"
        sed 's/^/#   converted: /' "$root/converted.conf"
    fi
done

echo "1..$n"
if [ "$failed" -ne 0 ]; then
    exit 1
fi
if [ "$have_module" = 0 ]; then
    echo "# converted outputs not checked: $module does not exist yet"
    exit 77
fi
exit 0
