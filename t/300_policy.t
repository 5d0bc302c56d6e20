# Policy directives that work today: idle timeout, max lifetime, pings to
# silent clients (pongs swallowed), dead-peer detection, message size limit.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 33;

errlog_start();
my $framelog = top_dir() . '/t/logs/echo-frames.log';

sub close_code_within {
    my ($c, $timeout, %o) = @_;
    my $t0 = time;
    while (my $f = ws_recv($c, $timeout - (time - $t0))) {
        if ($f->{op} == 9 && !$o{no_pong}) { ws_send($c, 10, $f->{payload}); next }
        if ($f->{op} == 8) {
            my ($code) = ws_close_payload($f);
            return ($code, time - $t0);
        }
    }
    return (undef, time - $t0);
}

# Idle timeout (2 s), frames mode: Close 1001 to the client.
my $c = ws_connect(path => '/idle/echo');
ok t_cmp($c->{status}, 101, 'idle mapping upgraded');
ws_send($c, 1, 'one');
ok ws_recv_data($c, 5), 'traffic flows';
my ($code, $after) = close_code_within($c, 8);
ok t_cmp($code, 1001, 'idle tunnel closed with 1001');
ok $after >= 1.5 && $after < 5, sprintf('after about 2 s of silence (%.1f s)', $after);
read_until_eof($c, 5);
ok $c->{eof}, 'and the TCP connection ends';

# Idle timeout in tunnel mode: no frames are parsed, the connection closes.
$c = ws_connect(path => '/idletun/echo');
my $t0 = time;
read_until_eof($c, 8);
ok $c->{eof} && time - $t0 >= 1.5, 'tunnel mode: idle tunnel closed without a Close frame';

# Max lifetime (2 s) despite traffic.
$c = ws_connect(path => '/life/echo');
my $start = time;
my $busy = 1;
my $lifecode;
while (time - $start < 8) {
    ws_send($c, 1, 'keep busy');
    my $f = ws_recv($c, 1);
    next unless $f;
    if ($f->{op} == 8) { ($lifecode) = ws_close_payload($f); last }
}
ok t_cmp($lifecode, 1001, 'lifetime reached: 1001 even with traffic');
ok time - $start < 5, 'close came at about the lifetime';

# Pings: a silent client gets a ping within interval + 1 s; its pong is
# answered and never reaches the backend.
$c = ws_connect(path => '/ping/echo');
ok t_cmp($c->{status}, 101, 'ping mapping upgraded');
$t0 = time;
my $ping = ws_recv($c, 3);
ok t_cmp($ping && $ping->{op}, 9, 'the gateway pings a silent client');
ok time - $t0 <= 2.5, 'within the interval + 1 s';
ok !$ping->{masked}, 'ping to the client is unmasked';
ws_send($c, 10, $ping->{payload});
# A second ping proves the first pong was accepted (else the tunnel closes).
my $ping2 = ws_recv($c, 4);
ok t_cmp($ping2 && $ping2->{op}, 9, 'answered: the tunnel lives and pings again');
ws_send($c, 10, $ping2->{payload});
ws_send($c, 1, 'data after pongs');
my $m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'data after pongs', 'data still flows');
# A pong that is not ours passes through (the backend logs it).
ws_send($c, 10, 'unsolicited');
ws_send($c, 8, pack('n', 1000));
close_code_within($c, 5);
my @lines;
wait_until(5, sub {
    open my $fh, '<', $framelog or return 0;
    @lines = grep { m{ /ping/echo } } <$fh>;
    return grep { / closed/ } @lines;
});
ok t_cmp(scalar(grep { /rx op=10 .*len=11\b/ } @lines), 1, 'the unsolicited pong reached the backend');
ok t_cmp(scalar(grep { /rx op=10/ } @lines), 1, 'no gateway pong reached the backend');

# A client that never answers: the tunnel is closed (dead peer).
$c = ws_connect(path => '/ping/echo');
($code, $after) = close_code_within($c, 8, no_pong => 1);
ok t_cmp($code, 1001, 'unanswered pings: tunnel closed with 1001');
ok $after < 6, sprintf('within interval + timeout (%.1f s)', $after);

# The gateway's own pings and the client's pongs are no traffic between
# the peers: with pings every second, an idle timeout of 3 s still closes
# a tunnel that carries nothing else.
$c = ws_connect(path => '/idleping/echo');
ok t_cmp($c->{status}, 101, 'idle + ping mapping upgraded');
($code, $after) = close_code_within($c, 10);
ok t_cmp($code, 1001, 'answered pings do not keep an idle tunnel open: 1001');
ok $after >= 2.5 && $after < 6, sprintf('at about the idle timeout (%.1f s)', $after);

# Pings behind a backend that streams 64 KiB frames without a pause
# (interval 2 s, timeout = interval). A client that neither reads nor sends
# is dead although the stream towards it never reaches a frame boundary
# where a ping could go: the tunnel is closed at about interval + timeout,
# Close 1001 to the backend.
$c = ws_connect(path => '/pingflood/flood?mb=4096&who=deaf');
ok t_cmp($c->{status}, 101, 'streaming ping mapping upgraded');
$t0 = time;
my $closed = wait_until(15, sub {
    open my $fh, '<', $framelog or return 0;
    @lines = grep { m{ /pingflood/flood\?mb=4096&who=deaf } } <$fh>;
    return grep { / rx op=8 / } @lines;
});
$after = time - $t0;
ok t_cmp(join('', grep { / rx op=8 / } @lines), qr/ rx op=8 fin=1 len=2 code=1001$/,
         'a client that reads nothing behind a streaming backend: Close 1001 to the backend');
ok $closed && $after >= 3 && $after < 8,
    sprintf('at about interval + timeout (%.1f s)', $after);
# What the kernel holds for it can be read; then its connection ends.
read_until_eof($c, 20);
ok $c->{eof}, 'and the client connection ends';
ok t_cmp(scalar(grep { /WSGW00303/ && /could not even be sent/ } errlog_lines()), 1,
         'logged as a ping timeout (WSGW00303)');

# A slow reader that answers pings stays up: the pings come between the
# data frames. The reader takes about 10 MiB/s, far less than the backend
# sends, so the path to it stays full; each ping reaches it behind what the
# kernel buffers hold, well within the timeout at that rate.
$c = ws_connect(path => '/pingflood/flood?mb=4096&who=slow');
my ($frames, $gone, @pinged) = (0, '');
$t0 = time;
while (time - $t0 < 10) {
    my $f = ws_recv($c, 3);
    if (!$f) { $gone = $c->{eof} ? 'eof' : 'stalled'; last }
    if ($f->{op} == 9) {
        push @pinged, sprintf('%.1f', time - $t0);
        ws_send($c, 10, $f->{payload});
        next;
    }
    if ($f->{op} == 8) { $gone = 'close ' . (ws_close_payload($f))[0]; last }
    ++$frames;
    sleep 0.006;    # the slow reader
}
t_debug("pings at @pinged s");
ok t_cmp($gone, '', "a slow reader behind a streaming backend stays up for 10 s ($frames frames)");
# Interval 2 s + timeout 2 s: 10 s without a close needs at least two
# answered pings.
ok @pinged >= 2, sprintf('its pings came between data frames and were answered (%d, at %s s)',
                         scalar(@pinged), join(', ', @pinged));
ws_send($c, 8, pack('n', 1000));
wait_until(10, sub {
    open my $fh, '<', $framelog or return 0;
    @lines = grep { m{ /pingflood/flood\?mb=4096&who=slow } } <$fh>;
    return grep { / rx op=8 / } @lines;
});
ok t_cmp(join('', grep { / rx op=(8|10) / } @lines), qr/^\S+ \S+ rx op=8 fin=1 len=2 code=1000$/,
         'the backend got the client\'s Close 1000 and none of its pongs');
$c->{sock}->close;

# Message size limit (1 KiB): 1009 to the client, 1001 to the backend.
$c = ws_connect(path => '/maxmsg/echo');
ws_send($c, 1, 'x' x 1024);
$m = ws_recv_data($c, 5);
ok t_cmp($m && length($m->{payload}), 1024, 'a message at the limit passes');
ws_send($c, 2, 'y' x 1025);
($code) = close_code_within($c, 5);
ok t_cmp($code, 1009, 'a message over the limit: 1009 to the client');
wait_until(5, sub {
    open my $fh, '<', $framelog or return 0;
    @lines = grep { m{ /maxmsg/echo } && / rx op=8 / } <$fh>;
    return grep { /code=1001/ } @lines;
});
ok t_cmp(scalar(grep { /code=1001/ } @lines) >= 1, 1, 'the backend got Close 1001');

my @bad = errlog_unexpected();
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
