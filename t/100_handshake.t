# Handshake recognition and validation (SPEC §4): token lists across
# repeated headers, 400/426/403 for invalid handshakes, our own upgrade
# request to the backend, and the judgement of the backend's answer.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 63;

my $gw = gw_port();
errlog_start();

sub echo_ok {
    my ($c, $text) = @_;
    return 0 unless $c->{status} && $c->{status} == 101;
    ws_send($c, 1, $text);
    my $m = ws_recv_data($c, 5);
    return $m && $m->{payload} eq $text;
}

# --- recognised handshakes -------------------------------------------------
my $c = ws_connect(path => '/c/echo');
ok t_cmp($c->{status}, 101, 'plain handshake: 101');
ok $c->{accept_ok}, 'Sec-WebSocket-Accept matches our key';
ok t_cmp($c->{headers}{upgrade}, qr/^websocket$/i, '101 carries Upgrade: websocket');
ok t_cmp($c->{headers}{connection}, qr/^Upgrade$/i, '101 carries Connection: Upgrade only');
ok !exists $c->{headers}{'keep-alive'}, 'no Keep-Alive header on the 101';
ok t_cmp($c->{headers}{'x-backend-name'}, 'echo', "backend's own 101 headers pass");
ok echo_ok($c, 'hello'), 'echo after a plain handshake';

$c = ws_connect(path => '/c/echo', headers => [[Connection => 'keep-alive, Upgrade']]);
ok echo_ok($c, 'firefox'), "Firefox's 'Connection: keep-alive, Upgrade'";
$c = ws_connect(path => '/c/echo', headers => [[Upgrade => 'WebSocket']]);
ok echo_ok($c, 'case'), "'Upgrade: WebSocket' (case-insensitive)";
$c = ws_connect(path => '/c/echo',
                headers => [[Connection => 'keep-alive'], [Connection => 'Upgrade', 1]]);
ok echo_ok($c, 'repeated'), 'Connection tokens across repeated header lines';
$c = ws_connect(path => '/c/echo', headers => [[Upgrade => 'h2c, websocket']]);
ok echo_ok($c, 'list'), 'websocket as the second token of Upgrade';

# Upgrade without the Connection token is no handshake: plain HTTP.
my $res = http_request(path => '/c/plain', headers => [[Upgrade => 'websocket']]);
ok t_cmp($res->{status}, 200, 'Upgrade without Connection: upgrade is a plain request');
ok !($res->{body} =~ /^h:Upgrade:/mi), 'and Upgrade is not passed on (hop-by-hop)';

# --- invalid handshakes ----------------------------------------------------
$c = ws_connect(path => '/c/echo', protocol => 'HTTP/1.0');
ok t_cmp($c->{status}, 400, 'upgrade over HTTP/1.0: 400');
$c = ws_connect(path => '/c/echo', method => 'POST', headers => [['Content-Length' => 0]]);
ok t_cmp($c->{status}, 400, 'upgrade with POST: 400');
$c = ws_connect(path => '/c/echo', headers => [['Content-Length' => 5]], after => 'hello');
ok t_cmp($c->{status}, 400, 'GET upgrade with a body (Content-Length): 400');
$c = ws_connect(path => '/c/echo', headers => [['Transfer-Encoding' => 'chunked']], after => "5\r\nhello\r\n0\r\n\r\n");
ok t_cmp($c->{status}, 400, 'GET upgrade with a chunked body: 400');
$c = ws_connect(path => '/c/echo', headers => [['Content-Length' => 0]]);
ok echo_ok($c, 'cl0'), 'Content-Length: 0 is no body: the upgrade goes through';
$c = ws_connect(path => '/c/echo', key => undef);
ok t_cmp($c->{status}, 400, 'missing Sec-WebSocket-Key: 400');
$c = ws_connect(path => '/c/echo', key => 'not-base64-at-all');
ok t_cmp($c->{status}, 400, 'malformed Sec-WebSocket-Key: 400');
$c = ws_connect(path => '/c/echo', key => 'c2hvcnQ=');
ok t_cmp($c->{status}, 400, 'key of 5 bytes: 400');
$c = ws_connect(path => '/c/echo', headers => [['Sec-WebSocket-Version' => '8']]);
ok t_cmp($c->{status}, 426, 'version 8: 426');
ok t_cmp($c->{headers}{'sec-websocket-version'}, '13', '426 names version 13');
$c = ws_connect(path => '/c/echo', drop => ['Sec-WebSocket-Version']);
ok t_cmp($c->{status}, 426, 'missing version: 426');

# Origin policy.
$c = ws_connect(path => '/origin/echo', headers => [[Origin => 'https://evil.example']]);
ok t_cmp($c->{status}, 403, 'disallowed Origin: 403');
$c = ws_connect(path => '/origin/echo', headers => [[Origin => 'https://good.example']]);
ok echo_ok($c, 'good'), 'listed Origin is allowed';
$c = ws_connect(path => '/origin/echo', headers => [[Origin => 'http://127.0.0.1']]);
ok echo_ok($c, 'good2'), 'second listed Origin is allowed';
$c = ws_connect(path => '/origin/echo');
ok echo_ok($c, 'none'), 'no Origin (non-browser client) is allowed';
$c = ws_connect(path => '/c/echo', headers => [[Origin => 'https://anything.example']]);
ok echo_ok($c, 'any'), 'default policy (*) allows any Origin';

# --- what the backend receives ---------------------------------------------
$c = ws_connect(path => '/c/headers?x=1',
                headers => [[Connection => 'keep-alive, Upgrade, X-Hop'],
                            ['X-Hop' => 'secret'], ['Keep-Alive' => '300'],
                            [Origin => 'https://app.example'], [Cookie => 'sid=42'],
                            ['Sec-WebSocket-Protocol' => 'chat, superchat'],
                            ['X-Forwarded-Proto' => 'https'], ['X-End-To-End' => 'yes']]);
ok t_cmp($c->{status}, 101, 'handshake with extra headers');
ok t_cmp($c->{headers}{'sec-websocket-protocol'}, 'chat', 'subprotocol chosen by the backend reaches the client');
my $m = ws_recv_data($c, 5);
my $h = $m ? $m->{payload} : '';
ok t_cmp($h, qr{^GET /headers\?x=1 HTTP/1\.1\r?$}m, 'request line with the query');
ok t_cmp($h, qr/^Upgrade: websocket\r?$/mi, 'our own Upgrade: websocket');
ok t_cmp($h, qr/^Connection: Upgrade\r?$/mi, 'our own Connection: Upgrade');
ok !($h =~ /^X-Hop:/mi), 'headers named in Connection are dropped';
ok !($h =~ /^Keep-Alive:/mi), 'Keep-Alive is dropped';
ok t_cmp($h, qr/^Sec-WebSocket-Key: \Q$c->{key}\E\r?$/m, "client's key forwarded unchanged");
ok t_cmp($h, qr/^Sec-WebSocket-Version: 13\r?$/m, 'version forwarded');
ok t_cmp($h, qr/^Sec-WebSocket-Protocol: chat, superchat\r?$/m, 'subprotocols forwarded');
ok t_cmp($h, qr{^Origin: https://app\.example\r?$}m, 'Origin forwarded');
ok t_cmp($h, qr/^Cookie: sid=42\r?$/m, 'cookies forwarded');
ok t_cmp($h, qr/^X-End-To-End: yes\r?$/m, 'end-to-end headers forwarded');
ok t_cmp($h, qr/^X-Forwarded-For: 127\.0\.0\.1\r?$/m, 'X-Forwarded-For added');
ok t_cmp($h, qr/^X-Forwarded-Host: 127\.0\.0\.1:$gw\r?$/m, 'X-Forwarded-Host added');
ok t_cmp($h, qr/^X-Forwarded-Proto: http\r?$/m, "X-Forwarded-Proto set by the gateway, not the client's");
ok t_cmp($h, qr/^Host: 127\.0\.0\.1:$ENV{WSGW_ECHO_PORT}\r?$/m, 'Host is the backend (no ProxyPreserveHost)');

# --- the backend's answer ----------------------------------------------------
$c = ws_connect(path => '/c/bad-accept');
ok t_cmp($c->{status}, 502, '101 with a wrong accept: 502');
$c = ws_connect(path => '/c/no-accept');
ok t_cmp($c->{status}, 502, '101 without accept: 502');
$c = ws_connect(path => '/c/ok200');
ok t_cmp($c->{status}, 502, '200 to an upgrade: 502');
$c = ws_connect(path => '/c/close-early');
ok t_cmp($c->{status}, 503, 'backend closing before answering: 503 (no member could serve)');
$c = ws_connect(path => '/dead/echo');
ok t_cmp($c->{status}, 503, 'dead backend: 503');

# A refusal is relayed as HTTP, and the connection is closed: anything the
# client pipelined behind its handshake is never served (no smuggling).
$c = ws_connect(path => '/c/status/404',
                after => "GET /c/smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
ok t_cmp($c->{status}, 404, "backend's 404 relayed");
my $rest = read_until_eof($c, 10);
ok t_cmp($rest, qr/status 404 from echo/, 'with its body');
ok !($rest =~ m{HTTP/1\.1 \d{3}}), 'no second response on that connection';
ok $c->{eof}, 'client connection closed after the relayed answer';
$c = ws_connect(path => '/c/status/503');
ok t_cmp($c->{status}, 503, "backend's 503 relayed");
ok t_cmp(read_until_eof($c, 10), qr/status 503 from echo/, 'with its body');

# Bytes the backend sent with its 101 arrive first, in order.
$c = ws_connect(path => '/c/pipeline');
ok t_cmp($c->{status}, 101, 'pipeline backend upgrades');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'hello-from-backend', 'frame sent with the 101 is delivered');
ok echo_ok($c, 'after'), 'and the tunnel works after it';

# Bytes the client pipelined after its handshake are delivered.
{
    my $frame = chr(0x81) . chr(0x80 | 9) . "\0\0\0\0" . 'pipelined';
    $c = ws_connect(path => '/c/echo', after => $frame);
    $m = ws_recv_data($c, 5);
    ok t_cmp($m && $m->{payload}, 'pipelined', 'frame pipelined with the handshake is delivered');
}

my @bad = errlog_unexpected(qw(WSGW00201 WSGW00203 WSGW00207 WSGW00210 WSGW00501 WSGW00502 AH00957 AH00959 AH01114 AH00898));
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
my @ids = map { /(WSGW\d{5})/ ? $1 : () } errlog_lines();
ok t_cmp(join(' ', sort { $a cmp $b } keys %{{ map { $_ => 1 } grep { /WSGW001|WSGW002/ } @ids }}),
         qr/WSGW00101.*WSGW00102.*WSGW00103.*WSGW00104.*WSGW00105.*WSGW00107.*WSGW00201.*WSGW00203.*WSGW00207.*WSGW00210/,
         'each refusal was logged with its message ID');
