package WSGW::Test;
# Test helpers for mod_ws_gateway: a raw-socket WebSocket client that can
# send anything (also invalid handshakes and frames) and read control
# frames, backend processes started with bounded readiness waits and stopped
# by PID, bounded waits, and the error log as part of every assertion.
use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(sha1_base64);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use File::Spec;

our @EXPORT_OK = qw(
    start_backend stop_process free_port wait_until
    gw_port ws_connect ws_send ws_recv ws_recv_data ws_close_payload
    ws_key http_request read_until_eof errlog_start errlog_unexpected
    errlog_lines access_log_lines run_py_client top_dir build_dir
    config_test httpd_children_rss tcp_rx_queue
    source_dir run_bounded make_build wait_port
    tls_make_certs tls_port tls_dir tls_spki_sha256 run_h2_client
    tls_access_log_lines config_start ws_frame ws_send_while_reading
    httpd_children_cpu instance_start instance_stop instance_children
    proc_status
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant GUID => '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

sub top_dir   { $ENV{WSGW_TOP} || '.' }
sub build_dir { $ENV{WSGW_BUILDDIR} || top_dir() }
# The source tree (demo/, conf-examples/, build/): the suite itself may run
# from a copy in a VPATH build tree.
sub source_dir { $ENV{WSGW_SRCDIR} || top_dir() }

# A port nothing listens on right now (for dead backends).
# A port nothing listens on now, below the kernel's ephemeral range when
# there is room: a port handed out by bind(0) comes from that range, and
# by the time a test listens on it (or relies on nobody listening there)
# an outgoing connection may have taken it as its local port.
sub free_port {
    my $low = 32768;
    if (open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        ($low) = (<$fh> // '') =~ /(\d+)/;
        $low ||= 32768;
    }
    if ($low > 12000) {
        for (1 .. 200) {
            my $port = 10000 + int(rand($low - 10000));
            my $s = IO::Socket::INET->new(Listen => 1,
                                          LocalAddr => '127.0.0.1',
                                          LocalPort => $port, Proto => 'tcp',
                                          ReuseAddr => 1) or next;
            close $s;
            return $port;
        }
    }
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "cannot bind a free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Poll $cond every 50 ms until true or $timeout seconds passed.
sub wait_until {
    my ($timeout, $cond) = @_;
    my $end = time + $timeout;
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return $cond->() ? 1 : 0;
}

# Start a backend process; returns ($pid, $port) once it accepts connections.
#   kind 'c':  our C backend (t/backend/wsgw-test-backend)
#   kind 'py': Debian's python3-websockets (t/backend/py_ws_backend.py)
sub start_backend {
    my ($kind, %o) = @_;
    my $name = $o{name} || $kind;
    my $logdir = File::Spec->catdir(top_dir(), 't', 'logs');
    mkdir $logdir unless -d $logdir;
    my $portfile = "$logdir/backend-$name-$$.port";
    unlink $portfile;
    my @cmd;
    if ($kind eq 'c') {
        my $bin = build_dir() . '/t/backend/wsgw-test-backend';
        die "$bin is missing: run 'make check' (it builds the test backend)\n"
            unless -x $bin;
        # --exit-with-parent: a test that dies still takes its backend along.
        @cmd = ($bin, '--port', $o{port} || 0, '--port-file', $portfile,
                '--name', $name, '--exit-with-parent');
        push @cmd, '--log', $o{log} if $o{log};
        push @cmd, '--host', $o{host} if $o{host};
        push @cmd, '--tls-cert', $o{tls_cert}, '--tls-key', $o{tls_key}
            if $o{tls_cert};
    }
    elsif ($kind eq 'py') {
        @cmd = ('/usr/bin/python3', top_dir() . '/t/backend/py_ws_backend.py',
                '--port', $o{port} || 0, '--port-file', $portfile,
                '--name', $name);
    }
    elsif ($kind eq 'pywss') {
        # python3-websockets over TLS, reporting the SNI it was sent.
        @cmd = ('/usr/bin/python3', top_dir() . '/t/backend/py_wss_backend.py',
                '--port', $o{port} || 0, '--port-file', $portfile,
                '--name', $name, '--tls-cert', $o{tls_cert},
                '--tls-key', $o{tls_key});
    }
    else {
        die "unknown backend kind $kind";
    }
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDOUT, '>>', "$logdir/backend-$name.out";
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    my $port;
    my $up = wait_until(15, sub {
        if (!$port && -s $portfile) {
            open my $fh, '<', $portfile or return 0;
            ($port) = <$fh> =~ /(\d+)/;
        }
        return 0 unless $port;
        my $s = IO::Socket::INET->new(PeerAddr => $o{host} || '127.0.0.1',
                                      PeerPort => $port, Timeout => 1);
        return $s ? (close($s), 1) : 0;
    });
    unless ($up) {
        stop_process($pid);
        die "backend '$name' (@cmd) did not come up within 15 s; see "
          . "$logdir/backend-$name.out\n";
    }
    unlink $portfile;
    return ($pid, $port);
}

# Stop a process we started: SIGTERM, bounded wait, then SIGKILL.
sub stop_process {
    my ($pid, $sig) = @_;
    return unless $pid;
    kill $sig || 'TERM', $pid;
    my $gone = wait_until(5, sub { waitpid($pid, WNOHANG) != 0 });
    unless ($gone) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
}

sub gw_port {
    require Apache::Test;
    return Apache::Test::vars('port');
}

sub ws_key {
    my $raw = join '', map { chr(int(rand(256))) } 1 .. 16;
    return encode_base64($raw, '');
}

# Open a connection to the gateway and send a handshake.
#   path, host/port (default: the test httpd)
#   headers => [[Name => value], ...] replace the defaults of the same name
#   drop => [names] to leave out, method, protocol (HTTP/1.1)
#   after => bytes sent in the same write as the request (pipelining)
#   tls => 1: connect with TLS to the TLS front (port defaults to
#   tls_port()), verifying its certificate against the run's test CA
# Returns { sock, status, head, headers => {lc name => value}, buf }.
sub ws_connect {
    my (%o) = @_;
    my $port = $o{port} || ($o{tls} ? tls_port() : gw_port());
    my $sock = $o{tls} ? _tls_socket($o{host} || '127.0.0.1', $port)
             : IO::Socket::INET->new(PeerAddr => $o{host} || '127.0.0.1',
                                     PeerPort => $port,
                                     LocalAddr => $o{local_addr},
                                     Timeout => 5)
        or die "connect to 127.0.0.1:$port: $!";
    binmode $sock;
    $sock->autoflush(1);
    my $key = exists $o{key} ? $o{key} : ws_key();
    my @h = (['Host' => "127.0.0.1:$port"], ['Upgrade' => 'websocket'],
             ['Connection' => 'Upgrade'], ['Sec-WebSocket-Version' => '13']);
    push @h, ['Sec-WebSocket-Key' => $key] if defined $key;
    my %drop = map { lc($_) => 1 } @{ $o{drop} || [] };
    for my $nh (@{ $o{headers} || [] }) {
        @h = grep { lc($_->[0]) ne lc($nh->[0]) } @h unless $nh->[2];
    }
    push @h, map { [$_->[0], $_->[1]] } @{ $o{headers} || [] };
    @h = grep { !$drop{lc $_->[0]} } @h;
    my $req = sprintf("%s %s %s\r\n", $o{method} || 'GET', $o{path} || '/echo',
                      $o{protocol} || 'HTTP/1.1')
            . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n";
    $sock->syswrite($req . ($o{after} // ''));
    my $c = { sock => $sock, buf => '', key => $key };
    my $head = _read_head($c, $o{timeout} || 10);
    return $c unless defined $head;
    $c->{head} = $head;
    ($c->{status}) = $head =~ m{^HTTP/\d\.\d (\d{3})};
    $c->{status} //= 0;
    my %hdr;
    for my $line (split /\r\n/, $head) {
        next unless $line =~ /^([^:\s]+):\s*(.*)$/;
        $hdr{lc $1} = exists $hdr{lc $1} ? "$hdr{lc $1}, $2" : $2;
    }
    $c->{headers} = \%hdr;
    $c->{accept_ok} = defined $key && ($hdr{'sec-websocket-accept'} // '')
                      eq sha1_base64($key . GUID) . '=';
    return $c;
}

sub _fill {
    my ($c, $deadline) = @_;
    my $sel = IO::Select->new($c->{sock});
    my $left = $deadline - time;
    return 0 if $left <= 0;
    # A TLS socket may hold decrypted bytes the kernel knows nothing of.
    my $pending = $c->{sock}->can('pending') && $c->{sock}->pending;
    return 0 unless $pending || $sel->can_read($left);
    my $n = $c->{sock}->sysread(my $chunk, 262144);
    if (!$n) {
        $c->{eof} = 1;
        return 0;
    }
    $c->{buf} .= $chunk;
    return $n;
}

sub _read_head {
    my ($c, $timeout) = @_;
    my $deadline = time + $timeout;
    while ($c->{buf} !~ /\r\n\r\n/) {
        return undef unless _fill($c, $deadline);
    }
    $c->{buf} =~ s/^(.*?\r\n)\r\n//s;
    return $1;
}

# One frame as bytes. Options: mask (default 1), fin (default 1), rsv (bits
# as 0x40/0x20/0x10), len (a declared length that lies).
sub ws_frame {
    my ($op, $payload, %o) = @_;
    $payload //= '';
    my $mask = exists $o{mask} ? $o{mask} : 1;
    my $fin = exists $o{fin} ? $o{fin} : 1;
    my $len = exists $o{len} ? $o{len} : length $payload;
    my $b0 = ($fin ? 0x80 : 0) | ($o{rsv} || 0) | $op;
    my $hdr = chr($b0);
    my $mbit = $mask ? 0x80 : 0;
    if ($len < 126) { $hdr .= chr($mbit | $len) }
    elsif ($len < 65536) { $hdr .= chr($mbit | 126) . pack('n', $len) }
    else { $hdr .= chr($mbit | 127) . pack('Q>', $len) }
    my $data = $payload;
    if ($mask) {
        my $key = join '', map { chr(int(rand(256))) } 1 .. 4;
        $hdr .= $key;
        my $k = $key x (int(length($data) / 4) + 1);
        $data = $data ^ substr($k, 0, length $data);
    }
    return $hdr . $data;
}

# Send one frame (options as ws_frame, plus timeout).
sub ws_send {
    my ($c, $op, $payload, %o) = @_;
    my $out = ws_frame($op, $payload, %o);
    my $off = 0;
    my $sel = IO::Select->new($c->{sock});
    my $deadline = time + ($o{timeout} || 30);
    while ($off < length $out) {
        last unless $sel->can_write($deadline - time);
        my $n = $c->{sock}->syswrite($out, length($out) - $off, $off);
        last unless $n;
        $off += $n;
    }
    return $off == length $out;
}

# Send one frame like ws_send, but without blocking and reading whatever
# arrives meanwhile into the connection's buffer (for ws_recv later), so a
# large message can be echoed while it is still being sent. Returns 1 once
# it is all written, 0 on EOF, error or timeout.
sub ws_send_while_reading {
    my ($c, $op, $payload, %o) = @_;
    my $out = ws_frame($op, $payload, %o);
    my $sock = $c->{sock};
    my $sel = IO::Select->new($sock);
    my $deadline = time + ($o{timeout} || 60);
    my ($off, $ok) = (0, 1);
    $sock->blocking(0);
    while ($off < length $out) {
        if (time > $deadline) { $ok = 0; last }
        my $pending = $sock->can('pending') && $sock->pending;
        my ($r, $w) = $pending ? ([$sock], [])
                    : IO::Select->select($sel, $sel, undef, 0.5);
        if ($r && @$r) {
            my $n = $sock->sysread(my $chunk, 262144);
            if (defined $n && $n == 0) { $c->{eof} = 1; $ok = 0; last }
            if (defined $n) { $c->{buf} .= $chunk }
            elsif (!$!{EAGAIN} && !$!{EWOULDBLOCK}) { $ok = 0; last }
        }
        if ($w && @$w) {
            my $want = length($out) - $off;
            $want = 65536 if $want > 65536;
            my $n = $sock->syswrite($out, $want, $off);
            if (defined $n) { $off += $n }
            elsif (!$!{EAGAIN} && !$!{EWOULDBLOCK}) { $ok = 0; last }
        }
    }
    $sock->blocking(1);
    return $ok;
}

# Read one frame (control frames included). Returns a hashref
# { op, fin, rsv, masked, payload } or undef on timeout or EOF
# ($c->{eof} tells which).
sub ws_recv {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    for (;;) {
        my $b = $c->{buf};
        if (length($b) >= 2) {
            my ($b0, $b1) = unpack('CC', $b);
            my $len = $b1 & 0x7f;
            my $pos = 2;
            if ($len == 126) {
                goto MORE if length($b) < 4;
                $len = unpack('n', substr($b, 2, 2)); $pos = 4;
            }
            elsif ($len == 127) {
                goto MORE if length($b) < 10;
                $len = unpack('Q>', substr($b, 2, 8)); $pos = 10;
            }
            my $masked = $b1 & 0x80;
            my $key;
            if ($masked) {
                goto MORE if length($b) < $pos + 4;
                $key = substr($b, $pos, 4); $pos += 4;
            }
            if (length($b) >= $pos + $len) {
                my $payload = substr($b, $pos, $len);
                if ($masked) {
                    my $k = $key x (int($len / 4) + 1);
                    $payload ^= substr($k, 0, $len);
                }
                substr($c->{buf}, 0, $pos + $len) = '';
                return { op => $b0 & 0x0f, fin => ($b0 & 0x80) ? 1 : 0,
                         rsv => $b0 & 0x70, masked => $masked ? 1 : 0,
                         payload => $payload };
            }
        }
      MORE:
        return undef unless _fill($c, $deadline);
    }
}

# Read frames until a data message is complete (pings are answered unless
# no_pong); returns { op, payload } of the whole message or undef.
sub ws_recv_data {
    my ($c, $timeout, %o) = @_;
    my $deadline = time + ($timeout // 10);
    my ($op, $data);
    while (my $f = ws_recv($c, $deadline - time)) {
        if ($f->{op} == 9) {
            ws_send($c, 10, $f->{payload}) unless $o{no_pong};
            next;
        }
        next if $f->{op} == 10;
        return $f if $f->{op} == 8;
        $op //= $f->{op};
        $data .= $f->{payload};
        return { op => $op, payload => $data } if $f->{fin};
    }
    return undef;
}

# (code, reason) of a Close frame's payload; code 1005 when absent.
sub ws_close_payload {
    my ($f) = @_;
    return (1005, '') if length($f->{payload}) < 2;
    return (unpack('n', substr($f->{payload}, 0, 2)), substr($f->{payload}, 2));
}

# Read until the peer closes (bounded); returns what came.
sub read_until_eof {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (!$c->{eof}) {
        last unless _fill($c, $deadline);
    }
    my $all = $c->{buf};
    $c->{buf} = '';
    return $all;
}

# A plain HTTP/1.1 request with Connection: close on a raw socket, so we
# see exactly what httpd sends. Returns { status, headers, body, raw }.
sub http_request {
    my (%o) = @_;
    my $port = $o{port} || ($o{tls} ? tls_port() : gw_port());
    my $sock = $o{tls} ? _tls_socket('127.0.0.1', $port)
             : IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "connect: $!";
    binmode $sock;
    my @h = (['Host' => "127.0.0.1:$port"], ['Connection' => 'close'],
             @{ $o{headers} || [] });
    my $req = sprintf("%s %s %s\r\n", $o{method} || 'GET', $o{path},
                      $o{protocol} || 'HTTP/1.1')
            . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n";
    $sock->syswrite($req);
    my $c = { sock => $sock, buf => '' };
    my $raw = read_until_eof($c, $o{timeout} || 10);
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $head //= '';
    my ($status) = $head =~ m{^HTTP/\d\.\d (\d{3})};
    my %hdr;
    for my $line (split /\r\n/, $head) {
        next unless $line =~ /^([^:\s]+):\s*(.*)$/;
        $hdr{lc $1} = exists $hdr{lc $1} ? "$hdr{lc $1}, $2" : $2;
    }
    if (($hdr{'transfer-encoding'} // '') =~ /chunked/i && defined $body) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }
    return { status => $status // 0, headers => \%hdr, body => $body // '',
             raw => $raw };
}

# Error log as part of the assertions.
my $errlog_mark;
sub _errlog_file {
    require Apache::Test;
    return File::Spec->catfile(Apache::Test::vars('t_logs'), 'error_log');
}
sub errlog_start {
    $errlog_mark = -s _errlog_file() || 0;
}
sub errlog_lines {
    my $f = _errlog_file();
    open my $fh, '<', $f or return ();
    seek $fh, $errlog_mark // 0, 0;
    my @l = <$fh>;
    return @l;
}
# [error]/[warn]/[crit]/[emerg]/[alert] lines since errlog_start that carry
# none of the expected ids (e.g. 'WSGW00201', 'AH00959').
sub errlog_unexpected {
    my (@expected) = @_;
    return grep {
        my $l = $_;
        $l =~ /\[[\w:]*(error|warn|crit|alert|emerg)\]/
            && !grep { index($l, $_) >= 0 } @expected
    } errlog_lines();
}

sub access_log_lines {
    require Apache::Test;
    my $f = File::Spec->catfile(Apache::Test::vars('t_logs'), 'wsgw_access_log');
    open my $fh, '<', $f or return ();
    return <$fh>;
}

# Run t/clients/ws_client.py (Debian's python3-websockets) with @args; returns
# (exit code, output).
sub run_py_client {
    my (@args) = @_;
    my $cmd = join ' ', map { quotemeta } '/usr/bin/python3',
        top_dir() . '/t/clients/ws_client.py', @args;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

# Run `httpd -t` on a minimal configuration that loads the module from the
# build tree, with $body appended. Returns (exit status, output).
sub config_test {
    my ($body) = @_;
    require Apache::Test;
    my $libexec = Apache::Test::vars('src_dir');
    my $httpd = Apache::Test::vars('httpd');
    my $dir = File::Spec->catdir(top_dir(), 't', 'logs', 'conftest');
    mkdir $dir unless -d $dir;
    my $file = "$dir/httpd-$$.conf";
    my $port = free_port();
    open my $fh, '>', $file or die "$file: $!";
    print $fh <<"CONF";
ServerRoot $dir
ServerName localhost
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
LoadModule mpm_event_module $libexec/mod_mpm_event.so
LoadModule authz_core_module $libexec/mod_authz_core.so
LoadModule proxy_module $libexec/mod_proxy.so
LoadModule proxy_http_module $libexec/mod_proxy_http.so
LoadModule slotmem_shm_module $libexec/mod_slotmem_shm.so
LoadModule proxy_balancer_module $libexec/mod_proxy_balancer.so
LoadModule lbmethod_byrequests_module $libexec/mod_lbmethod_byrequests.so
LoadModule ws_gateway_module $ENV{WSGW_MODULE}
$body
CONF
    close $fh;
    my $out = `$httpd -t -f $file 2>&1`;
    my $rc = $? >> 8;
    unlink $file;
    return ($rc, $out);
}

# Total resident memory (KiB) of the test httpd's children.
sub httpd_children_rss {
    require Apache::Test;
    my $pidfile = File::Spec->catfile(Apache::Test::vars('t_logs'), 'httpd.pid');
    open my $fh, '<', $pidfile or return 0;
    my ($ppid) = <$fh> =~ /(\d+)/;
    my $total = 0;
    opendir my $d, '/proc' or return 0;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $st, '<', "/proc/$p/status" or next;
        my ($pp, $rss) = (0, 0);
        while (<$st>) {
            $pp = $1 if /^PPid:\s+(\d+)/;
            $rss = $1 if /^VmRSS:\s+(\d+)/;
        }
        $total += $rss if $pp == $ppid;
    }
    return $total;
}

# CPU time (clock ticks, user + system) used so far by the test httpd's
# children.
sub httpd_children_cpu {
    require Apache::Test;
    my $pidfile = File::Spec->catfile(Apache::Test::vars('t_logs'), 'httpd.pid');
    open my $fh, '<', $pidfile or return 0;
    my ($ppid) = <$fh> =~ /(\d+)/;
    my $total = 0;
    opendir my $d, '/proc' or return 0;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $st, '<', "/proc/$p/stat" or next;
        my $line = <$st> // next;
        # The command may hold spaces: fields count from after its ')'.
        my @f = split ' ', substr($line, rindex($line, ')') + 2);
        $total += $f[11] + $f[12] if $f[1] == $ppid;
    }
    return $total;
}

# Bytes waiting in the kernel's receive queue of our socket $sock.
sub tcp_rx_queue {
    my ($sock) = @_;
    my $port = sprintf('%04X', $sock->sockport);
    my $peer = sprintf('%04X', $sock->peerport);
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            my @f = split ' ';
            # This connection only: both ports, established (01). An
            # earlier connection from the same local port may linger in
            # TIME_WAIT with an empty queue.
            next unless @f > 4 && $f[1] =~ /:$port$/ && $f[2] =~ /:$peer$/
                && $f[3] eq '01';
            my (undef, $rx) = split /:/, $f[4];
            return hex $rx;
        }
    }
    return 0;
}

# Run @$cmd with a bounded wait: stdout and stderr are captured, %$env is
# added to the environment (undef values delete), and a command still
# running after $timeout seconds is killed by PID (TERM, then KILL).
# Returns (exit status or -1 on timeout, output).
sub run_bounded {
    my (%o) = @_;
    my $timeout = $o{timeout} || 60;
    my $logdir = File::Spec->catdir(top_dir(), 't', 'logs');
    mkdir $logdir unless -d $logdir;
    my $outfile = "$logdir/run-$$-" . int(rand(1e9)) . '.out';
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        while (my ($k, $v) = each %{ $o{env} || {} }) {
            if (defined $v) { $ENV{$k} = $v } else { delete $ENV{$k} }
        }
        chdir $o{dir} or POSIX::_exit(126) if $o{dir};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $outfile or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec @{ $o{cmd} } or POSIX::_exit(127);
    }
    my $rc;
    my $done = wait_until($timeout, sub {
        return 0 unless waitpid($pid, WNOHANG) == $pid;
        $rc = $? >> 8;
        return 1;
    });
    unless ($done) {
        stop_process($pid);
        $rc = -1;
    }
    my $out = '';
    if (open my $fh, '<', $outfile) {
        local $/;
        $out = <$fh> // '';
    }
    unlink $outfile;
    $out .= "\n[killed after $timeout s]\n" if $rc == -1;
    return ($rc, $out);
}

# Run make in the build tree (a clean make: not part of the jobserver of
# the make running the suite). Returns (exit status, output).
sub make_build {
    my (@args) = @_;
    return run_bounded(timeout => 600, dir => build_dir(),
                       env => { MAKEFLAGS => undef, MFLAGS => undef,
                                MAKELEVEL => undef, MAKEOVERRIDES => undef },
                       cmd => [$ENV{WSGW_MAKE} || 'make', '-s', @args]);
}

# Wait (bounded) until something accepts connections on 127.0.0.1:$port;
# false on timeout or, when $pid is given, as soon as that process exits.
sub wait_port {
    my ($port, $timeout, $pid) = @_;
    my $gone = 0;
    my $up = wait_until($timeout, sub {
        return 1 if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $port, Timeout => 1);
        $gone = 1 if $pid && waitpid($pid, WNOHANG) == $pid;
        return $gone;
    });
    return $up && !$gone;
}

# ---------------------------------------------------------------------
# TLS and HTTP/2 (t/4*_*.t)

sub tls_dir  { $ENV{WSGW_TLS_DIR} || top_dir() . '/t/logs/tls' }
sub tls_port { $ENV{WSGW_TLS_PORT} or die "WSGW_TLS_PORT is not set (t/TEST.PL sets it)\n" }

# A TLS client socket to 127.0.0.1:$port, HTTP/1.1 by ALPN, verifying the
# server's certificate (for 127.0.0.1) against the run's test CA.
sub _tls_socket {
    my ($host, $port) = @_;
    require IO::Socket::SSL;
    my $s = IO::Socket::SSL->new(
        PeerAddr => $host, PeerPort => $port, Timeout => 5,
        SSL_ca_file => tls_dir() . '/ca.pem',
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_verifycn_scheme => 'http', SSL_verifycn_name => $host,
        SSL_alpn_protocols => ['http/1.1'])
        or die "TLS connect to $host:$port: $! "
             . IO::Socket::SSL::errstr() . "\n";
    return $s;
}

# Make a test CA and certificates for this run in $dir (nothing is ever
# committed): ca.pem/ca.key (the trusted test CA), server.pem/.key (for
# localhost and 127.0.0.1, from the test CA; 127.0.0.1 also as a DNS name,
# because mod_ssl's SSLProxyCheckPeerName ignores IP address entries), wrongname.pem/.key (from the
# test CA, for other.invalid only) and untrusted.pem/.key (same names as
# server.pem, from a CA nobody trusts). EC P-256, valid two days.
sub tls_make_certs {
    my ($dir) = @_;
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    chmod 0755, $dir;
    my $log = "$dir/openssl.log";
    my $run = sub {
        my $cmd = join ' ', map { quotemeta } 'openssl', @_;
        system("$cmd >>$log 2>&1") == 0
            or die "'openssl @_' failed; see $log\n";
    };
    my @key = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
               '-nodes');
    for my $ca (['ca', 'mod_ws_gateway test CA'],
                ['otherca', 'mod_ws_gateway untrusted CA']) {
        $run->('req', '-x509', @key, '-keyout', "$dir/$ca->[0].key",
               '-out', "$dir/$ca->[0].pem", '-days', 2, '-subj', "/CN=$ca->[1]",
               '-addext', 'basicConstraints=critical,CA:TRUE',
               '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    }
    for my $leaf (['server', 'ca', 'DNS:localhost,IP:127.0.0.1,DNS:127.0.0.1'],
                  ['wrongname', 'ca', 'DNS:other.invalid'],
                  ['untrusted', 'otherca', 'DNS:localhost,IP:127.0.0.1,DNS:127.0.0.1']) {
        my ($name, $ca, $san) = @$leaf;
        open my $fh, '>', "$dir/$name.ext" or die "$dir/$name.ext: $!";
        print $fh "subjectAltName=$san\nbasicConstraints=CA:FALSE\n"
                . "keyUsage=critical,digitalSignature\n"
                . "extendedKeyUsage=serverAuth\n";
        close $fh;
        $run->('req', '-new', @key, '-keyout', "$dir/$name.key",
               '-out', "$dir/$name.csr", '-subj', "/CN=$name");
        $run->('x509', '-req', '-in', "$dir/$name.csr", '-CA', "$dir/$ca.pem",
               '-CAkey', "$dir/$ca.key", '-CAcreateserial', '-days', 2,
               '-extfile', "$dir/$name.ext", '-out', "$dir/$name.pem");
    }
    chmod 0644, glob("$dir/*.pem");
    return { dir => $dir, map { ("${_}_cert" => "$dir/$_.pem",
                                 "${_}_key" => "$dir/$_.key") }
                           qw(ca server wrongname untrusted) };
}

# base64 SHA-256 of a certificate's public key (Chromium's
# --ignore-certificate-errors-spki-list wants it).
sub tls_spki_sha256 {
    my ($pem) = @_;
    my $q = quotemeta $pem;
    my $h = `openssl x509 -pubkey -noout -in $q | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A`;
    chomp $h;
    return $h;
}

# Run t/clients/h2_ws_client.py (Debian's python3-h2) with @args; returns
# (exit code, output). It trusts the run's test CA.
sub run_h2_client {
    my (@args) = @_;
    my $cmd = join ' ', map { quotemeta } '/usr/bin/python3',
        top_dir() . '/t/clients/h2_ws_client.py', '--ca', tls_dir() . '/ca.pem',
        @args;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub tls_access_log_lines {
    require Apache::Test;
    my $f = File::Spec->catfile(Apache::Test::vars('t_logs'), 'tls_access_log');
    open my $fh, '<', $f or return ();
    return <$fh>;
}

# A minimal httpd configuration in $file: server root and logs in $dir,
# Listen 127.0.0.1:$port, the event MPM (or the mpm_* among @modules),
# mod_proxy(_http), @modules, the module under test, then $body.
sub _write_conf {
    my ($file, $dir, $port, $body, @modules) = @_;
    my $libexec = Apache::Test::vars('src_dir');
    my @mpm = grep { /^mpm_/ } @modules;
    @mpm = ('mpm_event') unless @mpm;
    my $modules = join '', map { "LoadModule ${_}_module $libexec/mod_$_.so\n" }
        @mpm, qw(authz_core proxy proxy_http), grep { !/^mpm_/ } @modules;
    my $user = $> == 0 ? "User nobody\nGroup nogroup" : '';
    open my $fh, '>', $file or die "$file: $!";
    print $fh <<"CONF";
ServerRoot $dir
ServerName localhost
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
LogLevel info
$user
$modules
LoadModule ws_gateway_module $ENV{WSGW_MODULE}
$body
CONF
    close $fh;
}

# Start a second httpd (foreground, one process) on a minimal configuration
# that loads the module from the build tree, with $body appended, as
# config_test does; unlike `httpd -t` this runs the post_config checks.
# Returns (exit status, or 'running' if it came up, error log + output); a
# server that came up is stopped by its PID.
sub config_start {
    my ($body, %o) = @_;
    require Apache::Test;
    my $httpd = Apache::Test::vars('httpd');
    my $dir = File::Spec->catdir(top_dir(), 't', 'logs', "confstart-$$");
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    my $file = "$dir/httpd.conf";
    _write_conf($file, $dir, free_port(), $body, @{ $o{modules} || [] });
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDOUT, '>', "$dir/output";
        open STDERR, '>&', \*STDOUT;
        exec $httpd, '-X', '-f', $file or POSIX::_exit(127);
    }
    my $status;
    my $ended = wait_until(15, sub {
        my $w = waitpid($pid, WNOHANG);
        $status = $? >> 8 if $w == $pid;
        return $w == $pid || -s "$dir/httpd.pid";
    });
    if (!defined $status) {
        $status = 'running';
        stop_process($pid);
    }
    elsif (!$ended) {
        stop_process($pid);
    }
    my $out = '';
    for my $f ("$dir/error_log", "$dir/output") {
        open my $in, '<', $f or next;
        local $/;
        $out .= <$in> // '';
    }
    File::Path::remove_tree($dir);
    return ($status, $out);
}

# ---------------------------------------------------------------------
# A separate httpd (own configuration, MPM settings and logs) for tests that
# need other process limits than the suite's server: started in the
# foreground with the open file limit raised to the hard limit, stopped by
# PID. $o{body}: configuration appended; $o{modules}: extra modules;
# $o{mpm}: event (default), worker or prefork.
# Returns { pid, port, dir, conf, errlog } once it accepts connections.

sub instance_start {
    my (%o) = @_;
    require Apache::Test;
    my $httpd = Apache::Test::vars('httpd');
    my $name = $o{name} || 'instance';
    my $dir = File::Spec->rel2abs(File::Spec->catdir(top_dir(), 't', 'logs',
                                                     "$name-$$"));
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    chmod 0755, $dir;
    my $port = free_port();
    my $conf = "$dir/httpd.conf";
    _write_conf($conf, $dir, $port, "DefaultRuntimeDir $dir\n$o{body}",
                'slotmem_shm', @{ $o{modules} || [] },
                $o{mpm} ? "mpm_$o{mpm}" : ());
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        # Its own process group: a stopping prefork parent signals its
        # whole group (that would be this test and the harness).
        setpgrp(0, 0);
        open STDOUT, '>', "$dir/output";
        open STDERR, '>&', \*STDOUT;
        exec '/bin/sh', '-c', 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"',
            $httpd, '-D', 'FOREGROUND', '-f', $conf
            or POSIX::_exit(127);
    }
    my $inst = { pid => $pid, port => $port, dir => $dir, conf => $conf,
                 errlog => "$dir/error_log", httpd => $httpd };
    unless (wait_port($port, 20, $pid)) {
        instance_stop($inst);
        die "httpd instance $name did not start; see $dir/error_log, "
          . "$dir/output\n";
    }
    return $inst;
}

# Child processes of the instance's parent: pid => { threads, rss (KiB) }.
sub instance_children {
    my ($inst) = @_;
    my %kids;
    opendir my $d, '/proc' or return {};
    for my $p (grep { /^\d+$/ } readdir $d) {
        my $st = proc_status($p);
        next unless $st && ($st->{PPid} // 0) == $inst->{pid};
        $kids{$p} = { threads => $st->{Threads}, rss => $st->{VmRSS} };
    }
    return \%kids;
}

# Fields of /proc/PID/status (numbers without their unit), or undef.
sub proc_status {
    my ($pid) = @_;
    open my $st, '<', "/proc/$pid/status" or return undef;
    my %f;
    while (<$st>) {
        $f{$1} = $2 if /^(\w+):\s+(\S+)/;
    }
    return \%f;
}

# Stop the instance by PID (TERM, bounded wait, KILL) and make sure no
# child of it is left.
sub instance_stop {
    my ($inst) = @_;
    my @kids = keys %{ instance_children($inst) };
    stop_process($inst->{pid});
    wait_until(10, sub { !grep { kill 0, $_ } @kids });
    kill 'KILL', grep { kill 0, $_ } @kids;
}

1;
