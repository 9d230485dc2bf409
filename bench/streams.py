#!/usr/bin/python3
# streams.py - the open-streams part of the hearth benchmark (standard library only).
"""Measure hearth's memory with many concurrent open streams.

One asyncio process plays both ends:
  upstream  a slow OpenAI-compatible provider on 127.0.0.1:UPSTREAM_PORT: a streaming
            chat request gets a chat.completion.chunk every --interval seconds for
            --duration seconds, then a finish chunk, a usage chunk and [DONE]
            (listen backlog 2048);
  clients   --streams concurrent streaming requests to hearth (model --model, which hearth
            routes to the upstream above); once every one has received its first chunk,
            it reads VmRSS/VmHWM of hearth (--pid) from /proc, then closes all the clients
            and checks that hearth cancels the upstream calls.

Results go to stdout as KEY=VALUE lines (sizes in kB); progress and errors to stderr.
Exit status: 0 when every stream opened and the measurement was taken, 1 otherwise.
Needs about 2 * streams file descriptors here and in hearth (ulimit -n).
"""

import argparse
import asyncio
import json
import sys
import time

CHUNK_WORDS = ["Sure", "!", " Here", " is", " a", " slow", " answer", ",", " one", " piece",
               " every", " half", " second", "."]


def log(msg):
    print(f"streams: {msg}", file=sys.stderr, flush=True)


def proc_status(pid):
    """VmRSS, VmHWM (kB) and Threads of a process, from /proc/<pid>/status."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(val.split()[0])
    return out


class Upstream:
    """A slow streaming OpenAI-compatible server."""

    def __init__(self, interval, duration):
        self.interval = interval
        self.duration = duration
        self.active = 0      # streams being written now
        self.started = 0     # streaming requests received
        self.completed = 0   # streams written to the end
        self.aborted = 0     # streams whose reader (hearth) went away first
        self.server = None

    async def start(self, port):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=2048)

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for h in lines[1:]:
                    name, _, val = h.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(val.strip())
                body = await reader.readexactly(length) if length else b""
                try:
                    req = json.loads(body) if body else {}
                except ValueError:
                    req = {}
                if method != "POST" or not path.endswith("/chat/completions"):
                    await self.send_plain(writer, 404, {"error": {"message": "not found"}})
                elif req.get("stream"):
                    await self.stream(writer, req)
                else:
                    await self.send_plain(writer, 200, self.completion(req))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    def completion(req):
        return {"id": "chatcmpl-benchslow", "object": "chat.completion", "created": int(time.time()),
                "model": req.get("model", "slow"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}

    @staticmethod
    async def send_plain(writer, status, obj):
        body = json.dumps(obj).encode()
        writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % (status, len(body)) + body)
        await writer.drain()

    async def stream(self, writer, req):
        self.started += 1
        self.active += 1
        model = req.get("model", "slow")
        base = {"id": f"chatcmpl-slow{self.started}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model, "system_fingerprint": "fp_bench"}

        def event(obj):
            data = b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
            return b"%x\r\n%s\r\n" % (len(data), data)

        def chunk(delta, finish=None):
            return event(dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish}]))

        try:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(chunk({"role": "assistant", "content": ""}))
            await writer.drain()
            n = max(1, int(self.duration / self.interval))
            for i in range(n):
                await asyncio.sleep(self.interval)
                writer.write(chunk({"content": CHUNK_WORDS[i % len(CHUNK_WORDS)]}))
                await writer.drain()
            writer.write(chunk({}, "stop"))
            if (req.get("stream_options") or {}).get("include_usage"):
                writer.write(event(dict(base, choices=[], usage={
                    "prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n})))
            writer.write(event_done())
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            self.completed += 1
        except (ConnectionError, OSError):
            self.aborted += 1
            raise
        finally:
            self.active -= 1


def event_done():
    data = b"data: [DONE]\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class Clients:
    """N concurrent streaming requests to hearth."""

    def __init__(self, port, model, n, connect_concurrency):
        self.port = port
        self.model = model
        self.n = n
        self.sem = asyncio.Semaphore(connect_concurrency)
        self.first = 0            # streams that have received their first chunk
        self.all_first = asyncio.Event()
        self.failed = 0
        self.first_error = None
        self.writers = []
        self.opened = set()
        self.ttfc = []            # seconds from connect to first chunk
        self.closing = False      # set when we close the clients on purpose
        self.ended_early = 0      # streams that ended or broke before we closed them

    def request(self, i):
        body = json.dumps({"model": self.model, "stream": True, "messages": [
            {"role": "user", "content": f"Stream number {i}: tell me something slowly."}]}).encode()
        return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
                b"Content-Length: %d\r\n\r\n" % (self.port, len(body)) + body)

    def fail(self, what):
        self.failed += 1
        if self.first_error is None:
            self.first_error = what
        if self.first + self.failed == self.n:
            self.all_first.set()

    async def one(self, i):
        t0 = time.monotonic()
        try:
            async with self.sem:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.writers.append(writer)
                writer.write(self.request(i))
                await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                rest = b""
                try:
                    rest = await asyncio.wait_for(reader.read(2048), 2)
                except (asyncio.TimeoutError, OSError):
                    pass
                self.fail(f"stream {i}: {status.decode('latin-1')}: "
                          f"{(head + rest).decode('latin-1', 'replace')[:1500]}")
                return
            seen = b""
            while b"data:" not in seen:
                data = await reader.read(65536)
                if not data:
                    self.fail(f"stream {i}: connection closed before the first chunk")
                    return
                seen = (seen + data)[-4096:]
            self.ttfc.append(time.monotonic() - t0)
            self.opened.add(i)
            self.first += 1
            if self.first + self.failed == self.n:
                self.all_first.set()
            while await reader.read(65536):   # drain until we close it (or it ends)
                pass
            if not self.closing:
                self.ended_early += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            if self.closing:
                return
            if i not in self.opened:
                self.fail(f"stream {i}: {type(e).__name__}: {e}")
            else:
                self.ended_early += 1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else 0.0


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hearth-port", type=int, required=True)
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="hearth's process id")
    ap.add_argument("--model", default="slow")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between chunks")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds a stream lasts")
    ap.add_argument("--connect-concurrency", type=int, default=100)
    ap.add_argument("--open-timeout", type=float, default=60.0)
    ap.add_argument("--serve-only", action="store_true",
                    help="only run the upstream (until killed)")
    a = ap.parse_args()

    up = Upstream(a.interval, a.duration)
    await up.start(a.upstream_port)
    if a.serve_only:
        await asyncio.Event().wait()

    before = proc_status(a.pid)
    cl = Clients(a.hearth_port, a.model, a.streams, a.connect_concurrency)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(cl.one(i)) for i in range(a.streams)]
    try:
        await asyncio.wait_for(cl.all_first.wait(), a.open_timeout)
    except asyncio.TimeoutError:
        log(f"timeout: after {a.open_timeout:.0f} s only {cl.first} of {a.streams} streams "
            f"had their first chunk ({cl.failed} failed, upstream saw {up.started})")
    t_open = time.monotonic() - t0
    ok = cl.first == a.streams
    if cl.first_error:
        log(f"{cl.failed} streams failed; first failure: {cl.first_error}")

    # Every stream is open and flowing: let a few chunks pass, then measure.
    await asyncio.sleep(min(1.0, a.interval * 2))
    still_open = up.active
    during = proc_status(a.pid)
    log(f"{cl.first} streams open in {t_open:.2f} s (time to first chunk p50 "
        f"{pct(cl.ttfc, 50) * 1000:.0f} ms, p99 {pct(cl.ttfc, 99) * 1000:.0f} ms); "
        f"upstream streams active {still_open}; hearth VmRSS {during['VmRSS']} kB")
    if t_open + 1 > a.duration:
        log("warning: opening took longer than a stream lasts; fewer may be open at once")

    # Close every client: hearth must cancel the upstream calls.
    ended_early = cl.ended_early
    cl.closing = True
    for w in cl.writers:
        w.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    t1 = time.monotonic()
    while up.active and time.monotonic() - t1 < 10:
        await asyncio.sleep(0.05)
    t_cancel = time.monotonic() - t1
    await asyncio.sleep(1.0)
    after = proc_status(a.pid)

    print(f"STREAMS_REQUESTED={a.streams}")
    print(f"STREAMS_OPEN={cl.first}")
    print(f"STREAMS_FAILED={cl.failed}")
    print(f"STREAMS_ENDED_EARLY={ended_early}")
    print(f"UPSTREAM_ACTIVE_AT_MEASURE={still_open}")
    print(f"OPEN_SECONDS={t_open:.2f}")
    print(f"TTFC_P50_MS={pct(cl.ttfc, 50) * 1000:.1f}")
    print(f"TTFC_P99_MS={pct(cl.ttfc, 99) * 1000:.1f}")
    print(f"RSS_BEFORE_KB={before['VmRSS']}")
    print(f"RSS_STREAMS_KB={during['VmRSS']}")
    print(f"HWM_STREAMS_KB={during['VmHWM']}")
    print(f"THREADS_STREAMS={during['Threads']}")
    print(f"RSS_AFTER_CLOSE_KB={after['VmRSS']}")
    print(f"UPSTREAM_LEFT_AFTER_CLOSE={up.active}")
    print(f"UPSTREAM_CANCEL_SECONDS={t_cancel:.2f}")
    print(f"UPSTREAM_ABORTED={up.aborted}")
    print(f"UPSTREAM_COMPLETED={up.completed}")
    up.server.close()
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
