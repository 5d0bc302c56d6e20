#!/bin/sh
# The demo: build the module, start the bundled C chat backend and a local
# httpd (its own ServerRoot under demo/run, an unprivileged port on
# 127.0.0.1, nothing of the system configuration touched) with one line of
# gateway configuration:
#     WSGatewayPass /chat ws://127.0.0.1:<backend>/chat
# Open the printed URL in two browser windows and chat; the page links to
# the gateway's status page. Ctrl-C (or SIGTERM) stops both processes.
#
# Environment:
#   PORT=8080               the port httpd listens on (127.0.0.1)
#   WSGW_DEMO_NO_BUILD=1    skip installing dependencies and building (tests)
#   WSGW_BUILDDIR=DIR       build tree with .libs/mod_ws_gateway.so and
#                           t/backend/wsgw-test-backend (default: the top)
#   WSGW_DEMO_RUN=DIR       run directory (default: demo/run)
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
port=${PORT:-8080}
builddir=${WSGW_BUILDDIR:-$top}
run=${WSGW_DEMO_RUN:-$top/demo/run}
htdocs="$top/demo/htdocs"

if [ -z "$WSGW_DEMO_NO_BUILD" ]; then
    sh build/deps.sh --without-browser
    sh build/build.sh
    make t/backend/wsgw-test-backend >/dev/null
fi
module="$builddir/.libs/mod_ws_gateway.so"
backend="$builddir/t/backend/wsgw-test-backend"
for f in "$module" "$backend"; do
    [ -f "$f" ] || { echo "$f is missing: build first (sh build/build.sh)" >&2; exit 1; }
done
apxs=$(command -v apxs || command -v apxs2) || { echo "apxs not found: install apache2-dev" >&2; exit 1; }
libexec=$("$apxs" -q LIBEXECDIR)
httpd=$("$apxs" -q SBINDIR)/$("$apxs" -q TARGET)

rm -rf "$run"
mkdir -p "$run/logs"

backend_pid=""
httpd_pid=""
stop() {
    trap - INT TERM EXIT
    for p in $httpd_pid $backend_pid; do kill "$p" 2>/dev/null || true; done
    for p in $httpd_pid $backend_pid; do wait "$p" 2>/dev/null || true; done
    echo; echo "demo stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$backend" --port 0 --port-file "$run/backend.port" --pid-file "$run/backend.pid" \
    --name chat >"$run/logs/backend.log" 2>&1 &
backend_pid=$!
i=0
while [ ! -s "$run/backend.port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$backend_pid" 2>/dev/null; then
        echo "the chat backend did not start; see $run/logs/backend.log" >&2
        exit 1
    fi
    sleep 0.1
done
bport=$(cat "$run/backend.port")

user_lines=""
if [ "$(id -u)" -eq 0 ]; then
    # httpd's children run as nobody: they must reach the page.
    user_lines="User nobody
Group nogroup"
    d="$htdocs"
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    chmod -R o+rX "$htdocs" 2>/dev/null || true
fi

cat >"$run/httpd.conf" <<CONF
ServerRoot $run
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $run/httpd.pid
ErrorLog $run/logs/error_log
LogLevel info ws_gateway:debug
$user_lines
LoadModule mpm_event_module $libexec/mod_mpm_event.so
LoadModule authz_core_module $libexec/mod_authz_core.so
LoadModule authz_host_module $libexec/mod_authz_host.so
LoadModule mime_module $libexec/mod_mime.so
LoadModule dir_module $libexec/mod_dir.so
LoadModule proxy_module $libexec/mod_proxy.so
LoadModule proxy_http_module $libexec/mod_proxy_http.so
LoadModule ws_gateway_module $module
TypesConfig /etc/mime.types
DocumentRoot $htdocs
DirectoryIndex index.html
<Directory $htdocs>
    Require all granted
</Directory>
CustomLog $run/logs/access_log "%h \"%r\" %>s %{ws-gateway-bytes-in}n/%{ws-gateway-bytes-out}n bytes, closed by %{ws-gateway-closed-by}n (%{ws-gateway-close-code}n)"

# The whole WebSocket recipe, one line:
WSGatewayPass /chat ws://127.0.0.1:$bport/chat

# The gateway's status page (local clients only).
<Location /ws-gateway-status>
    SetHandler ws-gateway-status
    Require local
</Location>
CONF

"$httpd" -f "$run/httpd.conf" -D FOREGROUND &
httpd_pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$httpd_pid" 2>/dev/null; then
        echo "httpd did not start; see $run/logs/error_log" >&2
        exit 1
    fi
    sleep 0.1
done
cat <<MSG

  mod_ws_gateway demo is running.
  Open http://127.0.0.1:$port/ in two browser windows and chat.
  httpd proxies ws://127.0.0.1:$port/chat to the C chat backend on port $bport
  with one line: WSGatewayPass /chat ws://127.0.0.1:$bport/chat
  Status page: http://127.0.0.1:$port/ws-gateway-status
  Logs: $run/logs/   Ctrl-C stops everything.

MSG
wait "$httpd_pid" || true
