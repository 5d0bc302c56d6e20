# Request mapping: segment-boundary PATHs, longest match, exclusions, the
# <Location> form, query strings, plain HTTP fall-through with redirect
# rewriting, http=off and http=URL, and coexistence with ProxyPass ws://.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use lib 't/lib';
use WSGW::Test qw(:all);

plan tests => 28;

my $gw = gw_port();
my $echo = $ENV{WSGW_ECHO_PORT};
errlog_start();

# Plain HTTP under a mapping goes to the same backend, path and query kept.
my $res = http_request(path => '/c/some/where?a=1&b=two');
ok t_cmp($res->{status}, 200, 'plain GET under /c is proxied');
ok t_cmp($res->{body}, qr/^backend=echo$/m, 'served by the echo backend');
ok t_cmp($res->{body}, qr{^uri=/some/where\?a=1&b=two$}m, 'rest of path and query string appended');

$res = http_request(path => '/c');
ok t_cmp($res->{body}, qr{^uri=/$}m, 'exact PATH maps to the backend path');

# Segment boundaries: /cx is not under /c.
$res = http_request(path => '/cx/y');
ok t_cmp($res->{status}, 404, '/cx is not under /c (segment boundary)');

# Exclusion: /c/static is served locally (404 here, nothing on disk).
$res = http_request(path => '/c/static/app.js');
ok t_cmp($res->{status}, 404, 'excluded sub-path is not proxied');
ok !($res->{body} =~ /backend=/), 'excluded sub-path never reached a backend';

# Longest PATH wins: /c/admin goes to the python backend.
my $c = ws_connect(path => '/c/admin/name');
ok t_cmp($c->{status}, 101, 'handshake under /c/admin');
my $m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'python', 'longest PATH /c/admin wins over /c');
$c = ws_connect(path => '/c/name');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'echo', '/c/name goes to the echo backend');

# <Location> form.
$c = ws_connect(path => '/loc/name');
ok t_cmp($c->{status}, 101, 'handshake under <Location /loc>');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'echo', '<Location> mapping reaches its backend');
$res = http_request(path => '/loc/x?q=1');
ok t_cmp($res->{body}, qr{^uri=/inloc/x\?q=1$}m, '<Location> plain request joined to the backend path');

# ProxyPassReverse-equivalent rewriting of Location, Content-Location, URI.
$res = http_request(path => '/c/redirect');
ok t_cmp($res->{status}, 302, 'redirect relayed');
ok t_cmp($res->{headers}{location}, "http://127.0.0.1:$gw/c/target", 'Location rewritten to the gateway');
ok t_cmp($res->{headers}{'content-location'}, "http://127.0.0.1:$gw/c/content", 'Content-Location rewritten');
ok t_cmp($res->{headers}{uri}, "http://127.0.0.1:$gw/c/uri", 'URI rewritten');

# http=off: plain requests get 426 with the upgrade headers.
$res = http_request(path => '/wsonly/x');
ok t_cmp($res->{status}, 426, 'http=off answers 426');
ok t_cmp($res->{headers}{upgrade}, 'websocket', '426 carries Upgrade: websocket');
ok t_cmp($res->{headers}{connection}, qr/\bUpgrade\b/i, '426 carries Connection: Upgrade');
$c = ws_connect(path => '/wsonly/name');
ok t_cmp($c->{status}, 101, 'http=off still tunnels WebSockets');

# http=URL: plain requests go elsewhere, WebSockets to the ws backend.
$res = http_request(path => '/split/x');
ok t_cmp($res->{body}, qr{^backend=plain2\n(?s:.*)^uri=/plain/x$}m, 'http=URL sends plain requests to that backend');
$c = ws_connect(path => '/split/name');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'echo', 'http=URL keeps WebSockets on the ws backend');

# A legacy ProxyPass ws:// line keeps working next to the module.
$c = ws_connect(path => '/legacy/name');
ok t_cmp($c->{status}, 101, 'ProxyPass /legacy ws:// still upgrades (mod_proxy_http)');
$m = ws_recv_data($c, 5);
ok t_cmp($m && $m->{payload}, 'echo', 'legacy mapping reaches the backend');

# WSGatewayPass mappings come before ProxyPass lines; an exclusion hands a
# sub-path back to ProxyPass.
$res = http_request(path => '/c/shadowed/x');
ok t_cmp($res->{body}, qr/^backend=echo$/m, 'a ProxyPass under a WSGatewayPass PATH is shadowed by it');
$res = http_request(path => '/c/pp/x');
ok t_cmp($res->{body}, qr{^backend=plain2\n(?s:.*)^uri=/plain/x$}m, 'an excluded sub-path goes to its ProxyPass');

my @bad = errlog_unexpected();
ok t_cmp(scalar(@bad), 0, 'no unexpected errors or warnings in the error log')
    or t_debug(@bad);
