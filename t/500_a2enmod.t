# Packaging (SPEC §2): `make install` with DESTDIR puts the .so (no .la)
# into the module directory and, on a Debian layout, ws_gateway.load
# (leading "# Depends: proxy proxy_http", then LoadModule) and the annotated
# ws_gateway.conf into mods-available, enables nothing, keeps an edited
# .conf, and `make uninstall` removes what it put. Then, against a staged
# Debian configuration tree (APACHE_CONFDIR, nothing of /etc touched),
# `a2enmod ws_gateway` enables proxy and proxy_http too, and the staged
# Apache starts with the module and proxies a WebSocket.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use File::Path qw(rmtree make_path);
use File::Find ();
use Cwd qw(abs_path);
use lib 't/lib';
use WSGW::Test qw(:all);

my $a2enmod = '/usr/sbin/a2enmod';
my $debian_etc = '/etc/apache2';

plan tests => 49,
    need { "a Debian apache2 layout ($a2enmod, $debian_etc/mods-available)" =>
               -x $a2enmod && -d "$debian_etc/mods-available" };

my $src_conf = source_dir() . '/conf/ws_gateway.conf';
my $stage = abs_path(top_dir() . '/t/logs') . '/a2enmod';
rmtree($stage);
make_path($stage);

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    return <$fh>;
}

sub files_under {
    my ($dir) = @_;
    my @f;
    File::Find::find({ no_chdir => 1, wanted => sub { push @f, $_ if -f $_ || -l $_ } }, $dir)
        if -d $dir;
    return sort @f;
}

# --- 1. make install DESTDIR=... --------------------------------------------
my $dest = "$stage/destdir";
my ($rc, $out) = make_build('install', "DESTDIR=$dest");
ok t_cmp($rc, 0, 'make install DESTDIR=... succeeds') or t_debug($out);

my @files = files_under($dest);
my @so = grep { m{/mod_ws_gateway\.so$} } @files;
my @load = grep { m{/mods-available/ws_gateway\.load$} } @files;
my @conf = grep { m{/mods-available/ws_gateway\.conf$} } @files;
ok t_cmp(scalar @so, 1, 'one mod_ws_gateway.so installed') or t_debug("@files");
ok t_cmp(scalar(grep { /\.la$/ } @files), 0, 'no .la file installed');
ok t_cmp(scalar @load, 1, 'mods-available/ws_gateway.load installed');
ok t_cmp(scalar @conf, 1, 'mods-available/ws_gateway.conf installed');
ok t_cmp(scalar(grep { m{/mods-enabled/} } @files), 0, 'install enables nothing (no apxs -a)');
my @unexpected = grep { !m{/(mod_ws_gateway\.so|ws_gateway\.(load|conf)|ws-gateway-migrate|man1/ws-gateway-migrate\.1)$} } @files;
ok((grep { m{/bin/ws-gateway-migrate$} } @files), 'ws-gateway-migrate installed into bindir');
ok t_cmp("@unexpected", '', 'nothing else installed');

my $load_file = $load[0] // '';
my $load = slurp($load_file) // '';
my ($first) = split /\n/, $load;
ok t_cmp($first // '', '# Depends: proxy proxy_http', '.load starts with the # Depends: line');
# The LoadModule line names the installed .so without DESTDIR.
my $so_final = $so[0] ? substr($so[0], length $dest) : '?';
ok t_cmp($load, qr{^LoadModule ws_gateway_module \Q$so_final\E$}m,
         'LoadModule names the installed .so (no DESTDIR in it)');
# a2enmod reads # Depends: only in the leading comment block.
my ($head) = $load =~ /\A((?:[ \t]*(?:#.*)?\n)*)/;
ok t_cmp($head, qr/^# Depends: proxy proxy_http$/m, '# Depends: is in the leading comment block');
my $conf_file = $conf[0] // '';
ok((slurp($conf_file) // '') eq slurp($src_conf), 'ws_gateway.conf is the annotated reference');

# An edited .conf survives a reinstall; the new one goes beside it.
if (open my $fh, '>>', $conf_file) { print $fh "WSGatewayIdleTimeout 600\n"; close $fh }
($rc, $out) = make_build('install', "DESTDIR=$dest");
ok t_cmp($rc, 0, 'reinstall succeeds') or t_debug($out);
ok((slurp($conf_file) // '') =~ /^WSGatewayIdleTimeout 600$/m, 'reinstall keeps the edited ws_gateway.conf');
ok((slurp("$conf_file.dist") // '') eq slurp($src_conf), 'the new one is ws_gateway.conf.dist');
ok t_cmp($out, qr/keeping the edited .*ws_gateway\.conf/, 'reinstall says so');

# make uninstall removes what install put, and leaves the edited .conf.
($rc, $out) = make_build('uninstall', "DESTDIR=$dest");
ok t_cmp($rc, 0, 'make uninstall succeeds') or t_debug($out);
my @left = files_under($dest);
ok t_cmp("@left", $conf_file, 'uninstall leaves only the edited ws_gateway.conf');
unlink $conf_file;
# An unedited .conf goes with uninstall.
($rc, $out) = make_build('install', "DESTDIR=$dest");
($rc, $out) = make_build('uninstall', "DESTDIR=$dest");
@left = files_under($dest);
ok t_cmp("@left", '', 'install + uninstall leave no file behind') or t_debug($out);

# --- 2. a staged Debian configuration tree ----------------------------------
# Debian's apache2.conf and mods-available, our own envvars, ports.conf and
# site; an empty mods-enabled; a2enmod's state directory inside the stage.
my $etc = "$stage/etc/apache2";
my %dirs = map { $_ => "$stage/$_" } qw(run lock log state modules prefix);
make_path($etc, values %dirs, map { "$etc/$_" } qw(mods-enabled conf-available
       conf-enabled sites-available sites-enabled));
system('cp', '-R', "$debian_etc/mods-available", "$debian_etc/apache2.conf", "$etc/") == 0
    or die "copying $debian_etc: $?";
# httpd children may run as nobody (as root): the stage must be traversable.
system('chmod', '-R', 'a+rX', $stage);
my $user = $> == 0 ? 'nobody' : scalar getpwuid($>);
my $group = $> == 0 ? 'nogroup' : scalar getgrgid($));
my %envvars = (
    APACHE_RUN_USER => $user, APACHE_RUN_GROUP => $group,
    APACHE_PID_FILE => "$dirs{run}/apache2.pid", APACHE_RUN_DIR => $dirs{run},
    APACHE_LOCK_DIR => $dirs{lock}, APACHE_LOG_DIR => $dirs{log}, LANG => 'C',
);
open my $ev, '>', "$etc/envvars" or die "$etc/envvars: $!";
print $ev "export $_=$envvars{$_}\n" for sort keys %envvars;
close $ev;
my $port = free_port();
open my $pc, '>', "$etc/ports.conf" or die $!;
print $pc "Listen 127.0.0.1:$port\nServerName 127.0.0.1\n";
close $pc;

my ($bpid, $bport) = start_backend('c', name => 'a2enmod');
open my $site, '>', "$etc/sites-available/wsgw.conf" or die $!;
print $site <<"SITE";
# The whole WebSocket recipe, one line.
WSGatewayPass /chat ws://127.0.0.1:$bport/
SITE
close $site;

my %a2env = (APACHE_CONFDIR => $etc, APACHE_ENVVARS => "$etc/envvars",
             APACHE_STATE_DIRECTORY => $dirs{state});
sub a2 {
    my ($cmd, @args) = @_;
    return run_bounded(timeout => 30, env => \%a2env,
                       cmd => ["/usr/sbin/$cmd", @args]);
}

# Install into the stage: module directory and confdir overridden on the
# make command line, every other directory under the stage's prefix.
my @relocate = ("apache_moduledir=$dirs{modules}", "apache_confdir=$etc",
                "prefix=$dirs{prefix}", "exec_prefix=$dirs{prefix}",
                "bindir=$dirs{prefix}/bin", "datarootdir=$dirs{prefix}/share",
                "mandir=$dirs{prefix}/share/man");
($rc, $out) = make_build('install', @relocate);
ok t_cmp($rc, 0, 'make install into the staged tree') or t_debug($out);
ok t_cmp(slurp("$etc/mods-available/ws_gateway.load") // '',
         qr{^LoadModule ws_gateway_module \Q$dirs{modules}\E/mod_ws_gateway\.so$}m,
         'the staged .load points at the staged module directory');

($rc, $out) = a2('a2enmod', '-q', 'mpm_event', 'authz_core');
ok t_cmp($rc, 0, 'a2enmod mpm_event authz_core (the base)') or t_debug($out);
($rc, $out) = a2('a2ensite', '-q', 'wsgw');
ok t_cmp($rc, 0, 'a2ensite wsgw') or t_debug($out);
ok !-e "$etc/mods-enabled/proxy.load", 'proxy is not enabled before';

($rc, $out) = a2('a2enmod', 'ws_gateway');
ok t_cmp($rc, 0, 'a2enmod ws_gateway succeeds') or t_debug($out);
ok t_cmp($out, qr/Considering dependency proxy for ws_gateway/, 'a2enmod reads # Depends:');
for my $f (qw(proxy.load proxy.conf proxy_http.load ws_gateway.load ws_gateway.conf)) {
    my $l = "$etc/mods-enabled/$f";
    ok((-l $l && (abs_path($l) // '') eq abs_path("$etc/mods-available/$f")),
       "mods-enabled/$f links to mods-available/$f");
}
ok -e "$dirs{state}/module/enabled_by_admin/ws_gateway",
   'a2enmod kept its state inside the stage';
# The .load files sort so that mod_proxy loads first.
my @order = map { s{.*/}{}r } glob("$etc/mods-enabled/*.load");
my %pos;
@pos{@order} = 0 .. $#order;
ok(($pos{'proxy.load'} // 99) < ($pos{'ws_gateway.load'} // -1)
   && ($pos{'proxy_http.load'} // 99) < ($pos{'ws_gateway.load'} // -1),
   'ws_gateway.load sorts after proxy.load and proxy_http.load');

($rc, $out) = run_bounded(timeout => 30, env => \%a2env,
                          cmd => ['/usr/sbin/apache2ctl', 'configtest']);
ok t_cmp($rc, 0, 'apache2ctl configtest on the staged tree') or t_debug($out);

# Start the staged Apache (foreground, our child, stopped by PID).
my $hpid = fork;
die "fork: $!" unless defined $hpid;
if (!$hpid) {
    @ENV{keys %envvars} = values %envvars;
    open STDOUT, '>>', "$dirs{log}/stdout";
    open STDERR, '>&', \*STDOUT;
    exec(Apache::Test::vars('httpd'), '-d', $etc, '-f', "$etc/apache2.conf", '-D', 'FOREGROUND')
        or POSIX::_exit(127);
}
my $up = wait_port($port, 20, $hpid);
ok $up, 'the staged Apache starts';
my ($mods_rc, $mods) = run_bounded(timeout => 30, env => { %envvars },
    cmd => [Apache::Test::vars('httpd'), '-d', $etc, '-f', "$etc/apache2.conf", '-M']);
ok t_cmp($mods, qr/ws_gateway_module/, 'apache2 -M lists ws_gateway_module');

my $c = $up ? ws_connect(port => $port, path => '/chat/echo') : {};
ok t_cmp($c->{status} // 0, 101, 'a WebSocket handshake through the staged Apache');
ok $c->{accept_ok}, 'with the right Sec-WebSocket-Accept';
my $m;
if (($c->{status} // 0) == 101) {
    ws_send($c, 1, 'hello through a2enmod');
    $m = ws_recv_data($c, 5);
}
ok t_cmp($m && $m->{payload}, 'hello through a2enmod', 'a message goes there and back');
my $res = $up ? http_request(port => $port, path => '/chat/plain') : {};
ok t_cmp($res->{status} // 0, 200, 'plain HTTP under the same mapping goes through mod_proxy_http');
close $c->{sock} if $c->{sock};

stop_process($hpid);
ok !kill(0, $hpid), 'the staged Apache stopped';
my @bad = grep { /\[[\w:]*(error|warn|crit|alert|emerg)\]/ } split /\n/, (slurp("$dirs{log}/error.log") // '');
ok t_cmp("@bad", '', 'no errors in the staged error log');

# a2dismod refuses to pull mod_proxy from under us; disabling us works.
($rc, $out) = a2('a2dismod', 'proxy');
ok t_cmp($rc != 0 ? 1 : 0, 1, 'a2dismod proxy refuses while ws_gateway is enabled');
ok t_cmp($out, qr/depend on proxy\b.*\bws_gateway\b/s, 'and names ws_gateway');
($rc, $out) = a2('a2dismod', 'ws_gateway');
ok t_cmp($rc, 0, 'a2dismod ws_gateway') or t_debug($out);
ok !-e "$etc/mods-enabled/ws_gateway.load" && !-e "$etc/mods-enabled/ws_gateway.conf",
   'its links are gone';

($rc, $out) = make_build('uninstall', @relocate);
ok t_cmp($rc, 0, 'make uninstall from the staged tree') or t_debug($out);
ok !-e "$etc/mods-available/ws_gateway.load" && !-e "$etc/mods-available/ws_gateway.conf"
   && !-e "$dirs{modules}/mod_ws_gateway.so", 'uninstall removed the module and its files';
ok -e "$etc/mods-available/proxy.load", "and nothing of Debian's";

stop_process($bpid);
