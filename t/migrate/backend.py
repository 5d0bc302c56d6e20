#!/usr/bin/env python3
"""Test backend for the ws-gateway-migrate live test (Python stdlib only).

Listens on 127.0.0.1:PORT and answers
  - a WebSocket handshake (RFC 6455) by echoing every text/binary message,
    prefixed by nothing, answering pings and closing when asked;
  - any other request with "200 OK" and the body
    "backend saw METHOD PATH\\n".

Usage: backend.py PORT [PIDFILE]. It writes its PID to PIDFILE once it
listens, so the caller can wait for that and stop it by PID.
"""
import base64
import hashlib
import os
import socket
import socketserver
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_frame(sock):
    head = read_exact(sock, 2)
    opcode = head[0] & 0x0F
    masked = head[1] & 0x80
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(sock, 8))[0]
    mask = read_exact(sock, 4) if masked else b"\0\0\0\0"
    data = bytearray(read_exact(sock, length))
    for i in range(length):
        data[i] ^= mask[i % 4]
    return opcode, bytes(data)


def send_frame(sock, opcode, data):
    head = bytes([0x80 | opcode])
    n = len(data)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    sock.sendall(head + data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(30)
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = sock.recv(4096)
            if not chunk:
                return
            raw += chunk
            if len(raw) > 65536:
                return
        head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        method, path = lines[0].split(" ")[0:2]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        upgrade = headers.get("upgrade", "").lower()
        key = headers.get("sec-websocket-key")
        if "websocket" in upgrade and key:
            accept = base64.b64encode(
                hashlib.sha1(key.encode() + GUID).digest()).decode()
            sock.sendall(("HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n" % accept)
                         .encode())
            try:
                while True:
                    opcode, data = read_frame(sock)
                    if opcode == 8:
                        send_frame(sock, 8, data[:2])
                        return
                    if opcode == 9:
                        send_frame(sock, 10, data)
                    elif opcode in (1, 2):
                        send_frame(sock, opcode, data)
            except (EOFError, OSError):
                return
        body = ("backend saw %s %s\n" % (method, path)).encode()
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Connection: close\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), Handler)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write("%d\n" % os.getpid())
    server.serve_forever()


if __name__ == "__main__":
    main()
