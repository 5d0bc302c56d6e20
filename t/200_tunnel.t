# The tunnel (SPEC §6): echo of every kind, ordering, large messages,
# concurrency, backpressure with bounded memory, half-close, tunnel mode,
# no idle cut by default, garbage, and interoperability with an independent
# implementation (python3-websockets) as client and as backend.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Digest::SHA qw(sha256_hex);
use Socket qw(SHUT_WR);
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 48;

my $gw = gw_port();
errlog_start();
my $framelog = top_dir() . '/t/logs/echo-frames.log';

# Text and binary echo, fragmented messages, client pings.
my $c = ws_connect(path => '/c/echo');
ok t_cmp($c->{status}, 101, 'upgraded');
ws_send($c, 1, 'text message');
my $m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{op}, 1, 'text stays text');
ok t_cmp($m && $m->{payload}, 'text message', 'text echo');
my $bin = join '', map { chr($_ % 256) } 0 .. 1000;
ws_send($c, 2, $bin);
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{op}, 2, 'binary stays binary');
ok(($m && $m->{payload} eq $bin), 'binary echo, all byte values');
ws_send($c, 1, 'frag-', fin => 0);
ws_send($c, 9, 'ping-in-between');
ws_send($c, 0, 'mented', fin => 0);
ws_send($c, 0, '!', fin => 1);
# The backend echoes frame by frame: the frames come back as they went.
my @seq = map { ws_recv($c, 5) } 1 .. 4;
my $seq = join ' ', map { $_ ? "$_->{op}/$_->{fin}/$_->{payload}" : 'none' } @seq;
ok t_cmp($seq, '1/0/frag- 10/1/ping-in-between 0/0/mented 0/1/!',
         "fragments in order, the backend's pong to a ping between them passes");
ok ws_send($c, 2, ''), 'empty message sent';
$m = ws_recv_data($c, 5);
ok(($m && $m->{payload} eq '' && $m->{op} == 2), 'empty message echoed');
ws_send($c, 8, pack('n', 1000) . 'bye');
my $close = ws_recv($c, 5);
ok t_cmp($close && $close->{op}, 8, 'close echoed by the backend');
my ($code) = $close ? ws_close_payload($close) : (0);
ok t_cmp($code, 1000, 'with code 1000');
read_until_eof($c, 5);
ok $c->{eof}, 'connection ends after the close handshake';

# 10 x (48 KiB + small), interleaved, in order (our client, our backend).
$c = ws_connect(path => '/c/echo');
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
ok $inorder, '10 x (48 KiB + small) messages come back intact and in order';

# One 16 MiB message intact (digest), our client.
{
    my $big = join '', map { pack('N', $_ * 2654435761 % 4294967296) } 1 .. 4 * 1024 * 1024;
    $c = ws_connect(path => '/c/echo');
    # Reading while sending: a client that does not read its echo would
    # depend on the kernel's socket buffers holding 16 MiB along the path.
    ok ws_send_while_reading($c, 2, $big, timeout => 60), '16 MiB message sent';
    $m = ws_recv_data($c, 60);
    ok t_cmp($m && sha256_hex($m->{payload}), sha256_hex($big), '16 MiB message intact (SHA-256)');
}

# Tunnel mode copies bytes untouched.
$c = ws_connect(path => '/tun/echo');
ok t_cmp($c->{status}, 101, 'tunnel mode upgrade');
ws_send($c, 1, 'in tunnel mode');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'in tunnel mode', 'tunnel mode echo');

# Half-close (tunnel mode): the client stops sending; what it sent still
# comes back, then the backend's end arrives.
ws_send($c, 1, 'last words');
$c->{sock}->shutdown(SHUT_WR);
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'last words', 'echo after the client half-closed');
read_until_eof($c, 10);
ok $c->{eof}, 'the tunnel ends once the backend closes too';

# No idle cut by default: silent longer than Timeout/ProxyTimeout (4 s).
$c = ws_connect(path => '/c/echo');
my $early = ws_recv($c, 6);
ok !$early && !$c->{eof}, 'a silent tunnel stays open past Timeout and ProxyTimeout';
ws_send($c, 1, 'still here');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'still here', 'and works afterwards');

# Frames mode: protocol violations close with 1002.
$c = ws_connect(path => '/c/echo');
ws_send($c, 1, 'unmasked', mask => 0);
$close = ws_recv($c, 5);
ok t_cmp($close && $close->{op}, 8, 'unmasked client frame: Close from the gateway');
($code) = $close ? ws_close_payload($close) : (0);
ok t_cmp($code, 1002, 'with 1002');
ok !($close && $close->{masked}), 'the gateway does not mask frames to clients';
read_until_eof($c, 10);
ok $c->{eof}, 'and the connection is closed';

$c = ws_connect(path => '/c/echo');
ws_send($c, 3, 'reserved opcode');
$close = ws_recv($c, 5);
($code) = $close ? ws_close_payload($close) : (0);
ok t_cmp($code, 1002, 'reserved opcode: 1002');

# A Close with a code no peer may send (RFC 6455 §7.4): 1002 to the client,
# and the backend gets a whole Close 1001, never the start of the client's
# Close (its code is only known at its end).
for my $bad (1005, 1006, 999, 5000) {
    $c = ws_connect(path => "/c/echo?badclose=$bad");
    ws_send($c, 8, pack('n', $bad));
    $close = ws_recv($c, 5);
    ($code) = $close && $close->{op} == 8 ? ws_close_payload($close) : (0);
    ok t_cmp($code, 1002, "client Close with code $bad: 1002 to the client");
    my @got;
    wait_until(10, sub {
        open my $fh, '<', $framelog or return 0;
        @got = map { m{^\d+ \S+ (.*)$} ? $1 : () }
               grep { m{ /echo\?badclose=$bad } } <$fh>;
        return grep { /^closed/ } @got;
    });
    ok t_cmp(join(' | ', @got), 'open | rx op=8 fin=1 len=2 code=1001 | closed',
             "client Close with code $bad: the backend gets Close 1001, no partial frame");
}

# Garbage after the handshake never hurts httpd.
for my $mode ('/c/echo', '/tun/echo') {
    $c = ws_connect(path => $mode);
    $c->{sock}->syswrite(join '', map { chr(int(rand(256))) } 1 .. 65536);
    read_until_eof($c, 10);
    ok $c->{eof}, "garbage after the handshake ($mode): connection closed";
}
my $res = http_request(path => '/c/alive');
ok t_cmp($res->{status}, 200, 'httpd still serves after garbage');

# Backpressure: a client that never reads while the backend floods 64 MiB
# keeps httpd's memory bounded.
{
    my $before = httpd_children_rss();
    $c = ws_connect(path => '/c/flood?mb=64');
    ok t_cmp($c->{status}, 101, 'flood tunnel open');
    # Wait until the flood has filled the client's receive queue (the path
    # is then backed up), then give memory a bounded chance to run away.
    my $full = wait_until(15, sub { tcp_rx_queue($c->{sock}) > 60000 });
    ok $full, 'the flood backed up to the non-reading client';
    my $grew = wait_until(3, sub { httpd_children_rss() - $before > 16 * 1024 });
    my $during = httpd_children_rss();
    my $grow_kib = $during - $before;
    t_debug("httpd children RSS before $before KiB, during $during KiB");
    ok $grow_kib < 16 * 1024, "httpd memory bounded while the client does not read (grew $grow_kib KiB)";
    # Now read it all: every byte arrives.
    my ($got, $frames) = (0, 0);
    while (my $f = ws_recv($c, 20)) {
        last if $f->{op} == 8;
        $got += length $f->{payload};
    }
    ok t_cmp($got, 64 * 1024 * 1024, 'all 64 MiB arrive once the client reads');
}

# Independent implementation as client (python3-websockets) against our C
# backend and against the python backend; concurrency; deflate end to end.
my ($rc, $out) = run_py_client('echo', "ws://127.0.0.1:$gw/c/echo", 20);
ok t_cmp($rc, 0, "python client echo through the gateway: $out");
($rc, $out) = run_py_client('echo', "ws://127.0.0.1:$gw/py/echo", 20);
ok t_cmp($rc, 0, "python client to python backend: $out");
($rc, $out) = run_py_client('interleave', "ws://127.0.0.1:$gw/py/echo", 10);
ok t_cmp($rc, 0, "python: 10 x (48 KiB + small) in order: $out");
($rc, $out) = run_py_client('big', "ws://127.0.0.1:$gw/py/echo", 16);
ok t_cmp($rc, 0, "python: 16 MiB message intact: $out");
($rc, $out) = run_py_client('deflate', "ws://127.0.0.1:$gw/py/echo");
ok t_cmp($rc, 0, "permessage-deflate negotiated end to end (RSV1 passes frames mode): $out");
# Under prefork each tunnel is a process, started at most 32 a second.
my $conc = ($ENV{WSGW_MPM} // '') eq 'prefork' ? 100 : 500;
($rc, $out) = run_py_client('concurrent', "ws://127.0.0.1:$gw/c/echo", $conc, 10);
ok t_cmp($rc, 0, "$conc concurrent tunnels x 10 messages: $out");
ok t_cmp($out, qr/open at once: $conc\b/, "all $conc were open at the same time");

my @bad = errlog_unexpected();
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
