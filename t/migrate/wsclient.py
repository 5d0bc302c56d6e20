#!/usr/bin/env python3
"""Client side of the ws-gateway-migrate live test (Python stdlib only).

  wsclient.py get PORT PATH EXPECT      plain GET; the body must contain EXPECT
  wsclient.py echo PORT PATH MESSAGE    WebSocket handshake, send MESSAGE,
                                        the echo must come back unchanged
  wsclient.py port                      print a free TCP port on 127.0.0.1
  wsclient.py wait PORT SECONDS         wait until something listens on PORT

Exit status 0 on success, 1 on failure (with the reason on stderr). Every
wait is bounded.
"""
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TIMEOUT = 10


def fail(msg):
    sys.stderr.write("wsclient: %s\n" % msg)
    sys.exit(1)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def read_head(s):
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = s.recv(4096)
        if not chunk:
            fail("connection closed before the response head: %r" % raw)
        raw += chunk
    head, rest = raw.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def do_get(port, path, expect):
    s = connect(port)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n" % path).encode())
    head, body = read_head(s)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    status = head.split("\r\n")[0]
    if " 200 " not in status + " ":
        fail("GET %s: %s" % (path, status))
    if expect.encode() not in body:
        fail("GET %s: body %r lacks %r" % (path, body, expect))
    print("GET %s: %s, %s" % (path, status, body.decode().strip()))


def read_exact(s, n, buf):
    while len(buf) < n:
        chunk = s.recv(4096)
        if not chunk:
            fail("connection closed inside a frame")
        buf += chunk
    return buf[:n], buf[n:]


def do_echo(port, path, message):
    key = base64.b64encode(os.urandom(16)).decode()
    s = connect(port)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head, rest = read_head(s)
    status = head.split("\r\n")[0]
    if " 101 " not in status:
        fail("handshake %s: %s" % (path, head))
    want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
    if ("sec-websocket-accept: " + want.decode()).lower() not in head.lower():
        fail("handshake %s: wrong or missing Sec-WebSocket-Accept" % path)
    data = message.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    s.sendall(bytes([0x81, 0x80 | len(data)]) + mask + masked)
    hdr, rest = read_exact(s, 2, rest)
    n = hdr[1] & 0x7F
    payload, rest = read_exact(s, n, rest)
    if hdr[0] & 0x0F != 1 or payload != data:
        fail("echo %s: got opcode %d %r" % (path, hdr[0] & 0x0F, payload))
    close = struct.pack("!H", 1000)
    mask = os.urandom(4)
    s.sendall(bytes([0x88, 0x80 | 2]) + mask
              + bytes(b ^ mask[i % 4] for i, b in enumerate(close)))
    print("WebSocket %s: 101, echo %r" % (path, payload.decode()))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def wait_port(port, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    fail("nothing listens on %d after %s s" % (port, seconds))


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd = sys.argv[1]
    if cmd == "get":
        do_get(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif cmd == "echo":
        do_echo(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif cmd == "port":
        free_port()
    elif cmd == "wait":
        wait_port(int(sys.argv[2]), float(sys.argv[3]))
    else:
        fail("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
