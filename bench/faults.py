#!/usr/bin/python3
# faults.py - the fault-injection load test: many concurrent clients through hearth while one of
# the two providers of a task fails half its calls; no client request may fail.
"""Fault-injection load test of hearth's retries and fallback (standard library only).

On 127.0.0.1 it starts two fake providers from tests/e2e/fakes: the OpenAI one, whose
model "flaky" answers 500 to every second call, and the Ollama one, whose model "echo" is
healthy. hearth (build/hearth, log level info) gets a task

    resilient: {candidates: [flaky-model, healthy-model], strategy: ordered, max_retries: 1}

and --clients threads (default 200) POST /v1/chat/completions with model "task:resilient"
for --seconds (default 30), each on its own keep-alive connection; half of them stream.

A client request fails when it gets a transport error, a status other than 200, a whole
answer that is not the echo of its prompt, or a stream that does not end with
"data: [DONE]" (or carries an error event). The report gives the machine, the requests,
failures (the first few in full), requests per second, latency p50/p99, which model
answered (X-Hearth-Model), how many provider calls a request took (X-Hearth-Route
"failed=" entries + 1), the calls each fake received, and the usage records hearth wrote.

Exit status 1 when any client request failed (or hearth did not stop cleanly), else 0.
The e2e suite runs a short version of the same scenario (tests/e2e/test_faults.py) through
config(), drive() and fake_calls().
"""

import argparse
import http.client
import json
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from fakes.ollama import FakeOllama  # noqa: E402  (after the sys.path entry they need)
from fakes.openai import FakeOpenAI  # noqa: E402
from helpers import SSE, Hearth, free_port  # noqa: E402

TASK = "task:resilient"
FLAKY, HEALTHY = "flaky-model", "healthy-model"
FAILURES_SHOWN = 5  # failures printed in full; the rest are only counted
CLIENT_TIMEOUT_S = 60  # per request; far above any answer, so a hang shows as a failure


# ---- the scenario -------------------------------------------------------------------------
def config(port, data_dir, flaky_url, healthy_url, log_level="info"):
    """The hearth config dict of the scenario (helpers.to_yaml writes it)."""
    return {
        "server": {"host": "127.0.0.1", "port": port, "shutdown_timeout_ms": 10000},
        "log": {"level": log_level},
        "storage": {"data_dir": str(data_dir)},
        "providers": {
            "p-flaky": {"kind": "openai", "base_url": flaky_url, "api_key": "env:FAKE_KEY",
                        "locality": "cloud"},
            "p-healthy": {"kind": "ollama", "base_url": healthy_url},
        },
        "models": {
            FLAKY: {"provider": "p-flaky", "upstream": "flaky",
                    "input_price_per_mtok": 1, "output_price_per_mtok": 2},
            HEALTHY: {"provider": "p-healthy", "upstream": "echo"},
        },
        "tasks": {"resilient": {"candidates": [FLAKY, HEALTHY], "strategy": "ordered",
                                "max_retries": 1}},
    }


def route_attempts(route):
    """Provider calls a request took: the failed ones X-Hearth-Route lists, plus the answer."""
    for part in (route or "").split("; "):
        if part.startswith("failed="):
            return 1 + len(part[len("failed="):].split(","))
    return 1


class Client:
    """One client thread's counts; merged after the run, so the threads share no lock."""

    def __init__(self, n, stream):
        self.n = n
        self.stream = stream
        self.requests = 0
        self.failures = []  # (kind, detail)
        self.incomplete_streams = 0
        self.latencies = []
        self.models = {}
        self.attempts = {}

    def run(self, port, deadline):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
        i = 0
        while time.monotonic() < deadline:
            i += 1
            prompt = "client %d request %d" % (self.n, i)
            body = {"model": TASK, "messages": [{"role": "user", "content": prompt}]}
            if self.stream:
                body["stream"] = True
            t0 = time.monotonic()
            try:
                conn.request("POST", "/v1/chat/completions", json.dumps(body),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as e:
                self.requests += 1
                self.failures.append(("transport", "%s: %s" % (type(e).__name__, e)))
                conn.close()  # a fresh connection for the next request
                continue
            self.latencies.append(time.monotonic() - t0)
            self.requests += 1
            model = r.getheader("X-Hearth-Model") or "(none)"
            self.models[model] = self.models.get(model, 0) + 1
            k = route_attempts(r.getheader("X-Hearth-Route"))
            self.attempts[k] = self.attempts.get(k, 0) + 1
            text = data.decode("utf-8", "replace")
            if r.status != 200:
                self.failures.append(("status %d" % r.status, "%s; route: %s" % (
                    text[:300], r.getheader("X-Hearth-Route"))))
                continue
            check = self.check_stream if self.stream else self.check_whole
            problem = check(text, "echo: " + prompt)
            if problem:
                self.failures.append(("wrong answer", problem))
        conn.close()

    def check_stream(self, text, want):
        """None when the stream is complete and says want, else what is wrong with it."""
        if not text.endswith("data: [DONE]\n\n"):
            self.incomplete_streams += 1
            return "stream without data: [DONE] at its end: ...%s" % text[-300:]
        try:
            sse = SSE(text)
            err, content = sse.error, sse.content()
        except (ValueError, KeyError, TypeError, AttributeError):
            return "stream that is not SSE of chat.completion.chunk: %s" % text[:300]
        if err is not None:
            return "stream with an error event: %s" % json.dumps(err)[:300]
        if content != want:
            return "stream content %r, not %r" % (content[:200], want)
        return None

    @staticmethod
    def check_whole(text, want):
        try:
            content = json.loads(text)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return "not a chat.completion: %s" % text[:300]
        if content != want:
            return "content %r, not %r" % (content, want)
        return None


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def drive(port, clients, seconds):
    """Runs clients threads against hearth on port for seconds (every other one streams);
    returns the merged figures as a dict."""
    deadline = time.monotonic() + seconds
    workers = [Client(n, stream=n % 2 == 1) for n in range(clients)]
    threads = [threading.Thread(target=w.run, args=(port, deadline), daemon=True)
               for w in workers]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + CLIENT_TIMEOUT_S + 5)
    elapsed = time.monotonic() - t0
    stuck = sum(t.is_alive() for t in threads)
    lat = sorted(x for w in workers for x in w.latencies)
    out = {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": sum(w.requests for w in workers),
        "stream_requests": sum(w.requests for w in workers if w.stream),
        "failed": sum(len(w.failures) for w in workers) + stuck,
        "failure_kinds": {},
        "first_failures": [],
        "incomplete_streams": sum(w.incomplete_streams for w in workers),
        "clients_stuck": stuck,
        "models": {},
        "attempts": {},
    }
    for w in workers:
        for kind, detail in w.failures:
            out["failure_kinds"][kind] = out["failure_kinds"].get(kind, 0) + 1
            if len(out["first_failures"]) < FAILURES_SHOWN:
                out["first_failures"].append("%s (client %d): %s" % (kind, w.n, detail))
        for m, c in w.models.items():
            out["models"][m] = out["models"].get(m, 0) + c
        for k, c in w.attempts.items():
            out["attempts"][str(k)] = out["attempts"].get(str(k), 0) + c
    out["requests_per_s"] = round(out["requests"] / elapsed, 1) if elapsed else 0.0
    out["latency_ms"] = {"p50": round(percentile(lat, 50) * 1000, 1),
                         "p99": round(percentile(lat, 99) * 1000, 1),
                         "max": round((lat[-1] if lat else 0) * 1000, 1)}
    return out


def fake_calls(flaky, healthy):
    """The chat calls each fake received, by the status it answered."""
    def by_status(reqs):
        out = {}
        for r in reqs:
            out[str(r["status"])] = out.get(str(r["status"]), 0) + 1
        return out
    fr, hr = flaky.chat_requests("flaky"), healthy.chat_requests("echo")
    return {"flaky": {"calls": len(fr), "status": by_status(fr)},
            "healthy": {"calls": len(hr), "status": by_status(hr)}}


# ---- the command --------------------------------------------------------------------------
def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = open("/proc/loadavg", encoding="ascii").read().split()[:3]
    except OSError:
        load = ["?"] * 3
    return {"system": "%s %s %s" % (platform.system(), platform.release(), platform.machine()),
            "cpu": model, "cpus": cpus, "python": platform.python_version(),
            "load": " ".join(load)}


def raise_fd_limit(need):
    """Clients, hearth's upstream connections and the fakes' sockets all live in this process
    or its child: raise the soft descriptor limit (hearth inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(need, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < need:
        sys.exit("faults: %d clients need ulimit -n >= %d; the hard limit is %s"
                 % (need // 4, need, hard))


def cpu_seconds(pid=None):
    """User + system CPU time of a process (this one when pid is None), in seconds."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    with open("/proc/%d/stat" % pid, encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def usage_records(db_path):
    """Rows, provider calls and statuses of hearth's usage records (read after it stopped)."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        n, calls = db.execute("SELECT count(*), coalesce(sum(attempts), 0) "
                              "FROM usage_records").fetchone()
        statuses = dict(db.execute("SELECT status, count(*) FROM usage_records "
                                   "GROUP BY status").fetchall())
    finally:
        db.close()
    return {"rows": n, "attempts": calls, "status": {str(k): v for k, v in statuses.items()}}


def show(summary, out):
    def p(*a):
        print(*a, file=out, flush=True)
    m, d, f = summary["machine"], summary["drive"], summary["fakes"]
    p("== hearth fault-injection load test (%s)" % time.strftime("%Y-%m-%d %H:%M UTC",
                                                                  time.gmtime()))
    p("machine    %s" % m["system"])
    p("cpu        %s, %s CPUs (load %s)" % (m["cpu"], m["cpus"], m["load"]))
    p("hearth     %s" % summary["hearth"])
    p("scenario   %d clients (half streaming) for %s s, model %s = [%s (fails every second "
      "call), %s], ordered, max_retries 1" % (d["clients"], d["seconds"], TASK, FLAKY,
                                              HEALTHY))
    p("")
    p("requests   %d (%d streamed), %.1f/s" % (d["requests"], d["stream_requests"],
                                             d["requests_per_s"]))
    p("latency    p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        d["latency_ms"]["p50"], d["latency_ms"]["p99"], d["latency_ms"]["max"]))
    p("failed     %d%s" % (d["failed"], "" if not d["failed"] else "  %s" % d["failure_kinds"]))
    for line in d["first_failures"]:
        p("           " + line)
    p("streams    %d did not end with data: [DONE]" % d["incomplete_streams"])
    p("answered   %s" % ", ".join("%s %d" % kv for kv in sorted(d["models"].items())))
    p("calls/req  %s (from X-Hearth-Route)" % ", ".join(
        "%s: %d" % kv for kv in sorted(d["attempts"].items())))
    p("fakes      flaky got %d calls %s; healthy got %d calls %s" % (
        f["flaky"]["calls"], f["flaky"]["status"], f["healthy"]["calls"],
        f["healthy"]["status"]))
    c = summary["cpu_s"]
    p("cpu time   hearth %.1f s, clients and fakes (this Python process) %.1f s, over %s s" % (
        c["hearth"], c["clients_and_fakes"], d["seconds"]))
    u = summary.get("usage")
    if u:
        p("usage db   %d records, %d provider calls, status %s" % (
            u["rows"], u["attempts"], u["status"]))
    p("hearth log %d lines at warn or above; exit status %s" % (
        summary["hearth_warnings"], summary["hearth_exit"]))
    for line in summary["hearth_warning_lines"]:
        p("           " + line)
    p("")
    p("result     %s" % ("PASS: no client request failed" if summary["ok"] else "FAIL"))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Fault-injection load test: CLIENTS concurrent clients through hearth "
                    "for SECONDS while one of two providers fails half its calls. Exit "
                    "status 1 when any client request failed.")
    ap.add_argument("--clients", type=int, default=200, help="concurrent clients (200)")
    ap.add_argument("--seconds", type=float, default=30, help="length of the run (30)")
    ap.add_argument("--hearth", default=str(ROOT / "build" / "hearth"),
                    help="the hearth binary (build/hearth)")
    ap.add_argument("--json", action="store_true",
                    help="print a JSON summary on stdout (the report goes to stderr)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch directory (config, hearth's log, database)")
    args = ap.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        ap.error("--clients and --seconds must be positive")
    hearth_bin = Path(args.hearth).resolve()
    if not hearth_bin.is_file():
        sys.exit("faults: no hearth binary at %s: build it (make) or pass --hearth" % hearth_bin)
    os.environ["HEARTH_BIN"] = str(hearth_bin)  # what helpers.Hearth starts
    # per client: its socket here, hearth's two ends of the upstream call, the fake's end
    raise_fd_limit(4 * args.clients + 256)

    summary = {"machine": machine(), "ok": False}
    scratch = Path(tempfile.mkdtemp(prefix="hearth-faults-"))
    flaky, healthy = FakeOpenAI().start(), FakeOllama().start()
    h = None
    try:
        cfg = config(free_port(), scratch / "data", flaky.base_url, healthy.base_url)
        h = Hearth(scratch, cfg)
        summary["hearth"] = "%s (%s)" % (
            os.popen("'%s' --version 2>&1" % hearth_bin).read().strip(), hearth_bin)
        h.start()
        cpu0 = (cpu_seconds(h.pid), cpu_seconds())
        summary["drive"] = drive(h.port, args.clients, args.seconds)
        summary["cpu_s"] = {"hearth": round(cpu_seconds(h.pid) - cpu0[0], 1),
                            "clients_and_fakes": round(cpu_seconds() - cpu0[1], 1)}
        summary["fakes"] = fake_calls(flaky, healthy)
        summary["hearth_exit"] = h.stop(expect_code=None)
        summary["usage"] = usage_records(h.db_path)
    finally:
        if h is not None and h.running():
            h.stop(expect_code=None)
        flaky.close()
        healthy.close()
    log = h.stderr_text()
    # lines are "<time> <level> <subsystem> ...": count by the level field, since info lines
    # such as "retrying ... after upstream_error" name errors too
    warn = [ln for ln in log.splitlines()
            if ln.split()[1:2] and ln.split()[1] in ("warn", "error", "fatal")]
    by_text = {}
    for ln in warn:  # the same warning per request: show each kind once, with its count
        key = " ".join(w for w in ln.split()[2:] if not w.startswith("req_"))
        by_text[key] = by_text.get(key, 0) + 1
    summary["hearth_warnings"] = len(warn)
    summary["hearth_warning_lines"] = ["%dx %s" % (n, t) for t, n in
                                       sorted(by_text.items(), key=lambda kv: -kv[1])[:5]]
    summary["scratch"] = str(scratch)
    summary["ok"] = summary["drive"]["failed"] == 0 and summary["hearth_exit"] == 0
    show(summary, sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(summary, indent=2))
    if args.keep or not summary["ok"]:
        print("scratch    %s (config, hearth's stderr, database)" % scratch,
              file=sys.stderr if args.json else sys.stdout)
    else:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
