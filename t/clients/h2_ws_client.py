#!/usr/bin/python3
"""WebSockets over HTTP/2 (RFC 8441 extended CONNECT) for the tests, on
Debian's python3-h2: one TLS connection (ALPN h2, verified against --ca),
any number of WebSocket streams on it at once. Each scenario prints result
lines and exits 0 on success, 1 on failure; every wait is bounded.

  h2_ws_client.py [--ca PEM] echo URL STREAMS MSGS
      STREAMS WebSockets on one connection, opened at once, each exchanging
      MSGS text and binary messages interleaved with the others, then a
      close handshake; the server must end every stream (END_STREAM)
  h2_ws_client.py [--ca PEM] first URL
      print the first message the backend sends (e.g. .../headers)
  h2_ws_client.py [--ca PEM] big URL MIB
      one MIB MiB binary message, echo checked by SHA-256
  h2_ws_client.py [--ca PEM] status URL
      print the :status of the extended CONNECT only
  h2_ws_client.py [--ca PEM] idle URL SECONDS
      stay silent SECONDS, then one echo
  h2_ws_client.py [--ca PEM] serverclose URL
      the backend closes first (.../close-after?n=1): the stream must end
  h2_ws_client.py [--ca PEM] limit URL STREAMS OPEN
      open STREAMS WebSockets at once; exactly OPEN must be served (mod_http2
      runs only so many streams of a fresh connection at a time), the rest
      once two of those have been closed; then all echo and close
"""
import hashlib
import os
import select
import socket
import ssl
import struct
import sys
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
import h2.settings

TIMEOUT = 60


class Fail(Exception):
    pass


def ws_frame(opcode, payload, fin=True):
    """A masked client frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    body = bytearray(payload)
    for i in range(len(body)):
        body[i] ^= key[i & 3]
    return head + key + bytes(body)


def ws_frame_fast(opcode, payload):
    """A masked frame of a large payload (mask with a zero key: legal)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + b"\0\0\0\0" + payload


class Stream:
    def __init__(self, sid):
        self.sid = sid
        self.status = None
        self.headers = {}
        self.rx = bytearray()
        self.tx = bytearray()
        self.ended = False          # server sent END_STREAM
        self.reset = None
        self.local_ended = False
        self.end_after_tx = False
        self.messages = []          # (opcode, payload) of complete messages
        self.frag_op = None
        self.frag = bytearray()
        self.closes = []            # close codes received

    def parse(self):
        """Turn received bytes into messages."""
        buf = self.rx
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            if b1 & 0x80:
                raise Fail("stream %d: masked frame from the server" % self.sid)
            n = b1 & 0x7F
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = struct.unpack("!H", buf[2:4])[0]
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = struct.unpack("!Q", buf[2:10])[0]
                pos = 10
            if len(buf) < pos + n:
                return
            op, fin = b0 & 0x0F, b0 & 0x80
            payload = bytes(buf[pos:pos + n])
            del buf[:pos + n]
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.closes.append(code)
            elif op in (9, 10):
                if op == 9:
                    self.tx += ws_frame(10, payload)
            else:
                if op != 0:
                    self.frag_op = op
                self.frag += payload
                if fin:
                    self.messages.append((self.frag_op, bytes(self.frag)))
                    self.frag = bytearray()


class Client:
    def __init__(self, url, ca):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 443
        self.authority = "%s:%d" % (self.host, self.port)
        self.path = u.path + ("?" + u.query if u.query else "")
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection((self.host, self.port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname=self.host)
        if self.sock.selected_alpn_protocol() != "h2":
            raise Fail("ALPN chose %r, not h2" % self.sock.selected_alpn_protocol())
        self.sock.setblocking(False)
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True,
                                             header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.conn.update_settings({
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 4 * 1024 * 1024})
        self.conn.increment_flow_control_window(64 * 1024 * 1024)
        self.streams = {}
        self.connect_protocol = None
        self.terminated = None
        self.out = b""
        self.queue(b"")

    def queue(self, _):
        self.out += self.conn.data_to_send()

    def wait_settings(self, deadline):
        while self.connect_protocol is None:
            self.pump(deadline)

    def open(self, path=None):
        if self.connect_protocol != 1:
            raise Fail("server did not offer SETTINGS_ENABLE_CONNECT_PROTOCOL "
                       "(got %r)" % self.connect_protocol)
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [
            (":method", "CONNECT"), (":protocol", "websocket"),
            (":scheme", "https"), (":path", path or self.path),
            (":authority", self.authority),
            ("sec-websocket-version", "13"),
            ("origin", "https://" + self.authority)])
        self.streams[sid] = Stream(sid)
        self.queue(None)
        return self.streams[sid]

    def send_tx(self):
        for s in self.streams.values():
            while s.tx and not s.local_ended and s.reset is None:
                n = min(len(s.tx), self.conn.local_flow_control_window(s.sid),
                        self.conn.max_outbound_frame_size)
                if n <= 0:
                    break
                self.conn.send_data(s.sid, bytes(s.tx[:n]))
                del s.tx[:n]
            if not s.tx and s.end_after_tx and not s.local_ended and s.reset is None:
                self.conn.end_stream(s.sid)
                s.local_ended = True
        self.queue(None)

    def pump(self, deadline):
        """One round of I/O; raises Fail on timeout."""
        now = time.time()
        if now > deadline:
            raise Fail("timeout")
        self.send_tx()
        want_w = [self.sock] if self.out else []
        if self.sock.pending():
            r = [self.sock]
        else:
            r, _, _ = select.select([self.sock], want_w, [], min(0.5, deadline - now))
        if self.out:
            try:
                n = self.sock.send(self.out[:256 * 1024])
                self.out = self.out[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
        if not r:
            return
        try:
            data = self.sock.recv(256 * 1024)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        if not data:
            raise Fail("connection closed by the server")
        for ev in self.conn.receive_data(data):
            self.event(ev)
        self.queue(None)

    def event(self, ev):
        if isinstance(ev, h2.events.RemoteSettingsChanged):
            cp = ev.changed_settings.get(
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
            if cp is not None:
                self.connect_protocol = cp.new_value
            elif self.connect_protocol is None:
                self.connect_protocol = 0
        elif isinstance(ev, h2.events.ResponseReceived):
            s = self.streams[ev.stream_id]
            s.headers = dict(ev.headers)
            s.status = int(s.headers.get(":status", "0"))
        elif isinstance(ev, h2.events.DataReceived):
            s = self.streams[ev.stream_id]
            s.rx += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                ev.stream_id)
            s.parse()
        elif isinstance(ev, h2.events.StreamEnded):
            self.streams[ev.stream_id].ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if ev.stream_id in self.streams:
                self.streams[ev.stream_id].reset = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.terminated = ev.error_code

    def until(self, cond, deadline, what):
        while not cond():
            if self.terminated is not None:
                raise Fail("GOAWAY (%s) while waiting for %s" % (self.terminated, what))
            try:
                self.pump(deadline)
            except Fail as e:
                raise Fail("%s while waiting for %s" % (e, what))

    def close(self):
        try:
            self.conn.close_connection()
            self.queue(None)
            self.sock.setblocking(True)
            self.sock.settimeout(2)
            self.sock.sendall(self.out)
            self.sock.close()
        except OSError:
            pass


def opened(c, streams, deadline):
    c.until(lambda: all(s.status is not None or s.reset is not None
                        for s in streams), deadline, "the responses")
    bad = [(s.sid, s.status, s.reset) for s in streams if s.status != 200]
    if bad:
        raise Fail("streams not opened (id, status, reset): %r" % bad[:5])


def close_all(c, streams, deadline):
    """Close handshake on every stream, then END_STREAM both ways."""
    for s in streams:
        s.tx += ws_frame(8, struct.pack("!H", 1000) + b"bye")
    c.until(lambda: all(s.closes for s in streams), deadline, "Close frames")
    for s in streams:
        s.end_after_tx = True
    c.until(lambda: all(s.ended or s.reset is not None for s in streams),
            deadline, "the server to end the streams")
    # mod_http2 may follow END_STREAM with RST_STREAM(NO_ERROR) when our
    # END_STREAM reaches it after the request finished (RFC 9113 §8.1
    # allows it); a reset without END_STREAM, or with an error, fails.
    resets = [(s.sid, s.reset) for s in streams
              if s.reset is not None and not (s.ended and s.reset == 0)]
    if resets:
        raise Fail("streams reset instead of ended (id, code): %r" % resets[:5])
    return [s.closes[0] for s in streams]


def scenario_echo(c, deadline, nstreams, nmsgs):
    c.wait_settings(deadline)
    streams = [c.open() for _ in range(nstreams)]
    opened(c, streams, deadline)
    expect = {s.sid: [] for s in streams}
    for i in range(nmsgs):
        for s in streams:
            text = "s%d-m%d-%s" % (s.sid, i, os.urandom(4).hex())
            binary = os.urandom(1 + (i * 997 + s.sid) % 3000)
            s.tx += ws_frame(1, text.encode()) + ws_frame(2, binary)
            expect[s.sid] += [(1, text.encode()), (2, binary)]
    c.until(lambda: all(len(s.messages) >= len(expect[s.sid]) for s in streams),
            deadline, "the echoes")
    for s in streams:
        if s.messages[:len(expect[s.sid])] != expect[s.sid]:
            raise Fail("stream %d: echoes differ or are out of order" % s.sid)
    codes = close_all(c, streams, deadline)
    print("settings enable_connect_protocol=%d" % c.connect_protocol)
    print("streams=%d messages=%d each, all status 200, all echoed in order"
          % (nstreams, 2 * nmsgs))
    print("close codes: %s; every stream ended by the server"
          % ",".join(sorted(set(str(x) for x in codes))))


def scenario_first(c, deadline):
    c.wait_settings(deadline)
    s = c.open()
    opened(c, [s], deadline)
    c.until(lambda: s.messages, deadline, "the first message")
    print(s.messages[0][1].decode("utf-8", "replace"))
    close_all(c, [s], deadline)


def scenario_big(c, deadline, mib):
    c.wait_settings(deadline)
    s = c.open()
    opened(c, [s], deadline)
    data = os.urandom(mib * 1024 * 1024)
    s.tx += ws_frame_fast(2, data)
    c.until(lambda: s.messages, deadline, "the echo")
    got = s.messages[0][1]
    if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
        raise Fail("digest mismatch (%d bytes back)" % len(got))
    print("sha256 %s" % hashlib.sha256(got).hexdigest())
    close_all(c, [s], deadline)


def scenario_status(c, deadline):
    c.wait_settings(deadline)
    s = c.open()
    c.until(lambda: s.status is not None or s.reset is not None, deadline,
            "the response")
    print("status %s" % (s.status if s.status is not None else "reset %s" % s.reset))


def scenario_idle(c, deadline, seconds):
    c.wait_settings(deadline)
    s = c.open()
    opened(c, [s], deadline)
    quiet_until = time.time() + seconds
    while time.time() < quiet_until:
        c.pump(deadline)
        if s.ended or s.reset is not None or s.closes:
            raise Fail("the idle stream was ended after %.1f s"
                       % (seconds - (quiet_until - time.time())))
    s.tx += ws_frame(1, b"after the silence")
    c.until(lambda: s.messages, deadline, "the echo after the silence")
    print("silent %d s, then: %s" % (seconds, s.messages[0][1].decode()))
    close_all(c, [s], deadline)


def scenario_serverclose(c, deadline):
    c.wait_settings(deadline)
    s = c.open()
    opened(c, [s], deadline)
    s.tx += ws_frame(1, b"one")
    c.until(lambda: s.closes, deadline, "the backend's Close")
    s.tx += ws_frame(8, struct.pack("!H", 1000))
    # Without ending our side: the server must end the stream by itself
    # once the backend is gone (as a TCP server closes the connection).
    c.until(lambda: s.ended or s.reset is not None, deadline,
            "the server to end the stream after the backend closed")
    print("backend closed with %d; stream %s" %
          (s.closes[0], "ended" if s.ended else "reset %s" % s.reset))


def scenario_limit(c, deadline, nstreams, nopen):
    c.wait_settings(deadline)
    streams = [c.open() for _ in range(nstreams)]
    served = lambda: [s for s in streams if s.status is not None or s.reset is not None]
    c.until(lambda: len(served()) >= nopen, deadline, "%d responses" % nopen)
    settle = time.time() + 2
    while time.time() < settle:
        c.pump(deadline)
    first = served()
    if len(first) != nopen or any(s.status != 200 for s in first):
        raise Fail("%d streams served at first (statuses %r), expected %d"
                   % (len(first), [s.status for s in first], nopen))
    waiting = [s for s in streams if s not in first]
    print("served at once: %d of %d" % (len(first), nstreams))
    # Close two of the served ones: the waiting ones must then be served.
    close_all(c, first[:2], deadline)
    c.until(lambda: all(s.status is not None or s.reset is not None
                        for s in waiting[:2]), deadline,
            "the waiting streams after two closed")
    rest = first[2:] + waiting
    opened(c, rest, deadline)
    for s in rest:
        s.tx += ws_frame(1, b"late-%d" % s.sid)
    c.until(lambda: all(s.messages for s in rest), deadline, "the echoes")
    if any(s.messages[0][1] != b"late-%d" % s.sid for s in rest):
        raise Fail("echo mismatch")
    close_all(c, rest, deadline)
    print("the waiting streams were served once two closed; all echoed")


def main():
    args = sys.argv[1:]
    ca = None
    if args[:1] == ["--ca"]:
        ca, args = args[1], args[2:]
    cmd, url, rest = args[0], args[1], [int(a) for a in args[2:]]
    fn = {"echo": scenario_echo, "first": scenario_first, "big": scenario_big,
          "status": scenario_status, "idle": scenario_idle,
          "serverclose": scenario_serverclose, "limit": scenario_limit}[cmd]
    deadline = time.time() + TIMEOUT + (rest[0] if cmd == "idle" else 0)
    c = None
    try:
        c = Client(url, ca)
        fn(c, deadline, *rest)
        err = None
    except Fail as e:
        err = str(e)
    except Exception as e:  # noqa: BLE001 - report any failure as a result
        err = "%s: %s" % (type(e).__name__, e)
    if c is not None:
        c.close()
    print("FAIL %s" % err if err else "OK")
    sys.exit(1 if err else 0)


if __name__ == "__main__":
    main()
