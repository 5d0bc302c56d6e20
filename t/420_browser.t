# A real browser: headless Chromium (Debian's chromium) loads
# t/htdocs/wsgw/browser.html over https from the test httpd, opens a
# WebSocket through the gateway, exchanges text, binary and 1 MiB
# messages, closes with 1000 and reports by fetching /wsgw/result.txt with
# the outcome in the query string; the test reads it from the TLS access
# log, with the protocol the page and the WebSocket used (Chromium opens
# WebSockets over HTTP/2, RFC 8441, on an h2 connection whose server
# offers extended CONNECT).
#
# Chromium runs with --headless --no-sandbox (we may be root), no
# background networking, a profile under t/logs, and trusts only our test
# certificate (--ignore-certificate-errors-spki-list with its key's hash).
# It is started in its own process group and stopped by that PID.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use POSIX ();
use File::Path ();
use lib 't/lib';
use WSGW::Test qw(:all);

my $chromium = (grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH})[0];
plan skip_all => 'chromium is not installed (apt-get install chromium)'
    unless $chromium;
plan tests => 19;

my $port = tls_port();
my $spki = tls_spki_sha256(tls_dir() . '/server.pem');
my $logs = Apache::Test::vars('t_logs');
errlog_start();

# Run the page for WebSocket path $ws with extra Chromium flags; returns
# { result => access-log line of the report, ws => the WebSocket's line }.
sub browse {
    my ($ws, @flags) = @_;
    my $run = sprintf('%x%04x', time, int(rand(65536)));
    my $dir = "$logs/chromium-$run";
    File::Path::make_path("$dir/home");
    my $url = "https://127.0.0.1:$port/wsgw/browser.html?run=$run&ws=$ws";
    my @cmd = ($chromium, '--headless', '--no-sandbox', '--disable-gpu',
               '--no-first-run', '--no-default-browser-check',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--disable-extensions', '--disable-default-apps',
               '--disable-dev-shm-usage', '--metrics-recording-only',
               "--user-data-dir=$dir/profile",
               "--ignore-certificate-errors-spki-list=$spki", @flags, $url);
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        POSIX::setpgid(0, 0);
        $ENV{HOME} = "$dir/home";
        open STDOUT, '>', "$dir/chromium.log";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    my ($result, $wsline);
    wait_until(45, sub {
        ($result) = grep { m{/wsgw/result\.txt\?run=$run&} } tls_access_log_lines();
        return defined $result;
    });
    # The WebSocket's line is written when its tunnel has ended.
    wait_until(10, sub {
        ($wsline) = grep { m{"GET \Q$ws\E[?&]run=$run } } tls_access_log_lines();
        return defined $wsline;
    }) if $result;
    # Stop Chromium and every process it started, by its process group.
    kill 'TERM', -$pid;
    unless (wait_until(10, sub { waitpid($pid, POSIX::WNOHANG()) != 0 })) {
        kill 'KILL', -$pid;
        waitpid($pid, 0);
    }
    wait_until(5, sub { !kill 0, -$pid });
    kill 'KILL', -$pid;
    ($wsline) = grep { m{"GET \Q$ws\E[?&]run=$run } } tls_access_log_lines();
    t_debug("chromium run $run: " . ($result // 'no report') . ' / '
            . ($wsline // 'no WebSocket line'));
    File::Path::remove_tree($dir) if $result;
    return { result => $result // '', ws => $wsline // '' };
}

sub proto_of { my ($l) = @_; return $l =~ m{ (HTTP/[\d.]+)" } ? $1 : 'none' }

# Default Chromium: the page over h2, the WebSocket over h2 too.
my $r = browse('/c/echo');
ok t_cmp($r->{result}, qr/ok=1&/, 'Chromium: every echo right, closed with 1000');
ok t_cmp($r->{result}, qr/&got=41&want=41&/, 'all 41 messages (20 text, 20 binary, 1 MiB) came back');
ok t_cmp($r->{result}, qr/&page=h2&/, 'the page came over HTTP/2');
ok t_cmp($r->{ws}, qr/" 101 /, 'the WebSocket went through the gateway (101 logged)');
my $proto = proto_of($r->{ws});
ok t_cmp($proto, 'HTTP/2.0', "Chromium opened the WebSocket over $proto (RFC 8441 extended CONNECT)");
ok t_cmp($r->{ws}, qr/by=client code=1000|code=1000 by=client/, 'the browser closed it with 1000');

# The same through a TLS backend.
$r = browse('/wss/echo');
ok t_cmp($r->{result}, qr/ok=1&/, 'Chromium through a wss backend: every echo right');
ok t_cmp($r->{ws}, qr/" 101 .*ws=wss:/, 'served by the wss backend');
ok t_cmp(proto_of($r->{ws}), 'HTTP/2.0', 'over HTTP/2');

# python3-websockets as the backend (permessage-deflate is offered by
# Chromium and accepted by it: RSV1 frames pass frames mode).
$r = browse('/py/echo');
ok t_cmp($r->{result}, qr/ok=1&/, 'Chromium to python3-websockets: every echo right');
ok t_cmp(proto_of($r->{ws}), 'HTTP/2.0', 'over HTTP/2');

# HTTP/2 off in Chromium: page and WebSocket over HTTP/1.1 (the classic
# GET upgrade through mod_ssl).
$r = browse('/c/echo', '--disable-http2');
ok t_cmp($r->{result}, qr/ok=1&/, 'Chromium without HTTP/2: every echo right');
ok t_cmp($r->{result}, qr/&page=http%2F1\.1&/, 'the page came over HTTP/1.1');
ok t_cmp(proto_of($r->{ws}), 'HTTP/1.1', 'and the WebSocket over HTTP/1.1');

# Origin policy applies to browsers over h2 as well: /origin only allows
# https://good.example and http://127.0.0.1.
$r = browse('/origin/echo');
ok t_cmp($r->{result}, qr/ok=0&/, 'a WebSocket from a disallowed Origin fails in the browser');
ok t_cmp($r->{ws}, qr/" 403 /, 'refused with 403');
ok t_cmp(proto_of($r->{ws}), 'HTTP/2.0', '(over HTTP/2)');

ok t_cmp(scalar(grep { /WSGW00307/ && /closed by/ } errlog_lines()) >= 4, 1,
         'the tunnels logged their end');
my @bad = errlog_unexpected();
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
