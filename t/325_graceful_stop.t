# Graceful stop (WSGatewayGracefulClose), on a separate httpd under the
# suite's MPM (WSGW_MPM: event by default, worker, prefork; WSGW_ASYNC):
# a graceful-stop sends Close 1001 to both sides of every open tunnel, a
# tunnel with graceful close Off outlives it and keeps its child (and so
# the server) up until it ends, then the server exits. Under prefork the
# parent's reaping of idle children (the pipe of death) first runs while
# the tunnels are open and closes none of them, nor does a SIGUSR1 sent to
# the children by hand.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use lib 't/lib';
use WSGW::Test qw(:all);

my $mpm = $ENV{WSGW_MPM} || 'event';
my $async = $ENV{WSGW_ASYNC} || 'On';
plan tests => 17;

my $framelog = top_dir() . "/t/logs/gstop-frames-$$.log";
unlink $framelog;
my ($bpid, $bport) = start_backend('c', name => 'gstop-echo', log => $framelog);

# prefork: few spare processes, so the idle ones are reaped early.
my %sizing = (
    prefork => "StartServers 2\nMinSpareServers 1\nMaxSpareServers 2\n"
             . "ServerLimit 32\nMaxRequestWorkers 32\n",
    worker  => "StartServers 2\nThreadsPerChild 25\n",
    event   => "StartServers 2\nThreadsPerChild 25\n",
);
my $inst = instance_start(name => 'gstop', mpm => $mpm, body => <<"CONF");
$sizing{$mpm}
LogLevel info ws_gateway:debug
WSGatewayAsync $async
WSGatewayPass /ws ws://127.0.0.1:$bport/
<Location /off>
    WSGatewayPass ws://127.0.0.1:$bport/off
    WSGatewayGracefulClose Off
</Location>
CONF
my $port = $inst->{port};
my $reaped;
END {
    # Whatever happened: nothing of ours left running (a reaped server's
    # PID may already belong to another process).
    instance_stop($inst) if $inst && !$reaped;
    stop_process($bpid);
    unlink $framelog;
}

sub echo_ok {
    my ($c, $text) = @_;
    ws_send($c, 1, $text);
    my $m = ws_recv_data($c, 5);
    return $m && $m->{payload} eq $text;
}

sub inst_errlog {
    open my $fh, '<', $inst->{errlog} or return ();
    return <$fh>;
}

sub kids { scalar keys %{ instance_children($inst) } }

my @on = map { ws_connect(port => $port, path => "/ws/echo?gstop-$$-$_") } 1 .. 3;
my $off = ws_connect(port => $port, path => "/off/echo?gstop-$$-off");
ok !(grep { !echo_ok($_, 'before') } @on, $off), 'four tunnels open and echo';

SKIP: {
    skip 'idle process reaping, a stray signal: prefork only', 4
        unless $mpm eq 'prefork';
    # Six connections that send half a request hold six more processes;
    # once they close, those are idle beyond MaxSpareServers and the
    # parent ends them one a second through the pipe of death.
    my @hold = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $port, Timeout => 5) } 1 .. 6;
    $_->syswrite("GET / HTTP/1.1\r\n") for grep { $_ } @hold;
    my $peak = 0;
    wait_until(15, sub { $peak = kids(); $peak >= 4 + 6 });
    close $_ for grep { $_ } @hold;
    ok wait_until(20, sub { kids() <= $peak - 2 }),
        "idle processes reaped ($peak before, " . kids() . ' now)';
    ok !(grep { !echo_ok($_, 'after reaping') } @on, $off),
        'and every tunnel still open';

    # SIGUSR1 sent by hand to the children, not by a restart or stop of
    # the server: after a second of looking, the tunnels go on.
    kill 'USR1', keys %{ instance_children($inst) };
    ok wait_until(5, sub { grep { /WSGW00605: / } inst_errlog() }),
        'a stray SIGUSR1 is told apart (WSGW00605)';
    ok !(grep { !echo_ok($_, 'after a stray signal') } @on, $off),
        'and closes no tunnel';
}

my @old = keys %{ instance_children($inst) };
kill 'WINCH', $inst->{pid};     # AP_SIG_GRACEFUL_STOP

my $all = 1;
for my $c (@on) {
    my $f = ws_recv($c, 5);
    my ($code) = $f && $f->{op} == 8 ? ws_close_payload($f) : (0);
    $all &&= $code == 1001;
    ws_send($c, 8, pack('n', 1001));
}
ok $all, 'graceful stop: Close 1001 to every client, promptly';
ok !(grep { read_until_eof($_, 5); !$_->{eof} } @on), 'and their connections end';

my %got;
wait_until(10, sub {
    open my $fh, '<', $framelog or return 0;
    %got = map { m{\?(gstop-$$-\d) rx op=8 .*code=1001} ? ($1 => 1) : () } <$fh>;
    return keys %got == 3;
});
ok t_cmp(join(' ', sort keys %got), join(' ', map { "gstop-$$-$_" } 1 .. 3),
         'the backend got Close 1001 for each of them');

my $told = $mpm eq 'prefork' ? 'WSGW00604' : 'WSGW00602';
ok scalar(grep { /$told: / } inst_errlog()), "the children were told ($told)";

ok echo_ok($off, 'off after'), 'graceful close Off: the tunnel outlives the stop';
ok kill(0, $inst->{pid}), 'and keeps the server up';
# (A child still starting when the signal came may hold the listener a
# moment longer.)
ok wait_until(10, sub {
    !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2)
}), 'which accepts no new connections';

ws_send($off, 8, pack('n', 1000));
my $f = ws_recv($off, 5);
ok $f && $f->{op} == 8, 'the Off tunnel closes when its client does';
read_until_eof($off, 5);

my $status;
ok wait_until(15, sub {
    my $w = waitpid($inst->{pid}, WNOHANG);
    ($reaped, $status) = (1, $? >> 8) if $w == $inst->{pid};
    return $reaped;
}), 'then the server exits';
ok t_cmp($status, 0, 'cleanly');
ok !(grep { -e "/proc/$_" } @old), 'its children are gone';

my @bad = grep { /\[[\w:]*(error|warn|crit|alert|emerg)\]/ } inst_errlog();
ok t_cmp(scalar(@bad), 0, 'no errors or warnings in its error log')
    or t_debug(@bad);
