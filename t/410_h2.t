# WebSockets over HTTP/2 (RFC 8441): mod_http2 with H2WebSockets on turns
# an extended CONNECT (:protocol websocket) into a GET upgrade on a
# secondary connection; the gateway must tunnel it like an HTTP/1.1
# upgrade, forward mod_http2's own Sec-WebSocket-Key unchanged (mod_http2
# checks the backend's accept against it and turns the 101 into a 200),
# poll the stream's pipe, and end the stream when the tunnel ends. The
# client is Debian's python3-h2 (t/clients/h2_ws_client.py): several
# streams at once on one TLS connection.
#
# mod_http2 runs at most 6 streams of a fresh connection at the same time
# (h2_mplx's processing_limit starts at 6 and only grows as streams
# complete), and a WebSocket stream holds its slot for its whole life: a
# seventh WebSocket on the same connection waits until one ends. The tests
# use 6 at once, and check that a seventh and eighth are served as soon
# as two of the first six close.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 25;

my $base = 'https://127.0.0.1:' . tls_port();
errlog_start();

my ($rc, $out) = run_h2_client('echo', "$base/c/echo", 1, 3);
ok t_cmp($rc, 0, "one h2 WebSocket, plain backend: $out");
ok t_cmp($out, qr/enable_connect_protocol=1/, 'the server offers extended CONNECT');

($rc, $out) = run_h2_client('echo', "$base/c/echo", 6, 10);
ok t_cmp($rc, 0, "6 h2 WebSockets at once on one connection, C backend: $out");
ok t_cmp($out, qr/every stream ended by the server/, 'every stream ended after its close handshake');

($rc, $out) = run_h2_client('echo', "$base/py/echo", 6, 10);
ok t_cmp($rc, 0, "6 h2 WebSockets at once, python3-websockets backend: $out");

($rc, $out) = run_h2_client('echo', "$base/wss/echo", 6, 10);
ok t_cmp($rc, 0, "6 h2 WebSockets at once, wss (TLS) backend: $out");

($rc, $out) = run_h2_client('limit', "$base/c/echo", 8, 6);
ok t_cmp($rc, 0, "8 at once: mod_http2 serves 6, the others once two close: $out");

($rc, $out) = run_h2_client('echo', "$base/pywss/echo", 5, 5);
ok t_cmp($rc, 0, "5 h2 WebSockets at once, python wss backend: $out");

# mod_http2's key reaches the backend unchanged: it checks the accept the
# backend computed from it, so a 200 proves it; the backend shows it too.
($rc, $out) = run_h2_client('first', "$base/c/headers");
ok t_cmp($rc, 0, "h2: the backend's view of the request: $out");
ok t_cmp($out, qr/^Sec-WebSocket-Key: \S{22}==\r?$/mi, 'the backend got a Sec-WebSocket-Key (mod_http2 made it)');
ok t_cmp($out, qr/^Upgrade: websocket\r?$/mi, 'and our own Upgrade: websocket');
ok t_cmp($out, qr/^X-Forwarded-Proto: https\r?$/mi, 'X-Forwarded-Proto: https (the h2 connection is TLS)');
ok t_cmp($out, qr/^Sec-WebSocket-Version: 13\r?$/mi, 'the client\'s Sec-WebSocket-Version passes');

# Bytes the backend sent with its 101.
($rc, $out) = run_h2_client('first', "$base/c/pipeline");
ok t_cmp($out, qr/^hello-from-backend$/m, 'h2: the frame the backend sent with its 101 arrives');

# Large messages through the h2 flow control windows.
($rc, $out) = run_h2_client('big', "$base/c/echo", 16);
ok t_cmp($rc, 0, "h2: 16 MiB message, plain backend: $out");
($rc, $out) = run_h2_client('big', "$base/wss/echo", 16);
ok t_cmp($rc, 0, "h2: 16 MiB message, wss backend: $out");

# The backend ends the conversation: the stream must end without the
# client ending its side first.
($rc, $out) = run_h2_client('serverclose', "$base/c/close-after?n=1");
ok t_cmp($rc, 0, "h2: the backend closes first, the server ends the stream: $out");

# A silent h2 WebSocket outlives Timeout (4 s) like an HTTP/1.1 one.
($rc, $out) = run_h2_client('idle', "$base/c/echo", 6);
ok t_cmp($rc, 0, "h2: silent 6 s (Timeout is 4), then an echo: $out");

# Errors come back as HTTP/2 responses.
($rc, $out) = run_h2_client('status', "$base/dead/x");
ok t_cmp($out, qr/^status 503$/m, 'h2: dead backend: 503');
($rc, $out) = run_h2_client('status', "$base/h2err");
ok t_cmp($out, qr/^status 502$/m, 'h2: backend with a wrong accept: 502');
($rc, $out) = run_h2_client('status', "$base/untrusted/x");
ok t_cmp($out, qr/^status 502$/m, 'h2: untrusted TLS backend: 502');
($rc, $out) = run_h2_client('status', "$base/c/status/403");
ok t_cmp($out, qr/^status 403$/m, 'h2: backend refuses with 403: relayed');

# The access log shows the h2 tunnels.
my @acc = grep { m{"GET /c/echo HTTP/2\.0" 101 } } tls_access_log_lines();
ok @acc >= 14, 'TLS access log: h2 WebSocket tunnels logged as HTTP/2.0, 101';
ok t_cmp($acc[-1] // '', qr/by=(client|backend) /, 'with how they closed');

my @bad = errlog_unexpected('WSGW00501', 'WSGW00502', 'WSGW00201', 'WSGW00210',
                            'WSGW00403', 'AH01084', 'AH00898', 'AH00957',
                            'AH01114', 'AH02039', 'AH10462', 'AH00959');
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
