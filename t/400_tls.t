# TLS on both sides: a TLS front through mod_ssl (bytes decrypted and held
# inside mod_ssl must not be stranded), wss:// backends with SNI and
# certificate verification (SSLProxyVerify, SSLProxyCACertificateFile,
# SSLProxyCheckPeerName), failures answered 502 or failed over (SPEC §5),
# 16 MiB messages, X-Forwarded-Proto, and the startup check for a missing
# SSLProxyEngine. The test CA and certificates are made for the run by
# t/TEST.PL (t/logs/tls); every connection is on 127.0.0.1.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Digest::SHA qw(sha256_hex);
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 62;

my $tls = tls_port();
my $gw = gw_port();
errlog_start();

# ---- TLS front, plain backend -------------------------------------------
my $c = ws_connect(tls => 1, path => '/c/echo');
ok t_cmp($c->{status}, 101, 'TLS front: upgraded');
ok $c->{accept_ok}, 'TLS front: Sec-WebSocket-Accept is right';
ws_send($c, 1, 'over tls');
my $m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'over tls', 'TLS front: text echo');
my $bin = join '', map { chr($_ % 256) } 0 .. 70000;
ws_send($c, 2, $bin);
$m = ws_recv_data($c, 10);
ok(($m && $m->{op} == 2 && $m->{payload} eq $bin), 'TLS front: 70 KB binary echo, all byte values');

# Many frames in one TLS write: mod_ssl decrypts more than one read takes,
# and the socket will not say so; every echo must still come back.
my $burst = join '', map { ws_frame(1, "burst-$_") } 1 .. 200;
$c->{sock}->syswrite($burst);
my $all = 1;
for my $i (1 .. 200) {
    $m = ws_recv_data($c, 5);
    $all = 0 unless $m && $m->{payload} eq "burst-$i";
}
ok $all, 'TLS front: 200 frames in one TLS write all echoed, in order';

# Interleaved large and small messages.
my @sent;
for my $i (1 .. 10) {
    my $big = "$i:" . ('x' x (48 * 1024 - 10)) . ":$i";
    ws_send($c, 2, $big);
    ws_send($c, 1, "small-$i");
    push @sent, $big, "small-$i";
}
my $inorder = 1;
for my $want (@sent) {
    $m = ws_recv_data($c, 10);
    $inorder = 0 unless $m && $m->{payload} eq $want;
}
ok $inorder, 'TLS front: 10 x (48 KiB + small) intact and in order';
ws_send($c, 8, pack('n', 1000));
my $close = ws_recv($c, 5);
ok t_cmp($close && $close->{op}, 8, 'TLS front: close echoed');
read_until_eof($c, 10);
ok $c->{eof}, 'TLS front: connection ends after the close handshake';

# A client that vanishes without close_notify (TCP FIN only): through
# mod_ssl a non-blocking read at the socket's end looks like "no data
# yet", so the tunnel must take the FIN itself as the end, at once, in
# both modes (after 0.2 s async tunnels run in the reactor).
for my $hold (0, 0.2) {
    my $tag = "vanish$hold-$$";
    $c = ws_connect(tls => 1, path => "/c/echo?$tag");
    ws_send($c, 1, 'before vanishing');
    $m = ws_recv_data($c, 5);
    select(undef, undef, undef, $hold) if $hold;
    $c->{sock}->close(SSL_no_shutdown => 1);
    my ($line) = ();
    my $t0 = time;
    wait_until(10, sub {
        ($line) = grep { m{/c/echo\?$tag } } tls_access_log_lines();
        return $line;
    });
    ok t_cmp($line // '', qr/ code=1006 by=client /,
             "TLS front: a client gone without close_notify ends its tunnel ($tag)");
    ok time - $t0 < 3, sprintf('at once, not at a timeout (%.1f s)', time - $t0);
}

# A frame pipelined in the same TLS write as the handshake.
$c = ws_connect(tls => 1, path => '/c/echo', after => ws_frame(1, 'pipelined'));
ok t_cmp($c->{status}, 101, 'TLS front, pipelined frame: upgraded');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'pipelined', 'the frame sent with the handshake comes back');

# X-Forwarded-Proto says https on a TLS front, whatever the client claims.
$c = ws_connect(tls => 1, path => '/c/headers',
                headers => [['X-Forwarded-Proto' => 'http']]);
$m = ws_recv_data($c, 5);
my $head = $m ? $m->{payload} : '';
ok t_cmp($head, qr/^X-Forwarded-Proto: https\r?$/mi, 'X-Forwarded-Proto: https on the TLS front');
ok t_cmp(scalar(() = $head =~ /^X-Forwarded-Proto:/mig), 1, "the client's own X-Forwarded-Proto is replaced");
$c = ws_connect(path => '/c/headers');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, qr/^X-Forwarded-Proto: http\r?$/mi, 'and http on the plain front');

# ---- TLS to the backend --------------------------------------------------
$c = ws_connect(tls => 1, path => '/wss/echo');
ok t_cmp($c->{status}, 101, 'wss front and back: upgraded');
ws_send($c, 1, 'tls both ways');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'tls both ways', 'wss front and back: echo');
ws_send($c, 2, $bin);
$m = ws_recv_data($c, 10);
ok(($m && $m->{payload} eq $bin), 'wss front and back: 70 KB binary echo');

# Bytes the TLS backend sent with its 101 (held in the origin's filters).
$c = ws_connect(tls => 1, path => '/wss/pipeline');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'hello-from-backend', 'wss backend: the frame sent with its 101 arrives');

# Plain front, TLS backend, SSLProxyEngine in <ProxyMatch>.
$c = ws_connect(path => '/tls-back/echo');
ok t_cmp($c->{status}, 101, 'plain front, wss backend (<Proxy> section): upgraded');
ws_send($c, 1, 'plain to tls');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'plain to tls', 'plain front, wss backend: echo');
my $res = http_request(path => '/tls-back/plain?x=1');
ok t_cmp($res->{status}, 200, 'plain request under a wss mapping goes to https://');
ok t_cmp($res->{body}, qr{^backend=wss$}m, 'served by the TLS backend');

# <Location> form with a wss URL.
$c = ws_connect(tls => 1, path => '/wss-loc/echo');
ok t_cmp($c->{status}, 101, '<Location> mapping to a wss backend: upgraded');
ws_send($c, 1, 'loc');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'loc', '<Location> mapping to a wss backend: echo');

# python3-websockets as the TLS backend, and as the client.
{
    local $ENV{SSL_CERT_FILE} = tls_dir() . '/ca.pem';
    my ($rc, $out) = run_py_client('echo', "wss://127.0.0.1:$tls/pywss/echo", 10);
    ok t_cmp($rc, 0, "python client, wss front, python wss backend: $out");
    ($rc, $out) = run_py_client('echo', "wss://127.0.0.1:$tls/wss/echo", 10);
    ok t_cmp($rc, 0, "python client, wss front, C wss backend: $out");
    ($rc, $out) = run_py_client('concurrent', "wss://127.0.0.1:$tls/wss/echo", 50, 5);
    ok t_cmp($rc, 0, "python client: 50 concurrent wss tunnels to a wss backend: $out");
}

# SNI: a host name in the backend URL is sent as the TLS server name.
$c = ws_connect(tls => 1, path => '/sni/sni');
ok t_cmp($c->{status}, 101, 'wss://localhost:PORT backend: upgraded (name verified)');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'sni=localhost', 'the backend got SNI localhost');

# ---- certificate verification -------------------------------------------
$c = ws_connect(tls => 1, path => '/untrusted/echo');
ok t_cmp($c->{status}, 502, 'backend certificate from an unknown CA: 502');
ok !$c->{headers}{upgrade}, 'and no upgrade';
my @l = grep { /WSGW00403/ } errlog_lines();
ok t_cmp($l[-1] // '', qr/wss:\/\/127\.0\.0\.1:$ENV{WSGW_WSS_UNTRUSTED_PORT}.*SSLProxyCACertificateFile/,
         'logged: which backend, and the directive that fixes it');
$c = ws_connect(tls => 1, path => '/wrongname/echo');
ok t_cmp($c->{status}, 502, 'backend certificate for another name: 502');
ok t_cmp(scalar(grep { /WSGW00403/ && /localhost:$ENV{WSGW_WSS_WRONGNAME_PORT}/ } errlog_lines()), 1,
         'logged once, naming that backend');
$c = ws_connect(tls => 1, path => '/untrusted-fo');
ok t_cmp($c->{status}, 101, 'untrusted first member: the next member serves (failover)');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'wss', 'served by the trusted member');
$res = http_request(tls => 1, path => '/untrusted-fo/plain?x=1');
ok t_cmp($res->{status}, 200, 'plain request, untrusted first member: the next member serves (failover)');
ok t_cmp($res->{body}, qr/^backend=wss$/m, 'served by the trusted member');
$res = http_request(tls => 1, path => '/untrusted/plain');
# Plain requests are mod_proxy_http's: it answers 500 for a failed TLS
# handshake (AH00898).
ok t_cmp($res->{status}, 500, 'plain request to the untrusted backend: mod_proxy_http answers 500');

# ---- 16 MiB over TLS front and back -------------------------------------
{
    my $big = join '', map { pack('N', $_ * 2654435761 % 4294967296) } 1 .. 4 * 1024 * 1024;
    for my $path ('/wss/echo', '/c/echo') {
        $c = ws_connect(tls => 1, path => $path);
        ok ws_send_while_reading($c, 2, $big, timeout => 60), "16 MiB message sent over TLS ($path)";
        $m = ws_recv_data($c, 60);
        ok t_cmp($m && sha256_hex($m->{payload}), sha256_hex($big), "16 MiB message intact over TLS ($path)");
    }
    local $ENV{SSL_CERT_FILE} = tls_dir() . '/ca.pem';
    my ($rc, $out) = run_py_client('big', "wss://127.0.0.1:$tls/pywss/echo", 16);
    ok t_cmp($rc, 0, "python: 16 MiB, wss front, python wss backend: $out");
    ($rc, $out) = run_py_client('big', "wss://127.0.0.1:$tls/wss/echo", 16);
    ok t_cmp($rc, 0, "python: 16 MiB, wss front, C wss backend: $out");
}

# ---- backpressure over TLS: a client that does not read -----------------
{
    $c = ws_connect(tls => 1, path => '/wss/flood?mb=32');
    ok t_cmp($c->{status}, 101, 'TLS flood tunnel open');
    my $full = wait_until(15, sub { tcp_rx_queue($c->{sock}) > 60000 });
    ok $full, 'the flood backed up to the non-reading TLS client';
    # Backed up, the tunnel must sleep until the client reads, not spin.
    sleep 1;
    my $cpu = httpd_children_cpu();
    sleep 3;
    $cpu = httpd_children_cpu() - $cpu;
    ok $cpu < 50, "httpd idles while the TLS client does not read ($cpu ticks in 3 s)";
    my ($got) = (0);
    while (my $f = ws_recv($c, 20)) {
        last if $f->{op} == 8;
        $got += length $f->{payload};
    }
    ok t_cmp($got, 32 * 1024 * 1024, 'all 32 MiB arrive once the client reads');
}

# ---- access log -----------------------------------------------------------
my @acc = grep { m{"GET /wss/echo } } tls_access_log_lines();
ok t_cmp($acc[-1] // '', qr{HTTP/1\.1" 101 tls=TLSv1\.[23] ws=wss://127\.0\.0\.1:$ENV{WSGW_WSS_PORT}/},
         'TLS access log: 101 over TLS, the wss backend named');

# ---- startup check: SSLProxyEngine --------------------------------------
my ($st, $out) = config_start("WSGatewayPass /x wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/\n",
                               modules => ['socache_shmcb', 'ssl']);
ok t_cmp($st, qr/^[1-9]/, 'wss backend without SSLProxyEngine: httpd refuses to start');
ok t_cmp($out, qr/WSGW00401: .*WSGatewayPass \/x.*wss:\/\/127\.0\.0\.1:$ENV{WSGW_WSS_PORT}.*SSLProxyEngine on/,
         'the error names the mapping, the backend and the fix') or t_debug($out);
($st, $out) = config_start("WSGatewayPass /x wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/\n");
ok t_cmp($st, qr/^[1-9]/, 'wss backend without mod_ssl: httpd refuses to start');
ok t_cmp($out, qr/WSGW00402: .*mod_ssl/, 'the error says to load mod_ssl') or t_debug($out);
($st, $out) = config_start("SSLProxyEngine on\nWSGatewayPass /x wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/\n",
                           modules => ['socache_shmcb', 'ssl']);
ok t_cmp($st, 'running', 'with SSLProxyEngine on: httpd starts') or t_debug($out);
($st, $out) = config_start("<Proxy wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/>\nSSLProxyEngine on\n</Proxy>\n"
                           . "WSGatewayPass /x wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/\n",
                           modules => ['socache_shmcb', 'ssl']);
ok t_cmp($out, qr/WSGW00401: .*https:\/\/127\.0\.0\.1:$ENV{WSGW_WSS_PORT}/,
         'SSLProxyEngine only for wss:// in <Proxy>: the plain (https://) side is reported')
    or t_debug($out);
($st, $out) = config_start("<Proxy wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/>\nSSLProxyEngine on\n</Proxy>\n"
                           . "WSGatewayPass /x wss://127.0.0.1:$ENV{WSGW_WSS_PORT}/ http=off\n",
                           modules => ['socache_shmcb', 'ssl']);
ok t_cmp($st, 'running', 'SSLProxyEngine in <Proxy wss://…> with http=off: httpd starts') or t_debug($out);
($st, $out) = config_start("<VirtualHost 127.0.0.1:1>\nSSLProxyEngine on\n</VirtualHost>\n"
                           . "<Proxy balancer://b>\nBalancerMember wss://127.0.0.1:$ENV{WSGW_WSS_PORT}\n</Proxy>\n"
                           . "WSGatewayPass /x balancer://b/\n",
                           modules => ['socache_shmcb', 'ssl', 'slotmem_shm', 'proxy_balancer',
                                       'lbmethod_byrequests']);
ok t_cmp($out, qr/WSGW00401: .*balancer member.*wss:\/\/127\.0\.0\.1:$ENV{WSGW_WSS_PORT}.*<Proxy balancer:\/\/b\/>/,
         'a wss balancer member without SSLProxyEngine (only another vhost has it) is reported')
    or t_debug($out);

my @bad = errlog_unexpected(
    'WSGW00403',            # our TLS handshake failure lines (expected above)
    'AH02039', 'AH02040',   # mod_ssl: certificate verification failed
    'AH02411', 'AH02412',   # mod_ssl: peer name mismatch
    'AH01084', 'AH00898',   # mod_proxy: pass failed / SSL handshake error
    'AH01097', 'AH00957', 'AH01114', 'AH01102', 'AH02003', 'AH02005',
    'WSGW00502', 'WSGW00501');
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
