#!/usr/bin/python3
"""WebSocket client scenarios for the tests, on Debian's python3-websockets
(an implementation independent of ours). Each prints one result line and
exits 0 on success, 1 on failure. Every wait is bounded.

  ws_client.py echo URL [N]             N text+binary echoes
  ws_client.py concurrent URL CONNS MSGS  CONNS tunnels at once, MSGS echoes each
  ws_client.py big URL MIB              one MIB-sized binary message, SHA-256 checked
  ws_client.py interleave URL N         N x (48 KiB + small) messages, order checked
  ws_client.py deflate URL              permessage-deflate negotiated end to end
  ws_client.py failover URL CONNS MSGS  CONNS tunnels opened one after the
      other; each reads the backend's name (URL ends in /name), then echoes
      MSGS messages 100 ms apart; prints per-backend counts of tunnels that
      completed or were cut, and handshake failures
  ws_client.py hold URL CONNS SECONDS   open CONNS tunnels (one echo each),
      write "open CONNS" to the file named by $WSGW_READY_FILE, then wait
      up to SECONDS for the server to close every one; prints the close
      codes it got ("closed 1001=CONNS")
"""
import asyncio
import hashlib
import os
import resource
import sys

import websockets

TIMEOUT = 60


async def echo(url, n):
    async with websockets.connect(url, max_size=None, open_timeout=10) as ws:
        for i in range(n):
            for msg in ("text-%d" % i, os.urandom(100 + i)):
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), TIMEOUT)
                if got != msg:
                    return "mismatch at %d" % i
    return None


async def one_tunnel(url, msgs, sem_open):
    async with websockets.connect(url, open_timeout=30, close_timeout=10) as ws:
        await sem_open()
        for i in range(msgs):
            msg = "m%d-%s" % (i, os.urandom(8).hex())
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if got != msg:
                raise RuntimeError("echo mismatch")


async def concurrent(url, conns, msgs):
    opened = 0
    all_open = asyncio.Event()

    async def mark_open():
        nonlocal opened
        opened += 1
        if opened == conns:
            all_open.set()
        # every tunnel exchanges its messages while all are open at once
        await asyncio.wait_for(all_open.wait(), TIMEOUT)

    results = await asyncio.gather(*(one_tunnel(url, msgs, mark_open)
                                     for _ in range(conns)),
                                   return_exceptions=True)
    failed = [r for r in results if r is not None]
    if failed:
        return "%d of %d tunnels failed, first: %r" % (len(failed), conns, failed[0])
    print("open at once: %d" % opened)
    return None


async def big(url, mib):
    data = os.urandom(mib * 1024 * 1024)
    async with websockets.connect(url, max_size=None, open_timeout=10,
                                  compression=None) as ws:
        await ws.send(data)
        got = await asyncio.wait_for(ws.recv(), TIMEOUT)
    if hashlib.sha256(got).hexdigest() != hashlib.sha256(data).hexdigest():
        return "digest mismatch (%d bytes back)" % len(got)
    print("sha256 %s" % hashlib.sha256(got).hexdigest())
    return None


async def interleave(url, n):
    msgs = []
    for i in range(n):
        msgs.append(("%d-" % i).encode() + os.urandom(48 * 1024))
        msgs.append("small-%d" % i)
    async with websockets.connect(url, max_size=None, open_timeout=10,
                                  compression=None) as ws:
        for m in msgs:
            await ws.send(m)
        for i, m in enumerate(msgs):
            got = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if got != m:
                return "message %d out of order or corrupt" % i
    return None


async def deflate(url):
    async with websockets.connect(url, open_timeout=10) as ws:
        names = [e.name for e in ws.extensions]
        if "permessage-deflate" not in names:
            return "permessage-deflate not negotiated: %r" % names
        msg = "compressible " * 5000
        await ws.send(msg)
        got = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if got != msg:
            return "deflated echo mismatch"
    print("negotiated %s" % ",".join(names))
    return None


async def failover_one(url, msgs, stats):
    try:
        ws = await websockets.connect(url, open_timeout=20, close_timeout=5)
    except Exception as e:  # noqa: BLE001 - every failure counts
        stats["handshake_failed"] += 1
        stats.setdefault("first_error", repr(e))
        return
    name = "?"
    try:
        name = await asyncio.wait_for(ws.recv(), 10)
        for i in range(msgs):
            await ws.send("m%d" % i)
            if await asyncio.wait_for(ws.recv(), 10) != "m%d" % i:
                raise RuntimeError("echo mismatch")
            await asyncio.sleep(0.1)
        await ws.close()
        stats["ok:" + name] = stats.get("ok:" + name, 0) + 1
    except Exception:  # noqa: BLE001 - a cut tunnel is counted, not fatal
        stats["cut:" + name] = stats.get("cut:" + name, 0) + 1


async def failover(url, conns, msgs):
    stats = {"handshake_failed": 0}
    tasks = []
    for _ in range(conns):
        tasks.append(asyncio.create_task(failover_one(url, msgs, stats)))
        await asyncio.sleep(0.02)
    await asyncio.gather(*tasks)
    print(" ".join("%s=%s" % kv for kv in sorted(stats.items())))
    return None


async def hold(url, conns, seconds):
    sem = asyncio.Semaphore(200)

    async def open_one(i):
        async with sem:
            ws = await websockets.connect(url, open_timeout=30,
                                          close_timeout=5, ping_interval=None)
            msg = "hold-%d" % i
            await ws.send(msg)
            if await asyncio.wait_for(ws.recv(), TIMEOUT) != msg:
                raise RuntimeError("echo mismatch")
            return ws

    socks = await asyncio.gather(*(open_one(i) for i in range(conns)))
    with open(os.environ["WSGW_READY_FILE"], "w") as f:
        f.write("open %d\n" % len(socks))
    done, pending = await asyncio.wait(
        [asyncio.ensure_future(ws.wait_closed()) for ws in socks],
        timeout=seconds)
    codes = {}
    for ws in socks:
        key = str(ws.close_code) if ws.close_code is not None else "open"
        codes[key] = codes.get(key, 0) + 1
    for ws in socks:
        ws.transport.abort()
    print("closed " + " ".join("%s=%d" % kv for kv in sorted(codes.items())))
    if pending:
        return "%d of %d tunnels still open after %d s" % (len(pending),
                                                           conns, seconds)
    return None


def main():
    # Thousands of tunnels need as many descriptors as the hard limit allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cmd, url = sys.argv[1], sys.argv[2]
    args = [int(a) for a in sys.argv[3:]]
    fn = {"echo": echo, "concurrent": concurrent, "big": big,
          "interleave": interleave, "deflate": deflate,
          "failover": failover, "hold": hold}[cmd]
    if cmd == "echo" and not args:
        args = [5]
    try:
        err = asyncio.run(asyncio.wait_for(fn(url, *args), 300))
    except Exception as e:  # noqa: BLE001 - report any failure as a result
        err = "%s: %s" % (type(e).__name__, e)
    print("FAIL %s" % err if err else "OK")
    sys.exit(1 if err else 0)


if __name__ == "__main__":
    main()
