# Configuration: every directive form is accepted; bad configurations are
# refused at startup with a message naming the directive and the fix.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use lib 't/lib';
use WSGW::Test qw(config_test);

my @good = (
    ['server PATH form' => 'WSGatewayPass /chat ws://127.0.0.1:8080/'],
    ['all schemes' => "WSGatewayPass /a ws://127.0.0.1:8080/\nWSGatewayPass /b http://127.0.0.1:8081/x\n"
                    . "WSGatewayPass /c wss://127.0.0.1:8443/\nWSGatewayPass /d https://127.0.0.1:8444/"],
    ['exclusion' => "WSGatewayPass / ws://127.0.0.1:8080/\nWSGatewayPass /static !"],
    ['Location form' => "<Location /chat>\n WSGatewayPass ws://127.0.0.1:8080/\n</Location>"],
    ['Location exclusion' => "WSGatewayPass / ws://127.0.0.1:8080/\n<Location /s>\n WSGatewayPass !\n</Location>"],
    ['VirtualHost' => "<VirtualHost 127.0.0.1:*>\n WSGatewayPass /v ws://127.0.0.1:8080/\n</VirtualHost>"],
    ['worker keys' => 'WSGatewayPass /k ws://127.0.0.1:8080/ connectiontimeout=2 timeout=30 retry=5 keepalive=on'],
    ['http=off' => 'WSGatewayPass /k ws://127.0.0.1:8080/ http=off'],
    ['http=URL' => 'WSGatewayPass /k ws://127.0.0.1:8080/ http=http://127.0.0.1:8081/'],
    ['IPv6 backend' => 'WSGatewayPass /k ws://[::1]:8080/'],
    ['balancer' => "<Proxy balancer://pool>\n BalancerMember ws://127.0.0.1:8080\n</Proxy>\nWSGatewayPass /b balancer://pool/ lbmethod=byrequests"],
    ['balancer declared after the line' => "WSGatewayPass /b balancer://later/\n<Proxy balancer://later>\n BalancerMember ws://127.0.0.1:8080\n</Proxy>"],
    ['policy in <LocationMatch> and <Proxy>' => "<LocationMatch ^/x>\n WSGatewayIdleTimeout 2\n</LocationMatch>\n<Proxy ws://127.0.0.1:8080/>\n WSGatewayIdleTimeout 2\n</Proxy>"],
    ['balancer growing at run time' => "<Proxy balancer://grow>\n ProxySet growth=4\n</Proxy>\nWSGatewayPass /b balancer://grow/"],
    ['policy directives' => join("\n", 'WSGatewayIdleTimeout 300', 'WSGatewayPingInterval 20',
        'WSGatewayPingTimeout 10', 'WSGatewayMode tunnel', 'WSGatewayMaxMessageSize 16M',
        'WSGatewayMaxLifetime 3600', 'WSGatewayAllowOrigin https://a.example http://b.example:8080',
        'WSGatewayMaxConnections 0', 'WSGatewayMaxConnectionsPerIP 0', 'WSGatewayGracefulClose Off',
        "<Location /x>\n WSGatewayMode frames\n WSGatewayAllowOrigin *\n</Location>")],
    ['limits and status page' => "WSGatewayMaxConnections 100\nWSGatewayMaxConnectionsPerIP 10\n<Location /s>\n SetHandler ws-gateway-status\n</Location>\nWSGatewayPass /x ws://127.0.0.1:8080/"],
    ['failover group' => 'WSGatewayPass /f ws://127.0.0.1:8080/ ws://127.0.0.1:8081/app/ http://127.0.0.1:8082/ retry=5'],
    ['ping timeout 0 (the interval)' => "WSGatewayPingInterval 20\nWSGatewayPingTimeout 0"],
    ['graceful close with spread' => "WSGatewayGracefulClose On 30\n<Location /g>\n WSGatewayGracefulClose Off\n</Location>"],
    ['coexists with ProxyPass ws://' => "ProxyPass /legacy ws://127.0.0.1:8080/\nWSGatewayPass /new ws://127.0.0.1:8080/"],
);

my @bad = (
    ['unknown scheme' => 'WSGatewayPass /x ftp://127.0.0.1/', qr/WSGatewayPass.*unknown scheme 'ftp'/],
    ['single slash' => 'WSGatewayPass /x ws:/127.0.0.1:8080/', qr/WSGatewayPass.*two slashes/],
    ['missing host' => 'WSGatewayPass /x ws:///path', qr/WSGatewayPass.*has no host/],
    ['no URL' => 'WSGatewayPass /x', qr/WSGatewayPass \/x: no backend URL/],
    ['no PATH at server level' => 'WSGatewayPass ws://127.0.0.1:8080/', qr/WSGatewayPass needs a PATH/],
    ['PATH inside Location' => "<Location /a>\n WSGatewayPass /a ws://127.0.0.1:8080/\n</Location>",
     qr/inside <Location \/a> takes no PATH/],
    ['LocationMatch' => "<LocationMatch ^/a>\n WSGatewayPass ws://127.0.0.1:8080/\n</LocationMatch>",
     qr/WSGatewayPass is allowed in server config, <VirtualHost> and <Location PATH> only/],
    ['Directory' => "<Directory /tmp>\n WSGatewayPass ws://127.0.0.1:8080/\n</Directory>",
     qr/WSGatewayPass is allowed in server config/],
    ['key typo' => 'WSGatewayPass /x ws://127.0.0.1:8080/ timeuot=5', qr/WSGatewayPass: bad parameter for backend .*timeuot/],
    ['bad key value' => 'WSGatewayPass /x ws://127.0.0.1:8080/ retry=-5', qr/WSGatewayPass: bad parameter .*Retry must be a positive value/],
    ['query in URL' => 'WSGatewayPass /x ws://127.0.0.1:8080/?a=1', qr/may not carry a query/],
    ['bad port' => 'WSGatewayPass /x ws://127.0.0.1:99999/', qr/WSGatewayPass: bad port '99999' in backend URL .*1 to 65535/],
    ['port not a number' => 'WSGatewayPass /x ws://127.0.0.1:abc/', qr/WSGatewayPass: bad port 'abc' in backend URL/],
    ['no scheme' => 'WSGatewayPass /x 127.0.0.1:8080', qr/WSGatewayPass: '127.0.0.1:8080' has no scheme; write ws:\/\/127.0.0.1:8080/],
    ['duplicate PATH' => "WSGatewayPass /x ws://127.0.0.1:8080/\nWSGatewayPass /x/ ws://127.0.0.1:8081/", qr/already mapped at/],
    ['empty http=' => 'WSGatewayPass /x ws://127.0.0.1:8080/ http=', qr/http= needs 'off' or a backend URL/],
    ['bad number' => 'WSGatewayIdleTimeout soon', qr/WSGatewayIdleTimeout: 'soon' is not a number of seconds/],
    ['negative number' => 'WSGatewayPingInterval -1', qr/WSGatewayPingInterval: '-1' is not a number/],
    ['bad ping timeout' => 'WSGatewayPingTimeout soon',
     qr/WSGatewayPingTimeout: 'soon' is not a number of seconds \(.*; 0 means the ping interval, the default\)/],
    ['bad mode' => 'WSGatewayMode raw', qr/WSGatewayMode: 'raw' is not a mode; use 'frames'/],
    ['bad size' => 'WSGatewayMaxMessageSize 10Q', qr/WSGatewayMaxMessageSize: '10Q' is not a size/],
    ['origin with path' => 'WSGatewayAllowOrigin https://a.example/app', qr/WSGatewayAllowOrigin: .* has a path/],
    ['origin not a URL' => 'WSGatewayAllowOrigin a.example', qr/WSGatewayAllowOrigin: 'a.example' is not an origin/],
    ['star with origins' => 'WSGatewayAllowOrigin * https://a.example', qr/'\*' cannot be combined/],
    ['bad limit' => 'WSGatewayMaxConnections lots', qr/WSGatewayMaxConnections: 'lots' is not a count/],
    ['negative per-IP limit' => 'WSGatewayMaxConnectionsPerIP -2', qr/WSGatewayMaxConnectionsPerIP: '-2' is not a count/],
    ['bad graceful spread' => 'WSGatewayGracefulClose On soon', qr/WSGatewayGracefulClose: 'soon' is not a number of seconds/],
    ['policy in <Directory>' => "<Directory /tmp>\n WSGatewayIdleTimeout 2\n</Directory>",
     qr/WSGatewayIdleTimeout \(.*:\d+\) is inside <Directory>, where it would never apply.*move it into a <Location>/],
    ['policy in <FilesMatch>' => "<FilesMatch x>\n WSGatewayPingInterval 3\n</FilesMatch>",
     qr/WSGatewayPingInterval .* is inside <FilesMatch>/],
    ['graceful Off with spread' => 'WSGatewayGracefulClose Off 5', qr/WSGatewayGracefulClose Off takes no SPREAD/],
    ['balancer in a failover group' => "<Proxy balancer://p>\n BalancerMember ws://127.0.0.1:8080\n</Proxy>\nWSGatewayPass /x ws://127.0.0.1:8081/ balancer://p/",
     qr/a balancer:\/\/ URL cannot be part of a failover group/],
    ['balancer not declared' => 'WSGatewayPass /x balancer://nope/ lbmethod=byrequests', qr/declare the balancer/],
    ['balancer never declared' => 'WSGatewayPass /x balancer://nope/',
     qr/WSGatewayPass \/x .*balancer:\/\/nope is not declared; declare its members with <Proxy balancer:\/\/nope> BalancerMember/],
    ['balancer without members' => "<Proxy balancer://empty>\n ProxySet lbmethod=byrequests\n</Proxy>\nWSGatewayPass /x balancer://empty/",
     qr/balancer:\/\/empty has no members/],
    ['undeclared balancer in Location' => "<Location /q>\n WSGatewayPass balancer://nope/\n</Location>",
     qr/WSGatewayPass \/q .*balancer:\/\/nope is not declared/],
);

plan tests => @good + 2 * @bad + 3;

for my $g (@good) {
    my ($rc, $out) = config_test($g->[1]);
    ok t_cmp($rc, 0, "accepted: $g->[0]") or t_debug($out);
}
for my $b (@bad) {
    my ($rc, $out) = config_test($b->[1]);
    ok t_cmp($rc != 0 ? 1 : 0, 1, "refused: $b->[0]") or t_debug($out);
    ok t_cmp($out, $b->[2], "message for $b->[0] names the directive and the fix");
}

# Frames-mode policy where the mode is tunnel: accepted, with a warning.
{
    my ($rc, $out) = config_test("<Location /t>\n WSGatewayMode tunnel\n WSGatewayPingInterval 5\n</Location>");
    ok t_cmp($rc, 0, 'ping interval in a tunnel-mode <Location> is accepted');
    ok t_cmp($out, qr/WSGW00005: WSGatewayPingInterval has no effect in <Location \/t>: WSGatewayMode is tunnel there/,
             'with a warning that says why and what to do');
}

# Without mod_proxy_http the server does not start: plain requests need it.
{
    my ($rc, $out) = config_test("WSGatewayPass /x ws://127.0.0.1:8080/");
    ok t_cmp($rc, 0, 'baseline with mod_proxy_http loaded');
}
