#!/usr/bin/python3
# llama.py - the embedded llama.cpp engine's benchmark (`make bench-llama`; standard library
# only). Not a test: it prints figures with the machine they were measured on.
"""Tokens per second through hearth's embedded engine, against the library driven directly.

In one run on this machine, with the tiny real model (../shared/models/stories260K-f32.gguf),
greedy continuation of "Once upon a time" for --tokens tokens per stream:
  hearth    `hearth serve` with one llamacpp provider (threads --threads, parallel 8,
            context 512); 1 stream, then 8 concurrent streams, each a streaming request
            read to its end; tokens from the answers' usage, time from the first request
            sent to the last stream's end; time to first token = request sent to the first
            content chunk received.
  direct    build/bench/llama_direct: the same generation (same prompt, greedy, the same
            batch of S sequences, threads and context) through the library in one C program.
Each figure is the median of --runs runs, hearth's and the direct program's alternating. The ratio is hearth's tokens/s over the direct
program's: what the server, the HTTP and SSE path and the hand-over between threads cost.
"""

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROMPT = "Once upon a time"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cpus = len(os.sched_getaffinity(0))
    load = open("/proc/loadavg", encoding="ascii").read().split()[:3]
    return "%s, %d cpus, %s %s, load %s" % (model, cpus, platform.system(), platform.release(),
                                            " ".join(load))


def stream_one(port, tokens, out, i):
    """One streaming request; out[i] = (completion tokens, seconds to first token, seconds)."""
    body = json.dumps({"model": "tiny", "temperature": 0, "max_tokens": tokens, "stream": True,
                       "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": PROMPT}]})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    first, used = None, 0
    for line in r:
        if not line.startswith(b"data: {"):
            continue
        d = json.loads(line[6:])
        if first is None and any((ch.get("delta") or {}).get("content") for ch in d["choices"]):
            first = time.perf_counter() - t0
        if d.get("usage"):
            used = d["usage"]["completion_tokens"]
    out[i] = (used, first, time.perf_counter() - t0)
    c.close()


def through_hearth(port, streams, tokens):
    out = [None] * streams
    ts = [threading.Thread(target=stream_one, args=(port, tokens, out, i)) for i in range(streams)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.perf_counter() - t0
    total = sum(o[0] for o in out)
    return {"tokens": total, "tokens_per_s": total / secs,
            "first_token_ms": statistics.median(o[1] for o in out) * 1000}


def direct(driver, model, streams, tokens, threads, lib_dir):
    env = dict(os.environ, LLAMA_LIB_DIR=str(lib_dir))
    p = subprocess.run([str(driver), str(model), str(streams), str(tokens), str(threads), "512",
                        PROMPT], capture_output=True, text=True, env=env, check=True)
    return json.loads(p.stdout)


def medians(rs):
    return {k: statistics.median(r[k] for r in rs) for k in ("tokens", "tokens_per_s",
                                                            "first_token_ms")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hearth", default=str(REPO / "build" / "hearth"))
    ap.add_argument("--driver", default=str(REPO / "build" / "bench" / "llama_direct"))
    ap.add_argument("--model", default=str(REPO.parent / "shared" / "models" /
                                           "stories260K-f32.gguf"))
    ap.add_argument("--lib-dir", default=str(REPO / "third_party" / "llama" / "lib"))
    ap.add_argument("--tokens", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--port", type=int, default=18431)
    a = ap.parse_args()
    if not Path(a.model).is_file():
        print("bench-llama: skipped: the model %s is absent" % a.model)
        return 0
    if not Path(a.lib_dir).is_dir():
        print("bench-llama: skipped: no llama.cpp library in %s (run `make llama`)" % a.lib_dir)
        return 0
    print("machine: %s" % machine())
    print("model: %s; %d tokens per stream, greedy; threads %d; median of %d runs"
          % (Path(a.model).name, a.tokens, a.threads, a.runs))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "hearth.yaml"
        cfg.write_text(
            "server: {port: %d}\nstorage: {data_dir: %s/data}\nlog: {level: warn}\n"
            "providers:\n  tiny: {kind: llamacpp, path: %s, threads: %d, parallel: 8, "
            "context: 512}\nmodels:\n  tiny: {provider: tiny}\n"
            % (a.port, tmp, a.model, a.threads))
        env = dict(os.environ, HEARTH_LLAMA_LIB=a.lib_dir)
        srv = subprocess.Popen([a.hearth, "serve", "--config", str(cfg)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(100):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=2)
                    c.request("GET", "/readyz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            through_hearth(a.port, 1, 20)  # warm up
            rows = []
            for streams in (1, 8):  # the two alternate, so both see the same load
                hs, ds = [], []
                for _ in range(a.runs):
                    hs.append(through_hearth(a.port, streams, a.tokens))
                    ds.append(direct(a.driver, a.model, streams, a.tokens, a.threads,
                                     a.lib_dir))
                rows.append((streams, medians(hs), medians(ds)))
        finally:
            srv.terminate()
            srv.wait(timeout=30)
    print("%-8s %-8s %10s %12s %16s" % ("streams", "via", "tokens", "tokens/s", "first token ms"))
    for streams, h, d in rows:
        for via, r in (("hearth", h), ("direct", d)):
            print("%-8d %-8s %10d %12.0f %16.2f" % (streams, via, r["tokens"], r["tokens_per_s"],
                                                    r["first_token_ms"]))
        print("%-8d %-8s %10s %12.2f" % (streams, "ratio", "", h["tokens_per_s"] /
                                         d["tokens_per_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
