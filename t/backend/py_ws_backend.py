#!/usr/bin/python3
"""Independent WebSocket backend for the tests: Debian's python3-websockets.

Serves on 127.0.0.1 (a free port unless --port is given), writes the port to
--port-file once listening, and stops on SIGTERM. Paths:
  /headers  first message: the request headers as "Name: value" lines
  /name     first message: the --name
  anything else: echo every message (text stays text, binary stays binary)
permessage-deflate is offered and accepted (websockets' default).
"""
import argparse
import asyncio
import os
import signal

import websockets


async def handler(ws, path):
    if path.endswith("/headers"):
        await ws.send("\n".join("%s: %s" % kv for kv in ws.request_headers.raw_items()))
    elif path.endswith("/name"):
        await ws.send(ARGS.name)
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(handler, ARGS.host, ARGS.port,
                                max_size=64 * 1024 * 1024, max_queue=64) as srv:
        port = srv.sockets[0].getsockname()[1]
        if ARGS.port_file:
            tmp = ARGS.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.rename(tmp, ARGS.port_file)
        print("ready %d" % port, flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--name", default="python")
    ARGS = ap.parse_args()
    asyncio.run(main())
