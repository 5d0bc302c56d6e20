# The demo in a real browser: build/demo.sh (our C chat backend behind a
# local httpd with one WSGatewayPass line, serving demo/htdocs) is started
# on a free loopback port; headless Chromium opens the page twice, a
# message typed in each page shows up in the other (and, broadcast, in its
# own), and the page links to the status page. Everything started here is
# stopped by PID: the demo (which stops its httpd and backend), and
# Chromium's process group (by t/clients/cdp_chat.py).
#
# Skipped only when Chromium cannot be installed here at all; when the
# package is installable but missing, this fails (build/deps.sh installs it).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Path qw(rmtree make_path);
use Cwd qw(abs_path);
use lib 't/lib';
use WSGW::Test qw(:all);

sub find_chromium {
    return $ENV{WSGW_CHROMIUM} if $ENV{WSGW_CHROMIUM};
    # Debian's real binary (the /usr/bin/chromium wrapper adds flags and
    # extensions of its own); then whatever is on PATH.
    return '/usr/lib/chromium/chromium' if -x '/usr/lib/chromium/chromium';
    for my $dir (split /:/, $ENV{PATH} // '') {
        for my $name (qw(chromium chromium-browser)) {
            return "$dir/$name" if -x "$dir/$name";
        }
    }
    return undef;
}

sub chromium_installable {
    my ($rc, $out) = run_bounded(timeout => 30, cmd => ['apt-cache', 'policy', 'chromium']);
    return $rc == 0 && $out =~ /^\s*Candidate:\s*(?!\(none\))\S+/m;
}

sub lines_of {
    my ($f) = @_;
    open my $fh, '<', $f or return ();
    return <$fh>;
}

my $chromium = find_chromium();
if (!$chromium) {
    if (chromium_installable()) {
        plan tests => 1;
        ok 0, 'chromium is installable but not installed: apt-get install chromium '
            . '(build/deps.sh does)';
        exit 0;
    }
    plan tests => 1, need { 'chromium (not installable on this system)' => 0 };
}
plan tests => 17;

my $src = source_dir();
my $run = abs_path(top_dir() . '/t/logs') . '/demo';
rmtree($run);
make_path($run);
my $port = free_port();

# Start the demo as the README does, minus building (make check built it).
my $demo = fork;
die "fork: $!" unless defined $demo;
if (!$demo) {
    $ENV{PORT} = $port;
    $ENV{WSGW_DEMO_NO_BUILD} = 1;
    $ENV{WSGW_BUILDDIR} = build_dir();
    $ENV{WSGW_DEMO_RUN} = "$run/run";
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$run/demo.out";
    open STDERR, '>&', \*STDOUT;
    exec('/bin/sh', "$src/build/demo.sh") or POSIX::_exit(127);
}
my $up = wait_port($port, 30, $demo);
ok $up, 'build/demo.sh starts httpd on a loopback port';
my $said = '';
wait_until(10, sub { open my $fh, '<', "$run/demo.out" or return 0; local $/; $said = <$fh>; $said =~ /is running/ });
ok t_cmp($said, qr{Open http://127\.0\.0\.1:$port/ in two browser windows}, 'and says where to go');

my $page = $up ? http_request(port => $port, path => '/') : { status => 0, body => '' };
ok t_cmp($page->{status}, 200, 'the chat page is served');
ok $page->{body} =~ m{new WebSocket\(} && $page->{body} =~ m{<a id="status" href="/ws-gateway-status">},
   'it opens a WebSocket and links to the status page';

my %seen;
if ($up) {
    my ($rc, $out) = run_bounded(timeout => 180, cmd => [
        '/usr/bin/python3', top_dir() . '/t/clients/cdp_chat.py',
        '--chromium', $chromium, '--url', "http://127.0.0.1:$port/",
        '--profile', "$run/profile", '--log', "$run/chromium.log", '--timeout', 20]);
    %seen = $out =~ /^(\w+): (.*)$/mg;
    $seen{exit} = $rc;
    t_debug($out);
}
ok t_cmp($seen{page_a_connected} // '', 'yes', 'first page: WebSocket open through the gateway');
ok t_cmp($seen{page_b_connected} // '', 'yes', 'second page: WebSocket open through the gateway');
ok t_cmp($seen{alice_to_other_page} // '', 'yes', 'a message sent in the first page arrives in the second');
ok t_cmp($seen{bob_to_other_page} // '', 'yes', 'a message sent in the second page arrives in the first');
ok t_cmp(($seen{alice_on_own_page} // '') . ($seen{bob_on_own_page} // ''), 'yesyes',
         'each page gets its own message back (broadcast to all)');
ok t_cmp($seen{status_link} // '', "http://127.0.0.1:$port/ws-gateway-status",
         'the page links to the status page');
ok t_cmp($seen{exit} // -2, 0, 'the browser run succeeded') or t_debug("$run/chromium.log");
ok t_cmp($seen{chromium_stopped} // '', 'yes', "Chromium's processes are all gone");

# Stop the demo by PID; it stops its httpd and backend.
my ($httpd_pid, $backend_pid) = map { (join('', lines_of("$run/run/$_")) =~ /(\d+)/)[0] }
    qw(httpd.pid backend.pid);
stop_process($demo);
ok !kill(0, $demo), 'the demo stopped';
ok $httpd_pid && wait_until(10, sub { !kill 0, $httpd_pid }), "and with it the demo's httpd";
ok $backend_pid && wait_until(10, sub { !kill 0, $backend_pid }), 'and the chat backend';

my @access = lines_of("$run/run/logs/access_log");
ok t_cmp(scalar(grep { m{"GET /chat HTTP/1\.1" 101 } } @access), 2,
         'the access log shows both tunnels') or t_debug(join '', @access);
my @errors = grep { /\[[\w:]*(error|crit|alert|emerg)\]/ } lines_of("$run/run/logs/error_log");
ok t_cmp(join('', @errors), '', 'no errors in the demo error log');
