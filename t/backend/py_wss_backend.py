#!/usr/bin/python3
"""TLS WebSocket backend for the tests: Debian's python3-websockets behind
Python's ssl module (an implementation independent of ours).

Serves wss on 127.0.0.1 (a free port unless --port is given) with
--tls-cert/--tls-key, writes the port to --port-file once listening, and
stops on SIGTERM, or when the process that started it is gone (so a test
run that dies takes it along). Paths:
  .../sni      first message: "sni=NAME" (the TLS server name the client
               sent, "sni=" when none), then echo
  .../headers  first message: the request headers as "Name: value" lines
  .../name     first message: the --name
  anything else: echo every message (text stays text, binary stays binary)
"""
import argparse
import asyncio
import os
import signal
import ssl

import websockets

# SNI seen per TLS connection (keyed by the SSLObject), for /sni.
SNI = {}


def remember_sni(sslobj, server_name, _ctx):
    SNI[id(sslobj)] = server_name or ""


async def handler(ws, path):
    sslobj = ws.transport.get_extra_info("ssl_object")
    sni = SNI.pop(id(sslobj), "") if sslobj is not None else ""
    if path.endswith("/sni"):
        await ws.send("sni=%s" % sni)
    elif path.endswith("/headers"):
        await ws.send("\n".join("%s: %s" % kv for kv in ws.request_headers.raw_items()))
    elif path.endswith("/name"):
        await ws.send(ARGS.name)
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
    ctx.sni_callback = remember_sni
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(handler, ARGS.host, ARGS.port, ssl=ctx,
                                max_size=64 * 1024 * 1024, max_queue=64) as srv:
        port = srv.sockets[0].getsockname()[1]
        if ARGS.port_file:
            tmp = ARGS.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.rename(tmp, ARGS.port_file)
        print("ready %d" % port, flush=True)
        parent = os.getppid()
        while not stop.done():
            if os.getppid() != parent:
                break
            await asyncio.wait([stop], timeout=1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--name", default="pywss")
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ARGS = ap.parse_args()
    asyncio.run(main())
