#!/usr/bin/python3
"""Drive headless Chromium through the demo chat: two pages, a message typed
in each, seen in the other.

Speaks the DevTools protocol over Debian's python3-websockets. Starts
Chromium itself (its own process group, a fresh profile, loopback only),
and stops it by PID whatever happens. Every wait is bounded.

  cdp_chat.py --chromium BIN --url http://127.0.0.1:PORT/ --profile DIR
              [--timeout SECONDS]

Prints one "key: value" line per finding and exits 0 when both messages
arrived, 1 when something did not work, 2 when Chromium did not start.
"""
import argparse
import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time

import websockets

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-default-apps", "--mute-audio",
    "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


def say(key, value):
    print("%s: %s" % (key, value), flush=True)


class Cdp:
    """One browser-level DevTools connection; pages are flat sessions."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending = {}
        self.reader = asyncio.get_running_loop().create_task(self.read())

    async def read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            fut = self.pending.pop(msg.get("id"), None)
            if fut and not fut.done():
                fut.set_result(msg)

    async def call(self, method, params=None, session=None, timeout=10):
        mid = next(self.ids)
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[mid] = fut
        await self.ws.send(json.dumps(msg))
        res = await asyncio.wait_for(fut, timeout)
        if "error" in res:
            raise RuntimeError("%s: %s" % (method, res["error"]))
        return res.get("result", {})

    async def js(self, session, expr):
        res = await self.call("Runtime.evaluate",
                              {"expression": expr, "returnByValue": True},
                              session=session)
        if "exceptionDetails" in res:
            raise RuntimeError("js error in %r: %s" % (expr, res["exceptionDetails"]))
        return res.get("result", {}).get("value")

    async def wait_js(self, session, expr, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if await self.js(session, expr):
                    return True
            except RuntimeError:
                pass  # page still loading
            await asyncio.sleep(0.1)
        return False

    async def open_page(self, url):
        target = await self.call("Target.createTarget", {"url": url})
        att = await self.call("Target.attachToTarget",
                              {"targetId": target["targetId"], "flatten": True})
        return att["sessionId"]


def devtools_url(proc, profile, timeout):
    """Wait for Chromium's DevToolsActivePort file (port, then path)."""
    portfile = os.path.join(profile, "DevToolsActivePort")
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            with open(portfile) as f:
                lines = f.read().split()
            if len(lines) >= 2:
                return "ws://127.0.0.1:%s%s" % (lines[0], lines[1])
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    return None


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop(proc):
    """TERM the browser's process group (it leads it: start_new_session), wait
    a bounded time for every member to exit, then KILL what is left.
    Returns True when nothing of it is left."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if not group_alive(proc.pid) and proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        end = time.monotonic() + wait
        while time.monotonic() < end:
            proc.poll()  # reap the leader
            if proc.returncode is not None and not group_alive(proc.pid):
                break
            time.sleep(0.05)
    proc.poll()
    return proc.returncode is not None and not group_alive(proc.pid)


async def chat(url, endpoint, timeout):
    ok = True
    async with websockets.connect(endpoint, max_size=None, open_timeout=10,
                                  ping_interval=None) as ws:
        cdp = Cdp(ws)
        a = await cdp.open_page(url)
        b = await cdp.open_page(url)
        for name, s in (("a", a), ("b", b)):
            up = await cdp.wait_js(s, "document.getElementById('state') && "
                                      "document.getElementById('state').textContent"
                                      ".startsWith('connected')", timeout)
            say("page_%s_connected" % name, "yes" if up else "no")
            if not up:
                say("page_%s_state" % name, json.dumps(await cdp.js(
                    s, "document.getElementById('state') ? "
                       "document.getElementById('state').textContent : document.title")))
                ok = False
        if not ok:
            return False
        link = await cdp.js(a, "(document.getElementById('status') || {}).href || ''")
        say("status_link", link)
        nonce = "%d-%d" % (os.getpid(), int(time.time() * 1000))
        for sender, receiver, who in ((a, b, "alice"), (b, a, "bob")):
            text = "hello from %s %s" % (who, nonce)
            await cdp.js(sender, """(() => {
                document.getElementById('name').value = %s;
                document.getElementById('msg').value = %s;
                document.getElementById('form').requestSubmit();
                return true; })()""" % (json.dumps(who), json.dumps(text)))
            seen = await cdp.wait_js(
                receiver, "document.getElementById('log').textContent.includes(%s)"
                % json.dumps("%s: %s" % (who, text)), timeout)
            say("%s_to_other_page" % who, "yes" if seen else "no")
            echoed = await cdp.wait_js(
                sender, "document.getElementById('log').textContent.includes(%s)"
                % json.dumps("%s: %s" % (who, text)), timeout)
            say("%s_on_own_page" % who, "yes" if echoed else "no")
            ok = ok and seen and echoed
        cdp.reader.cancel()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--log", default=os.devnull, help="Chromium's stderr")
    args = ap.parse_args()
    if not re.match(r"^http://127\.0\.0\.1:\d+/", args.url):
        sys.exit("only http://127.0.0.1 URLs")
    os.makedirs(args.profile, exist_ok=True)
    with open(args.log, "ab") as log:
        proc = subprocess.Popen([args.chromium, *FLAGS, "--user-data-dir=" + args.profile,
                                 "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    say("chromium_pid", proc.pid)
    try:
        endpoint = devtools_url(proc, args.profile, 30)
        if not endpoint:
            say("chromium", "no DevTools endpoint within 30 s (exit %s)" % proc.poll())
            return 2
        ok = asyncio.run(asyncio.wait_for(chat(args.url, endpoint, args.timeout),
                                          4 * args.timeout + 30))
        say("result", "ok" if ok else "failed")
        return 0 if ok else 1
    except Exception as e:  # report, never leave the browser behind
        say("error", "%s: %s" % (type(e).__name__, e))
        return 1
    finally:
        say("chromium_stopped", "yes" if stop(proc) else "no")


if __name__ == "__main__":
    sys.exit(main())
