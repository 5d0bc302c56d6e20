# Graceful close (WSGatewayGracefulClose): a graceful restart sends Close
# 1001 to every open tunnel, client and backend (at random moments within
# SPREAD), the old child exits, and the new generation serves; with Off,
# tunnels outlive the restart. Under every MPM (WSGW_MPM): event and worker
# tell the module through child_stopping, prefork only by a signal to each
# child (make check-prefork). Graceful stop: t/325_graceful_stop.t.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Spec;
use IO::Select;
use Time::HiRes qw(time);
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 14;

errlog_start();
my $framelog = top_dir() . '/t/logs/echo-frames.log';
# Tags the backend's frame log shows for this run's tunnels.
my $tag = "g320-$$";

sub parent_pid {
    my $f = File::Spec->catfile(Apache::Test::vars('t_logs'), 'httpd.pid');
    open my $fh, '<', $f or die "$f: $!";
    my ($pid) = <$fh> =~ /(\d+)/;
    return $pid;
}

sub children {
    my $ppid = parent_pid();
    opendir my $d, '/proc' or return ();
    my @kids;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $st, '<', "/proc/$p/status" or next;
        while (<$st>) {
            if (/^PPid:\s+(\d+)/) { push @kids, $p if $1 == $ppid; last }
        }
    }
    return @kids;
}

sub echo_ok {
    my ($c, $text) = @_;
    ws_send($c, 1, $text);
    my $m = ws_recv_data($c, 5);
    return $m && $m->{payload} eq $text;
}

# Default (On, no spread).
my $c = ws_connect(path => "/c/echo?$tag-c");
ok echo_ok($c, 'before'), 'tunnel open before the restart';
my $off = ws_connect(path => '/goff/echo');
ok echo_ok($off, 'off before'), 'a tunnel with graceful close Off is open too';
my @spread = map { ws_connect(path => "/gspread/echo?$tag-s$_") } 1 .. 6;
ok !(grep { $_->{status} != 101 } @spread), 'six tunnels with a 3 s spread are open';

my @old = children();
kill 'USR1', parent_pid();
my $t0 = time;

my $f = ws_recv($c, 10);
my ($code) = $f && $f->{op} == 8 ? ws_close_payload($f) : (0);
ok t_cmp($code, 1001, 'graceful restart: Close 1001 to the client');
ok time - $t0 < 5, 'promptly';
ws_send($c, 8, pack('n', 1001));
read_until_eof($c, 5);
ok $c->{eof}, 'and the tunnel ends';

# Note when each Close arrives, all sockets watched at once.
my @at;
{
    my $sel = IO::Select->new(map { $_->{sock} } @spread);
    my %by = map { fileno($_->{sock}) => $_ } @spread;
    my $deadline = time + 10;
    while ($sel->count && time < $deadline) {
        for my $fh ($sel->can_read($deadline - time)) {
            my $g = ws_recv($by{fileno $fh}, 1);
            $sel->remove($fh);
            push @at, time - $t0 if $g && $g->{op} == 8 && (ws_close_payload($g))[0] == 1001;
        }
    }
}
ok t_cmp(scalar(@at), 6, 'every spread tunnel got 1001');
my ($min, $max) = (sort { $a <=> $b } @at)[0, -1];
ok defined $max && $max < 6, sprintf('all within the spread (last after %.1f s)', $max // -1);
ok defined $max && $max - $min > 0.2, sprintf('at different moments (%.2f s apart)', ($max // 0) - ($min // 0));

# The backend side of each closed tunnel got Close 1001 too.
my %got;
wait_until(10, sub {
    open my $fh, '<', $framelog or return 0;
    %got = map { m{ \S+\?($tag-\w+) rx op=8 .*code=1001} ? ($1 => 1) : () } <$fh>;
    return keys %got == 7;
});
ok t_cmp(join(' ', sort keys %got), join(' ', sort("$tag-c", map { "$tag-s$_" } 1 .. 6)),
         'the backend got Close 1001 for each of them');

ok echo_ok($off, 'off after'), 'graceful close Off: the tunnel outlives the restart';
ws_send($off, 8, pack('n', 1000));
read_until_eof($off, 5);

my $gone = wait_until(20, sub { !grep { -e "/proc/$_" } @old });
ok $gone, 'the old generation exited once its tunnels closed';

my $n = ws_connect(path => '/c/echo');
ok echo_ok($n, 'after'), 'the new generation serves';

my @bad = errlog_unexpected('AH00171', 'AH00493', 'AH00489', 'AH00163');
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
