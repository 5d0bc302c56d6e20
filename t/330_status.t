# Shared counters, the ws-gateway-status page (HTML and JSON), connection
# limits across processes and per client address, exact counts after
# killed clients, and the access-log notes with known payloads.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use POSIX ();
use File::Spec;
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 31;

errlog_start();

# Minimal JSON reading: the schema is flat enough for regexes per mapping.
sub mapping_json {
    my ($path) = @_;
    my $res = http_request(path => '/ws-status?json');
    return undef unless $res->{status} == 200;
    my ($obj) = $res->{body} =~ /(\{"path":"\Q$path\E".*?"backends":\[.*?\]\})/s;
    return $obj;
}
sub field {
    my ($obj, $name) = @_;
    return undef unless defined $obj;
    my ($v) = $obj =~ /"$name":(\d+)/;
    return $v;
}

my $res = http_request(path => '/ws-status?json');
ok t_cmp($res->{status}, 200, 'status JSON answers');
ok t_cmp($res->{headers}{'content-type'}, qr{^application/json}, 'as JSON');
ok t_cmp($res->{body}, qr/"counters":true/, 'counters are on (mod_slotmem_shm)');

# Three tunnels: active 3 while open, live byte counts, 0 after they close.
my @c = map { ws_connect(path => '/stat/echo') } 1 .. 3;
ok !(grep { $_->{status} != 101 } @c), 'three tunnels open';
my $active = 0;
wait_until(5, sub { $active = field(mapping_json('/stat'), 'active') // -1; $active == 3 });
ok t_cmp($active, 3, 'status reports 3 active tunnels');
my $in0 = field(mapping_json('/stat'), 'bytes_in');
ws_send($c[0], 1, 'hello');
ws_recv_data($c[0], 5);
my $in1;
wait_until(5, sub { $in1 = field(mapping_json('/stat'), 'bytes_in'); $in1 == $in0 + 11 });
ok t_cmp($in1 - $in0, 11, 'bytes_in grows by the exact frame size while the tunnel runs');
my $obj = mapping_json('/stat');
ok t_cmp(field($obj, 'messages_in'), qr/^[1-9]/, 'messages counted');
ok t_cmp($obj, qr/"backends":\[\{"url":"ws:\/\/127\.0\.0\.1:\d+\/stat","active":3/, 'per-backend active count');
ws_send($_, 8, pack('n', 1000)) for @c;
read_until_eof($_, 5) for @c;
close $_->{sock} for @c;
wait_until(10, sub { ($active = field(mapping_json('/stat'), 'active') // -1) == 0 });
ok t_cmp($active, 0, 'and 0 after they close');
$obj = mapping_json('/stat');
ok t_cmp(field($obj, 'total'), 3, 'total counts 3');
ok t_cmp($obj, qr/"1000":3/, 'close codes counted');

# A handshake the backend cannot take is a handshake failure, not a
# tunnel: the total does not move.
my $dead0 = mapping_json('/dead');
my $dc = ws_connect(path => '/dead/x');
ok t_cmp($dc->{status}, 503, 'handshake to a dead backend: 503');
my $dead1 = mapping_json('/dead');
ok t_cmp(field($dead1, 'total'), field($dead0, 'total'), 'total counts tunnels only');
ok t_cmp(field($dead1, 'backend'), field($dead0, 'backend') + 1,
         'the failure is counted as a backend handshake failure');

# HTML page and mod_status section.
$res = http_request(path => '/ws-status');
ok t_cmp($res->{body}, qr{<h1>WebSocket gateway status</h1>.*<b>/stat</b>}s, 'HTML page lists the mapping');
SKIP: {
    skip 'mod_status not loaded', 1 unless Apache::Test::have_module('status');
    $res = http_request(path => '/server-status');
    ok t_cmp($res->{body}, qr{<h2>WebSocket gateway</h2>}, 'section in server-status');
}

# WSGatewayMaxConnections 2: three concurrent handshakes, two pass.
my @lim = map {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => gw_port());
    $s;
} 1 .. 3;
my $key = ws_key();
$_->syswrite("GET /lim/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             . "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: $key\r\n\r\n") for @lim;
my %codes;
my @open;
for my $s (@lim) {
    my $c = { sock => $s, buf => '' };
    my $head = '';
    IO::Select->new($s)->can_read(10) and sysread($s, $head, 4096);
    my ($code) = $head =~ m{^HTTP/1\.1 (\d+)};
    $codes{$code // 0}++;
    push @open, $s if ($code // 0) == 101;
    if (($code // 0) == 503) {
        like $head, qr/\r\nRetry-After: \d+\r\n/, 'the 503 carries Retry-After';
    }
}
ok t_cmp(join(',', map { "$_=$codes{$_}" } sort keys %codes), '101=2,503=1',
         'three concurrent handshakes against a limit of 2: two tunnels, one 503');
close $_ for @open;
my $free = wait_until(10, sub { (field(mapping_json('/lim'), 'active') // -1) == 0 });
ok $free, 'the limit frees up when tunnels end';

# Killed clients never leak a count: a process opens 2 tunnels and is
# killed with SIGKILL; two new tunnels are admitted afterwards.
my $pid = fork;
die "fork: $!" unless defined $pid;
if (!$pid) {
    my @keep = map { ws_connect(path => '/lim/echo') } 1 .. 2;
    sleep 60;
    POSIX::_exit(0);
}
wait_until(10, sub { (field(mapping_json('/lim'), 'active') // -1) == 2 });
my $c3 = ws_connect(path => '/lim/echo');
ok t_cmp($c3->{status}, 503, 'limit reached by the other process');
kill 'KILL', $pid;
waitpid $pid, 0;
my $zero = wait_until(10, sub { (field(mapping_json('/lim'), 'active') // -1) == 0 });
ok $zero, 'counts back to 0 after the client was killed';
my @again = map { ws_connect(path => '/lim/echo') } 1 .. 2;
ok t_cmp(join(',', map { $_->{status} } @again), '101,101', 'and two new tunnels are admitted');
close $_->{sock} for @again;
$obj = mapping_json('/lim');
ok t_cmp($obj, qr/"limit":[1-9]/, 'limit refusals counted as handshake failures');

# A child that crashes never leaks a count either: two tunnels are held,
# every httpd child is killed with SIGKILL, the parent starts new ones, and
# the limit admits two tunnels again.
{
    my @held = map { ws_connect(path => '/lim/echo') } 1 .. 2;
    wait_until(10, sub { (field(mapping_json('/lim'), 'active') // -1) == 2 });
    my $pidfile = File::Spec->catfile(Apache::Test::vars('t_logs'), 'httpd.pid');
    open my $pf, '<', $pidfile or die "$pidfile: $!";
    my ($ppid) = <$pf> =~ /(\d+)/;
    my @kids;
    opendir my $d, '/proc';
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $st, '<', "/proc/$p/status" or next;
        push @kids, $p if grep { /^PPid:\s+$ppid$/ } <$st>;
    }
    kill 'KILL', @kids;
    my $back = wait_until(20, sub { (field(mapping_json('/lim'), 'active') // -1) == 0 });
    ok $back, 'after the children crashed, the active count is 0 again';
    close $_->{sock} for @held;
    my @fresh = map { ws_connect(path => '/lim/echo') } 1 .. 2;
    ok t_cmp(join(',', map { $_->{status} } @fresh), '101,101',
             'and the limit admits two tunnels again');
    close $_->{sock} for @fresh;
}

# WSGatewayMaxConnectionsPerIP 1: per client address.
my $a1 = ws_connect(path => '/limip/echo');
ok t_cmp($a1->{status}, 101, 'first tunnel from 127.0.0.1');
my $a2 = ws_connect(path => '/limip/echo');
ok t_cmp($a2->{status}, 503, 'second from 127.0.0.1: 503');
my $b1 = ws_connect(path => '/limip/echo', local_addr => '127.0.0.2');
ok t_cmp($b1->{status}, 101, 'first from 127.0.0.2 is admitted');
close $_->{sock} for $a1, $a2, $b1;

# The access log line of a tunnel with known payloads: "hello" (11 bytes
# masked) then Close 1000 (8) in; echo (7) and Close (4) out.
my $t = ws_connect(path => '/stat/exact');
ws_send($t, 1, 'hello');
ws_recv_data($t, 5);
ws_send($t, 8, pack('n', 1000));
ws_recv($t, 5);
read_until_eof($t, 5);
close $t->{sock};
my $line;
wait_until(10, sub { ($line) = grep { m{"GET /stat/exact } } access_log_lines(); $line });
ok t_cmp($line // '', qr/ 101 ws=ws:\/\/127\.0\.0\.1:\d+\/stat in=19 out=11 code=1000 by=client ms=\d+/,
         'access log: backend, exact bytes each way, close code, who closed, duration');

# "child pid ... exit signal Killed" (AH00052, a crash would name another
# signal) and AH10392, the MPM's note when three or more children die of a
# signal in a row: the test above kills every child, and earlier suites
# may have left more than two.
my @bad = errlog_unexpected('exit signal Killed', 'AH10392', qw(AH00957 AH00959 WSGW00201 WSGW00501));
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
ok((grep { /WSGW00706/ } errlog_lines()), 'limit refusals logged with their ID');
