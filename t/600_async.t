# Async tunnels (WSGatewayAsync, mpm_event): an established tunnel leaves
# its worker thread for the child's reactor. On a separate httpd limited to
# MaxRequestWorkers 50 (two children of 25 threads; ServerLimit leaves room
# for the old generation after a graceful restart): 2,000 tunnels open at
# once and all echo, with a few dozen threads in all; each is logged with
# its notes; a graceful restart closes every one with 1001 and the old
# children exit; new tunnels work afterwards. While held in the reactors
# the tunnels are counted active on the status page, and afterwards their
# log lines carry the request's line and headers: a plain ws:// tunnel
# keeps neither its request's pool nor mod_proxy's backend connection
# there, but a copy of what the logs need. On the suite's server: a TLS
# front and a wss:// backend (which keeps both) go through the reactor,
# and WSGatewayAsync Off keeps a tunnel in its request's thread.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use POSIX qw(WNOHANG);
use Time::HiRes ();
use lib 't/lib';
use WSGW::Test qw(:all);

my $mpm = $ENV{WSGW_MPM} || 'event';
plan tests => 53, need { 'the event MPM (async tunnels)' => $mpm eq 'event' };

my $tunnels = 2000;
errlog_start();
my ($bpid, $bport) = start_backend('c', name => 'async-echo');

my $inst = instance_start(name => 'async50', body => <<"CONF");
StartServers         2
ServerLimit          4
ThreadLimit          25
ThreadsPerChild      25
MinSpareThreads      25
MaxSpareThreads      75
MaxRequestWorkers    50
LogLevel info ws_gateway:debug
LogFormat "%h \\"%r\\" %>s ua=\\"%{User-Agent}i\\" u=%U in=%{ws-gateway-bytes-in}n out=%{ws-gateway-bytes-out}n code=%{ws-gateway-close-code}n by=%{ws-gateway-closed-by}n" wsgw
CustomLog access_log wsgw
WSGatewayPass /ws ws://127.0.0.1:$bport/
<Location /ws-status>
    SetHandler ws-gateway-status
</Location>
CONF
my $url = "ws://127.0.0.1:$inst->{port}/ws/echo";

sub inst_log {
    my ($file) = @_;
    open my $fh, '<', "$inst->{dir}/$file" or return ();
    return <$fh>;
}

# One client process holds $n tunnels of $url (each echoed once) until the
# server closes them or $secs pass; it writes "open N" to the ready file
# once all are open. Returns its pid and the ready file.
sub hold_start {
    my ($url, $n, $secs) = @_;
    my $ready = "$inst->{dir}/ready";
    unlink $ready;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        $ENV{WSGW_READY_FILE} = $ready;
        open STDOUT, '>', "$inst->{dir}/client.out";
        open STDERR, '>&', \*STDOUT;
        exec '/usr/bin/python3', top_dir() . '/t/clients/ws_client.py', 'hold',
            $url, $n, $secs or POSIX::_exit(127);
    }
    return ($pid, $ready);
}

# Wait (bounded) for the hold client to end; its exit status (-1: stopped
# by us) and output.
sub hold_finish {
    my ($pid) = @_;
    my $done = wait_until(60, sub { waitpid($pid, WNOHANG) == $pid });
    my $rc = $done ? $? >> 8 : -1;
    stop_process($pid) unless $done;
    return ($rc, join '', inst_log('client.out'));
}

# Active tunnels of /ws on the instance's status page (undef: no answer).
sub inst_active {
    my $res = http_request(port => $inst->{port}, path => '/ws-status?json');
    return undef unless $res->{status} == 200;
    my ($obj) = $res->{body} =~ /(\{"path":"\/ws".*?"backends":\[.*?\]\})/s;
    my ($v) = defined $obj ? $obj =~ /"active":(\d+)/ : ();
    return $v;
}

# Children at rest, before any tunnel.
ok wait_until(20, sub { keys %{ instance_children($inst) } == 2 }),
    'the instance runs its two children';
my $before = instance_children($inst);
my $rss_before = 0;
$rss_before += $_->{rss} for values %$before;

# One client process holds $tunnels tunnels and waits for the server to
# close them.
my ($client, $ready) = hold_start($url, $tunnels, 90);
my $all_open = wait_until(120, sub { -s $ready || waitpid($client, WNOHANG) });
my $ready_line = -s $ready ? do { open my $r, '<', $ready; <$r> } : '';
ok t_cmp($ready_line, qr/^open $tunnels$/,
         "$tunnels tunnels open at once through MaxRequestWorkers 50, each echoed")
    or t_debug(inst_log('client.out'), inst_log('error_log'));

# Once quiet for a moment, every tunnel leaves its worker thread.
my @moved;
wait_until(20, sub {
    @moved = grep { /WSGW00308: .*moved to the reactor/ } inst_log('error_log');
    @moved >= $tunnels;
});
ok t_cmp(scalar @moved, $tunnels, 'every idle tunnel moved to a reactor');
my $held = instance_children($inst);
my ($threads, $rss_held) = (0, 0);
for (values %$held) {
    $threads += $_->{threads};
    $rss_held += $_->{rss};
}
ok t_cmp(scalar(keys %$held), 2, 'still two children: no process per tunnel');
ok $threads < 100, "threads in all children: $threads (a thread per tunnel would be $tunnels+)";
my $per_tunnel = ($rss_held - $rss_before) / $tunnels;
t_debug(sprintf "RSS %d KiB at rest, %d KiB holding %d tunnels: %.1f KiB per tunnel",
                $rss_before, $rss_held, $tunnels, $per_tunnel);
# About 19 KiB measured (bench/ has the figures); a tunnel still holding
# its request's pool and the backend connection would be near 45.
ok $per_tunnel < 32, sprintf('memory per idle tunnel %.1f KiB (no request pool, no backend connection kept)', $per_tunnel);
ok t_cmp(inst_active(), $tunnels, 'the status page counts every tunnel in the reactors active');
my $status = do {
    my $c = ws_connect(port => $inst->{port}, path => '/ws/echo');
    ws_send($c, 1, 'after-many');
    my $f = ws_recv_data($c, 10);
    ws_send($c, 8, pack('n', 1000));
    ws_recv($c, 10);
    $f ? $f->{payload} : undef;
};
ok t_cmp($status, 'after-many', 'one more tunnel works while they are held');

# Graceful restart: every tunnel gets 1001, the old children exit.
my @old = keys %$held;
kill 'USR1', $inst->{pid};
my ($client_rc, $out) = hold_finish($client);
ok t_cmp($client_rc, 0, 'the client saw every tunnel closed') or t_debug($out);
ok t_cmp($out, qr/^closed 1001=$tunnels$/m,
         "all $tunnels closed with 1001 (going away) by the graceful restart");
ok wait_until(30, sub { !grep { kill 0, $_ } @old }),
    'the old children exited once their tunnels were closed';
my $active_after;
wait_until(10, sub { $active_after = inst_active(); defined $active_after && $active_after == 0 });
ok t_cmp($active_after, 0, 'none active once they are closed');
ok wait_until(20, sub { keys %{ instance_children($inst) } >= 1 }),
    'new children serve';
my $c = ws_connect(port => $inst->{port}, path => '/ws/echo');
ok t_cmp($c->{status}, 101, 'a new tunnel after the restart');
ws_send($c, 1, 'new generation');
my $f = ws_recv_data($c, 10);
ok t_cmp($f ? $f->{payload} : undef, 'new generation', 'it echoes');
ws_send($c, 8, pack('n', 1000));
$f = ws_recv($c, 10);
ok t_cmp($f ? $f->{op} : undef, 8, 'close handshake completes in the reactor');

# The access log: one line per tunnel, written when it ended, with notes.
my @access = inst_log('access_log');
my @gone = grep { /"GET \/ws\/echo HTTP\/1\.1" 101 ua="[^"-][^"]*" u=\/ws\/echo in=\d+ out=\d+ code=1001 by=gateway$/ } @access;
ok t_cmp(scalar @gone, $tunnels, 'each async tunnel logged with its request line, headers and notes (code=1001 by=gateway)')
    or t_debug(@access[0 .. 3]);
ok wait_until(10, sub { grep { /code=1000 by=client$/ } inst_log('access_log') }),
    'a tunnel closed by the client is logged as such';
# (While 2,000 handshakes arrive at once, all 50 workers are busy with them
# and the MPM says so: AH00484/AH10159 are expected then.)
my @bad = grep { (/\[[\w:]*(error|crit|alert|emerg)\]/ && !/AH00484|AH10159/)
                 || /AH00052|exit signal/ } inst_log('error_log');
ok t_cmp(scalar @bad, 0, 'no errors or crashed children in the instance') or t_debug(@bad);
instance_stop($inst);

# The MPM retiring an idle process is not a restart: slow handshakes make
# it spawn children, then, with the tunnels quiet, it retires the extra
# ones (idle threads above MaxSpareThreads). Their tunnels must go on, and
# still close with 1001 at the next restart.
$inst = instance_start(name => 'retire', body => <<"CONF");
StartServers         1
ServerLimit          8
ThreadLimit          25
ThreadsPerChild      25
MinSpareThreads      25
MaxSpareThreads      50
MaxRequestWorkers    200
LogLevel info ws_gateway:debug
LogFormat "%h \\"%r\\" %>s code=%{ws-gateway-close-code}n" wsgw
CustomLog access_log wsgw
WSGatewayPass /ws ws://127.0.0.1:$bport/
CONF
my $slow = 80;
($client, $ready) = hold_start("ws://127.0.0.1:$inst->{port}/ws/delay?ms=1500",
                               $slow, 120);
ok wait_until(60, sub { -s $ready || waitpid($client, WNOHANG) }) && -s $ready,
    "$slow slow handshakes made the MPM start more children; all open"
    or t_debug(inst_log('client.out'));
# The children that opened tunnels, and the one the MPM retired.
my %holders = map { /\[pid (\d+):/ ? ($1 => 1) : () }
              grep { /WSGW00305: / } inst_log('error_log');
my $retired_pid;
wait_until(30, sub {
    ($retired_pid) = grep { $holders{$_} }
                     map { /\[pid (\d+):/ ? $1 : () }
                     grep { /WSGW00603: / } inst_log('error_log');
    $retired_pid;
});
ok $retired_pid, 'the MPM retired a child holding tunnels (WSGW00603)'
    or t_debug(inst_log('error_log'));
ok t_cmp(scalar(grep { / 101 / } inst_log('access_log')), 0,
         'no tunnel ended: retiring a child does not close them');
ok $retired_pid && kill(0, $retired_pid), 'the retired child stays while its tunnels are open';
kill 'USR1', $inst->{pid};
($client_rc, $out) = hold_finish($client);
ok t_cmp($out, qr/^closed 1001=$slow$/m,
         'a later graceful restart closes every tunnel with 1001, retired child included');
ok $retired_pid && wait_until(30, sub { !kill 0, $retired_pid }),
    'and the retired child exits';
instance_stop($inst);
stop_process($bpid);

# Once tunnel $c is quiet it moves to the reactor, which echoes $big and
# completes the close handshake (3 checks). Returns the client's port.
sub reactor_echo_close {
    my ($c, $what, $big) = @_;
    my $port = $c->{sock}->sockport;
    ok wait_until(10, sub { grep { /:$port\] WSGW00308: / } errlog_lines() }),
        "$what: once quiet, the tunnel moved to the reactor";
    ws_send($c, 2, $big);
    my $f = ws_recv_data($c, 10);
    ok $f && $f->{payload} eq $big, "$what: 200 KB echoed by the reactor";
    ws_send($c, 8, pack('n', 1000));
    $f = ws_recv($c, 10);
    ok t_cmp($f ? $f->{op} : undef, 8, "$what: close handshake in the reactor");
    # The backend closes its end after the handshake; the reactor must see
    # that end (even when it came with the Close) and pass it on at once,
    # not when the close wait (3 s) runs out.
    my $t0 = Time::HiRes::time();
    read_until_eof($c, 5);
    my $took = Time::HiRes::time() - $t0;
    ok $c->{eof} && $took < 1.5,
        sprintf('%s: the connection ends right after the close handshake '
                . '(%.2f s)', $what, $took);
    return $port;
}

# The suite's server: a TLS front goes through the reactor (the tunnel
# reads and writes through mod_ssl's filters from the reactor thread).
$c = ws_connect(tls => 1, path => '/c/echo');
ok t_cmp($c->{status}, 101, 'TLS front: upgraded');
my $big = 'x' x 200_000;
ws_send($c, 2, $big);
$f = ws_recv_data($c, 10);
ok $f && $f->{payload} eq $big, 'TLS front: 200 KB echoed intact';
reactor_echo_close($c, 'TLS front', $big);

# A wss:// backend keeps mod_proxy's connection (and the request) in the
# reactor: the other path through the hand-over and the end.
$c = ws_connect(path => '/tls-back/echo');
ok t_cmp($c->{status}, 101, 'wss backend: upgraded');
my $bp = reactor_echo_close($c, 'wss backend', $big);
ok wait_until(10, sub { grep { /:$bp\] WSGW00307: .*closed by client \(1000/ } errlog_lines() }),
    'wss backend: the tunnel ended as closed by the client';

# Plain TCP on both sides: the reactor reads and writes the sockets
# directly (edge-triggered on Linux).
$c = ws_connect(path => '/c/echo');
ok t_cmp($c->{status}, 101, 'plain: upgraded');
reactor_echo_close($c, 'plain', $big);

# Backpressure in the reactor: an idle tunnel moves, then its backend
# floods a client that does not read. The reactor must stop reading the
# backend when the client's side is full (edge-triggered: it remembers
# what it may do), and resume every byte once the client reads.
sub reactor_backpressure {
    my ($c, $what) = @_;
    my $port = $c->{sock}->sockport;
    ok wait_until(10, sub { grep { /:$port\] WSGW00308: / } errlog_lines() }),
        "$what: the idle tunnel moved to the reactor";
    ws_send($c, 1, 'go');
    ok wait_until(15, sub { tcp_rx_queue($c->{sock}) > 60000 }),
        "$what: the flood backed up to the client that does not read";
    my $got = 0;
    while (my $f = ws_recv($c, 20)) {
        last if $f->{op} == 8;
        $got += length $f->{payload};
    }
    ok t_cmp($got, 32 * 1024 * 1024,
             "$what: all 32 MiB arrive once the client reads");
}
for my $tls (0, 1) {
    my $what = $tls ? 'TLS front, flood' : 'plain, flood';
    $c = ws_connect(tls => $tls, path => '/c/flood?mb=32&wait=1');
    ok t_cmp($c->{status}, 101, "$what: upgraded");
    reactor_backpressure($c, $what);
}

# WSGatewayAsync Off keeps the tunnel in its request's thread: an async
# tunnel opened after it, just as idle, moves; the sync one does not.
$c = ws_connect(path => '/sync/echo');
ws_send($c, 1, 'sync');
$f = ws_recv_data($c, 10);
ok t_cmp($f ? $f->{payload} : undef, 'sync', 'WSGatewayAsync Off: echo');
my $c2 = ws_connect(path => '/c/echo');
my $sport = $c->{sock}->sockport;
my $aport = $c2->{sock}->sockport;
ok wait_until(10, sub { grep { /:$aport\] WSGW00308: / } errlog_lines() }),
    'an idle async tunnel moved to the reactor';
ok t_cmp(scalar(grep { /:$sport\] WSGW00308: / } errlog_lines()), 0,
         'WSGatewayAsync Off: the older idle tunnel stayed in its thread');
