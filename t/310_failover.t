# Failover (SPEC §5): members tried in order within one client request,
# failed members put in error state for retry=, balancers, the plain HTTP
# path, and a member killed under load.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use POSIX ();
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 35;

my $gw = gw_port();
errlog_start();

sub name_of {
    my ($path) = @_;
    my $c = ws_connect(path => $path);
    return "status $c->{status}" unless $c->{status} == 101;
    my $m = ws_recv_data($c, 5);
    return $m ? $m->{payload} : 'no message';
}

# Dead port first, then a live member.
my $c = ws_connect(path => '/fo1/name');
ok t_cmp($c->{status}, 101, 'dead first member: the second one upgrades');
my $m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'echo', 'served by the live member');
my $res = http_request(path => '/fo1/plain?q=1');
ok t_cmp($res->{status}, 200, 'plain HTTP fails over too');
ok t_cmp($res->{body}, qr{^uri=/plain\?q=1$}m, 'same path and query on the next member');

# Every member dead: 503, one ERR line naming them all.
$c = ws_connect(path => '/fo2/x');
ok t_cmp($c->{status}, 503, 'all members dead: 503');
my ($all) = grep { /WSGW00501/ && m{/fo2} } errlog_lines();
ok $all, 'one error line for the request';
ok t_cmp($all // '', qr/$ENV{WSGW_DEAD_PORT}.*$ENV{WSGW_DEAD3_PORT}/, 'naming every member tried');
$res = http_request(path => '/fo2/x');
ok t_cmp($res->{status}, 503, 'plain request with every member dead: 503');

# A sick member: 503 before its 101, closing early, or a bad handshake.
ok t_cmp(name_of('/fo3'), 'plain2', 'first member answers 503 to the upgrade: the second serves');
ok t_cmp(name_of('/fo4'), 'plain2', 'first member closes before answering: the second serves');
ok t_cmp(name_of('/fo6'), 'plain2', 'first member sends a bad accept: the second serves');
ok((grep { /WSGW00502/ && /answered 503/ } errlog_lines()), 'the 503 member was put in error state (WARN)');

# Attempts are logged.
my @acc = grep { m{"GET /fo1/name } } access_log_lines();
ok t_cmp($acc[-1] // '', qr/ws=ws:\/\/127\.0\.0\.1:$ENV{WSGW_ECHO_PORT}/, 'access log names the member that served');

# A member comes back once its retry= (2 s) is over.
ok t_cmp(name_of('/fo5'), 'echo', 'dead first member: the second serves');
my ($rpid) = start_backend('c', name => 'revived', port => $ENV{WSGW_DEAD2_PORT});
my $back = wait_until(15, sub { name_of('/fo5') eq 'revived' });
ok $back, 'the first member serves again after retry= expired';
stop_process($rpid);

# Balancer with a dead member: every handshake is served.
my $served = 0;
$served += name_of('/bal/name') eq 'echo' ? 1 : 0 for 1 .. 4;
ok t_cmp($served, 4, 'balancer with a dead member: all handshakes served by the live one');

# Balancer member answering 5xx before its 101: the next member serves it,
# and the sick one is skipped afterwards (error state for its retry=).
my $acc_mark = () = access_log_lines();
my @names = map { name_of('/bal5') } 1 .. 4;
ok t_cmp(join(',', @names), 'plain2,plain2,plain2,plain2',
         'balancer member answering 503: every handshake served by the other');
my @acc5;
wait_until(10, sub {
    my @all = access_log_lines();
    @acc5 = grep { m{"GET /bal5 } } @all[$acc_mark .. $#all];
    return @acc5 >= 4;
});
ok t_cmp(join(' ', map { /att=(\d+)/ ? $1 : '?' } @acc5), '2 1 1 1',
         'only the first handshake tried the sick member (ws-gateway-attempts)');

# Balancer with every member dead: 503 and one line naming them all.
$c = ws_connect(path => '/baldead/x');
ok t_cmp($c->{status}, 503, 'balancer with every member dead: 503');
my ($balall) = grep { /WSGW00501/ && m{/baldead} } errlog_lines();
ok t_cmp($balall // '', qr/$ENV{WSGW_DEAD_PORT}.*$ENV{WSGW_DEAD3_PORT}|$ENV{WSGW_DEAD3_PORT}.*$ENV{WSGW_DEAD_PORT}/,
         'one error line naming both balancer members');
ok t_cmp(scalar(grep { /WSGW00501/ && m{/baldead} } errlog_lines()), 1, 'logged once for the request');
ok t_cmp((grep { /WSGW00201/ && m{/baldead} } errlog_lines())[0] // '', qr/add a BalancerMember/,
         'connect failure of a balancer member suggests a BalancerMember');

# A member that never answers the upgrade within timeout=: 503 (SPEC §5).
$c = ws_connect(path => '/fohang', timeout => 15);
ok t_cmp($c->{status}, 503, 'backend silent past timeout=: 503');
ok t_cmp((grep { /WSGW00501/ && m{/fohang} } errlog_lines())[0] // '', qr/timed out/,
         'the error line says it timed out');

# Kill a member under load: 200 tunnels opened one after the other, member
# A killed once half of them are open. No handshake fails (B can serve it),
# tunnels on B all complete, tunnels on A end.
my $alog = top_dir() . '/t/logs/foa-frames.log';
unlink $alog;
my ($apid) = start_backend('c', name => 'A', port => $ENV{WSGW_FOA_PORT}, log => $alog);
my ($bpid) = start_backend('c', name => 'B', port => $ENV{WSGW_FOB_PORT});
my $out_file = top_dir() . "/t/logs/failover-load-$$.out";
my $cpid = fork;
die "fork: $!" unless defined $cpid;
if (!$cpid) {
    open STDOUT, '>', $out_file;
    open STDERR, '>&', \*STDOUT;
    { exec '/usr/bin/python3', top_dir() . '/t/clients/ws_client.py', 'failover',
           "ws://127.0.0.1:$gw/fol/name", 200, 20 }
    POSIX::_exit(127);
}
my $half = wait_until(60, sub {
    open my $fh, '<', $alog or return 0;
    my $n = grep { / open$/ } <$fh>;
    return $n >= 100;
});
ok $half, '100 tunnels open on member A';
stop_process($apid, 'KILL');
my $done = wait_until(120, sub { waitpid($cpid, POSIX::WNOHANG()) != 0 });
ok $done, 'the load finished';
stop_process($cpid) unless $done;
open my $fh, '<', $out_file;
my $out = join '', <$fh>;
t_debug($out);
my %st = $out =~ /(\S+)=(\S+)/g;
ok t_cmp($st{handshake_failed}, 0, 'no handshake failed while a live member could serve it');
ok t_cmp($st{'cut:B'} // 0, 0, 'no tunnel on member B was cut');
ok(($st{'ok:B'} // 0) > 0, 'member B took the tunnels after A died');
ok(($st{'cut:A'} // 0) > 0, 'tunnels on the killed member ended');
ok t_cmp(($st{'ok:A'} // 0) + ($st{'cut:A'} // 0) + ($st{'ok:B'} // 0), 200, 'every tunnel is accounted for');
ok !exists $st{'cut:?'} && !exists $st{'ok:?'}, 'every tunnel learned its member';
stop_process($bpid);

my @bad = errlog_unexpected(qw(WSGW00201 WSGW00203 WSGW00210 WSGW00501 WSGW00502 WSGW00504
                               AH00957 AH00959 AH01114 AH00898 AH00940 AH01144 AH00942));
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
my @ids = map { /(WSGW005\d\d)/ ? $1 : () } errlog_lines();
ok((grep { $_ eq 'WSGW00502' } @ids), 'member error states logged with their ID');
ok((grep { $_ eq 'WSGW00504' } @ids), 'plain-request exhaustion logged with its ID');
