#!/bin/sh
# The demo: build the module, start the bundled C chat backend and a local
# httpd (its own ServerRoot under demo/run, an unprivileged port, nothing of
# the system configuration touched) with one line of gateway configuration:
#     WSGatewayPass /chat ws://127.0.0.1:<backend>/chat
# Open the printed URL in two browser windows and chat. Ctrl-C stops both.
# PORT=8080 by default: PORT=9000 build/demo.sh to change it.
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
port=${PORT:-8080}
sh build/deps.sh
sh build/build.sh
make t/backend/wsgw-test-backend >/dev/null

run="$top/demo/run"
rm -rf "$run"
mkdir -p "$run/logs"
libexec=$(apxs -q LIBEXECDIR)
httpd=$(apxs -q SBINDIR)/$(apxs -q TARGET)

"$top/t/backend/wsgw-test-backend" --port 0 --port-file "$run/backend.port" \
    --pid-file "$run/backend.pid" --name chat >"$run/logs/backend.log" 2>&1 &
backend_pid=$!
i=0
while [ ! -s "$run/backend.port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $backend_pid 2>/dev/null; then
        echo "the chat backend did not start; see $run/logs/backend.log" >&2
        exit 1
    fi
    sleep 0.1
done
bport=$(cat "$run/backend.port")

user_lines=""
if [ "$(id -u)" -eq 0 ]; then
    user_lines="User nobody
Group nogroup"
    d="$top"
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    chmod -R o+rX "$top/demo" 2>/dev/null || true
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
LoadModule mime_module $libexec/mod_mime.so
LoadModule dir_module $libexec/mod_dir.so
LoadModule proxy_module $libexec/mod_proxy.so
LoadModule proxy_http_module $libexec/mod_proxy_http.so
LoadModule ws_gateway_module $top/.libs/mod_ws_gateway.so
TypesConfig /etc/mime.types
DocumentRoot $top/demo/htdocs
DirectoryIndex index.html
<Directory $top/demo/htdocs>
    Require all granted
</Directory>
CustomLog $run/logs/access_log "%h \"%r\" %>s %{ws-gateway-bytes-in}n/%{ws-gateway-bytes-out}n bytes, closed by %{ws-gateway-closed-by}n (%{ws-gateway-close-code}n)"

# The whole WebSocket recipe, one line:
WSGatewayPass /chat ws://127.0.0.1:$bport/chat
CONF

"$httpd" -f "$run/httpd.conf" -D FOREGROUND &
httpd_pid=$!
stop() {
    kill $httpd_pid $backend_pid 2>/dev/null || true
    wait $httpd_pid $backend_pid 2>/dev/null || true
    echo; echo "demo stopped"
}
trap stop INT TERM EXIT
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $httpd_pid 2>/dev/null; then
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
  Logs: $run/logs/   Ctrl-C stops everything.

MSG
wait $httpd_pid
