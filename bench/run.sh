#!/usr/bin/env bash
# run.sh - the hearth gateway benchmark (`make bench`); docs/performance.md explains it.
#
# In one run on this machine: nginx (Debian's nginx-light) answers a canned chat.completion;
# wrk measures latency (1 connection) and throughput (64 connections) straight to nginx and
# through hearth (usage recording on); bench/streams.py holds BENCH_STREAMS streams open
# through hearth to a slow upstream and reads hearth's RSS. Prints the machine, the figures
# and a summary beside the targets of issue 2.
#
# Exit status: 0 whether or not the targets are met (this is a benchmark, not a test);
# non-zero only when something failed to run (a server did not start, wrk failed, hearth
# died, streams could not be opened).
#
# Knobs: BENCH_SECONDS (10) length of each measured wrk run; BENCH_STREAMS (1000) open
# streams for the memory figure (0 skips it); BENCH_NGINX_WORKERS (1); BENCH_HEARTH_WORKERS (2);
# BENCH_KEEP=1 keeps the scratch directory (logs, configs, wrk outputs).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
HEARTH=$ROOT/build/hearth
PY=/usr/bin/python3
NGINX=/usr/sbin/nginx
DUR=${BENCH_SECONDS:-10}
STREAMS=${BENCH_STREAMS:-1000}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-1}
HEARTH_WORKERS=${BENCH_HEARTH_WORKERS:-2}
WARMUP=2

say() { printf '%s\n' "$*"; }
err() { printf 'bench: %s\n' "$*" >&2; }
die() {
	err "error: $*"
	exit 1
}
is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

check_uint() { is_uint "$2" || die "$1 must be a non-negative integer (got '$2')"; }
check_uint BENCH_SECONDS "$DUR"
check_uint BENCH_STREAMS "$STREAMS"
check_uint BENCH_NGINX_WORKERS "$NGINX_WORKERS"
check_uint BENCH_HEARTH_WORKERS "$HEARTH_WORKERS"
[ "$DUR" -ge 1 ] || die "BENCH_SECONDS must be at least 1"
[ -x "$HEARTH" ] || die "$HEARTH is missing: run 'make' (or 'make bench')"
for t in "$NGINX" /usr/bin/wrk "$PY"; do
	[ -x "$t" ] || die "$t is missing: run scripts/install-deps.sh bench (as root)"
done

# ---- processes and cleanup ------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench.XXXXXX")
NGINX_PID="" HEARTH_PID="" STREAMS_PID=""

stop() { # stop PID: SIGTERM, then SIGKILL after 10 s; reaps it
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

show_logs() {
	local f
	for f in "$TMP/hearth.log" "$TMP/nginx/error.log" "$TMP/streams.err"; do
		[ -s "$f" ] || continue
		err "---- last lines of $f"
		tail -n 30 "$f" >&2
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop "$STREAMS_PID"
	stop "$HEARTH_PID"
	stop "$NGINX_PID"
	if [ "$rc" -ne 0 ]; then
		show_logs
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
		err "scratch directory kept: $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

alive() { kill -0 "$1" 2>/dev/null; }

hearth_alive() {
	alive "$HEARTH_PID" && return 0
	local rc=0
	wait "$HEARTH_PID" || rc=$?
	HEARTH_PID=""
	die "hearth died during '$1' (exit status $rc; 128+N = signal N); its log follows"
}

free_ports() { # free_ports N: N free TCP ports on 127.0.0.1
	"$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

http_code() { # http_code PORT PATH: status code of a GET, empty if no answer
	local code=""
	{
		exec 3<>"/dev/tcp/127.0.0.1/$1" &&
			printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3 &&
			read -r -t 2 _ code _ <&3
	} 2>/dev/null || true
	exec 3>&- 2>/dev/null || true
	printf '%s' "$code"
}

wait_http() { # wait_http NAME PID PORT PATH CODE: until PATH answers CODE (10 s)
	local i
	for i in $(seq 200); do
		alive "$2" || die "$1 exited before answering on port $3"
		[ "$(http_code "$3" "$4")" = "$5" ] && return 0
		sleep 0.05
	done
	die "$1 did not answer $5 on 127.0.0.1:$3$4 within 10 s"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

cpu_ticks() { # cpu_ticks PID...: user+system CPU time of the processes, in clock ticks
	local p t=0 f
	for p in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" 2>/dev/null || true); }
CLK_TCK=$(getconf CLK_TCK)
us_per_req() { # us_per_req TICKS REQUESTS
	awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0)}'
}

busy_pct() { # busy_pct: share of all CPUs busy over one second (before we start anything)
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
		d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0)}'
}

# ---- file descriptors ---------------------------------------------------------------------
hard=$(ulimit -Hn)
want=65536
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$want" ]; then
	ulimit -Sn "$want" || die "cannot raise ulimit -n to $want"
fi
need=$((2 * STREAMS + 256)) # streams.py and hearth each hold a client and an upstream socket per stream
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ]; then
	die "BENCH_STREAMS=$STREAMS needs ulimit -n >= $need (1 client + 1 upstream socket per stream); the hard limit is $hard"
fi

# ---- machine ------------------------------------------------------------------------------
commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
fi
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
[ -n "$cpu_model" ] || cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
cpu_mhz=$(sed -n 's/^cpu MHz[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
ncpu=$(nproc)
mem_total=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
hypervisor=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor:[[:space:]]*//p' | head -n 1)
nginx_ver=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
wrk_ver=$( (wrk -v 2>&1 || true) | head -n 1 | awk '{print $2}')
hearth_ver=$("$HEARTH" --version 2>&1 | head -n 1)

BUSY=$(busy_pct)
say "== hearth benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
say "machine   $(uname -srm)"
say "cpu       $cpu_model, $ncpu CPUs${cpu_mhz:+ @ ${cpu_mhz%.*} MHz}${hypervisor:+ (virtualized: $hypervisor)}"
say "memory    $mem_total"
say "hearth    $hearth_ver, commit $commit"
say "nginx     $nginx_ver (workers: $NGINX_WORKERS)"
say "wrk       $wrk_ver"
say "python    $("$PY" --version 2>&1)"
say "settings  BENCH_SECONDS=$DUR BENCH_STREAMS=$STREAMS hearth workers=$HEARTH_WORKERS ulimit -n=$(ulimit -Sn)"
say "load      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min); CPUs busy before the run: ${BUSY}%"
say "note      wrk, nginx and hearth share these $ncpu CPUs over loopback"
if [ "$BUSY" -gt 10 ]; then
	say "warning   other processes keep the CPUs ${BUSY}% busy: the figures below are disturbed"
fi
say ""

read -r NGINX_PORT HEARTH_PORT SLOW_PORT <<<"$(free_ports 3)"

# ---- nginx: the static upstream ----------------------------------------------------------
NGX=$TMP/nginx
mkdir -p "$NGX"/{client_body,proxy,fastcgi,uwsgi,scgi,logs}
user_line=""
if [ "$(id -u)" -eq 0 ]; then user_line="user root;"; fi # workers run as us, not nobody
sed -e "s|@PORT@|$NGINX_PORT|g" -e "s|@PREFIX@|$NGX|g" -e "s|@WORKERS@|$NGINX_WORKERS|g" \
	-e "s|@USER@|$user_line|g" "$ROOT/bench/nginx.conf" >"$NGX/nginx.conf"
"$NGINX" -t -q -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" ||
	die "nginx rejects $NGX/nginx.conf"
"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NGINX_PID=$!
wait_http nginx "$NGINX_PID" "$NGINX_PORT" / 404

# ---- hearth --------------------------------------------------------------------------------
mkdir -p "$TMP/data"
cat >"$TMP/hearth.yaml" <<EOF
server: {host: 127.0.0.1, port: $HEARTH_PORT, workers: $HEARTH_WORKERS, shutdown_timeout_ms: 3000}
log: {level: warn}
storage: {data_dir: "$TMP/data"}
providers:
  up: {kind: openai, base_url: "http://127.0.0.1:$NGINX_PORT/v1"}
  slow: {kind: openai, base_url: "http://127.0.0.1:$SLOW_PORT/v1"}
models:
  m: {provider: up, upstream: gpt-4o-mini, input_price_per_mtok: 0.15, output_price_per_mtok: 0.6}
  slow: {provider: slow, upstream: slow-model, input_price_per_mtok: 1, output_price_per_mtok: 2}
EOF
"$HEARTH" serve --config "$TMP/hearth.yaml" >"$TMP/hearth.log" 2>&1 &
HEARTH_PID=$!
wait_http hearth "$HEARTH_PID" "$HEARTH_PORT" /readyz 200
sleep 1
RSS_IDLE=$(rss_kb "$HEARTH_PID")

# One request each way, checked, before measuring anything.
smoke() { # smoke PORT: POST the benchmark request, print the answer's status and usage
	"$PY" - "$1" <<'EOF'
import json, sys, urllib.request, urllib.error
body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/chat/completions", body,
                             {"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        ans = json.load(r)
        cost = r.headers.get("X-Hearth-Cost")
except urllib.error.HTTPError as e:
    sys.exit(f"HTTP {e.code}: {e.read()[:2000].decode('utf-8', 'replace')}")
except Exception as e:
    sys.exit(f"{type(e).__name__}: {e}")
if not ans.get("choices") or not ans.get("usage"):
    sys.exit(f"unexpected answer: {json.dumps(ans)[:2000]}")
print(f"200, usage {ans['usage']['total_tokens']} tokens" + (f", X-Hearth-Cost {cost}" if cost else ""))
EOF
}
ans=$(smoke "$NGINX_PORT") || die "the direct request failed"
say "check     direct:  $ans"
ans=$(smoke "$HEARTH_PORT") || die "the request through hearth failed"
say "check     through: $ans"
hearth_alive "the check request"

# ---- wrk -----------------------------------------------------------------------------------
DIRECT=http://127.0.0.1:$NGINX_PORT/v1/chat/completions
THROUGH=http://127.0.0.1:$HEARTH_PORT/v1/chat/completions

run_wrk() { # run_wrk NAME THREADS CONNS SECONDS URL
	local out=$TMP/wrk-$1.txt
	if ! wrk -t"$2" -c"$3" -d"$4"s --latency -s "$ROOT/bench/post.lua" "$5" >"$out" 2>&1; then
		cat "$out" >&2
		[ -z "$HEARTH_PID" ] || hearth_alive "wrk run '$1'"
		die "wrk failed for '$1'"
	fi
	grep -q '^Requests/sec:' "$out" || { cat "$out" >&2; die "no figures in wrk's output for '$1'"; }
}
lat_us() { # lat_us NAME PCT: a latency percentile of a wrk run, in microseconds
	awk -v p="$2%" '$1 == p && NF == 2 {
		v = $2; m = 1
		if (v ~ /us$/) { sub(/us$/, "", v) }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); m = 1e3 }
		else if (v ~ /s$/) { sub(/s$/, "", v); m = 1e6 }
		else if (v ~ /m$/) { sub(/m$/, "", v); m = 6e7 }
		else if (v ~ /h$/) { sub(/h$/, "", v); m = 3.6e9 }
		printf "%.0f\n", v * m; exit }' "$TMP/wrk-$1.txt"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk-$1.txt"; }
nreq() { awk '/ requests in / {print $1}' "$TMP/wrk-$1.txt"; }
bad() { # non-2xx responses + socket errors of a run
	awk '/Non-2xx or 3xx responses:/ {n += $NF}
	     /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
	     END {print n + 0}' "$TMP/wrk-$1.txt"
}

say "warm-up   ${WARMUP} s each way, 64 connections"
run_wrk warm-direct 2 64 "$WARMUP" "$DIRECT"
run_wrk warm-through 2 64 "$WARMUP" "$THROUGH"
hearth_alive "the warm-up"
say "run       1 connection, 1 thread, ${DUR} s: direct, then through hearth"
run_wrk c1-direct 1 1 "$DUR" "$DIRECT"
h0=$(cpu_ticks "$HEARTH_PID")
run_wrk c1-through 1 1 "$DUR" "$THROUGH"
CPU_H1=$(($(cpu_ticks "$HEARTH_PID") - h0))
hearth_alive "the 1-connection run"
say "run       64 connections, 2 threads, ${DUR} s: direct, then through hearth"
n0=$(cpu_ticks $(nginx_pids))
run_wrk c64-direct 2 64 "$DUR" "$DIRECT"
CPU_N64D=$(($(cpu_ticks $(nginx_pids)) - n0))
h0=$(cpu_ticks "$HEARTH_PID") n0=$(cpu_ticks $(nginx_pids))
run_wrk c64-through 2 64 "$DUR" "$THROUGH"
CPU_H64=$(($(cpu_ticks "$HEARTH_PID") - h0)) CPU_N64T=$(($(cpu_ticks $(nginx_pids)) - n0))
hearth_alive "the 64-connection run"
sleep 1
RSS_LOADED=$(rss_kb "$HEARTH_PID")

PROBLEMS=""
for r in warm-through c1-through c64-through warm-direct c1-direct c64-direct; do
	b=$(bad "$r")
	if [ "$b" -gt 0 ]; then
		PROBLEMS="$PROBLEMS $r:$b"
		err "warning: $r had $b non-2xx responses or socket errors:"
		grep -E 'Non-2xx|Socket errors' "$TMP/wrk-$r.txt" >&2 || true
	fi
done
if [ -n "$PROBLEMS" ]; then
	# Capture what the failing answers look like (post.lua prints the first few non-200s).
	err "capturing failing answers (2 s through hearth, BENCH_CAPTURE=1):"
	BENCH_CAPTURE=1 wrk -t2 -c64 -d2s -s "$ROOT/bench/post.lua" "$THROUGH" >"$TMP/wrk-capture.txt" 2>&1 || true
	grep -v '^ ' "$TMP/wrk-capture.txt" | head -n 40 >&2 || true
fi

# ---- open streams --------------------------------------------------------------------------
STREAMS_OK=1
if [ "$STREAMS" -gt 0 ]; then
	say "run       $STREAMS concurrent streams through hearth to a slow upstream (chunk every 500 ms)"
	rc=0
	"$PY" "$ROOT/bench/streams.py" --hearth-port "$HEARTH_PORT" --upstream-port "$SLOW_PORT" \
		--pid "$HEARTH_PID" --model slow --streams "$STREAMS" \
		>"$TMP/streams.out" 2>"$TMP/streams.err" &
	STREAMS_PID=$!
	wait "$STREAMS_PID" || rc=$?
	STREAMS_PID=""
	sed 's/^/          /' "$TMP/streams.err"
	if [ "$rc" -ne 0 ]; then
		STREAMS_OK=0
		err "warning: streams.py exited with status $rc"
	fi
	hearth_alive "the open-streams run"
fi
sv() { sed -n "s/^$1=//p" "$TMP/streams.out" 2>/dev/null | head -n 1; }

# ---- stop hearth cleanly, check the usage records ---------------------------------------------
hearth_log_warn=$(grep -c -i -E 'warn|error|fatal|abort' "$TMP/hearth.log" || true)
kill -TERM "$HEARTH_PID"
rc=0
wait "$HEARTH_PID" || rc=$?
HEARTH_PID=""
[ "$rc" -eq 0 ] || { show_logs; die "hearth exited with status $rc on SIGTERM"; }
usage_rows=$("$PY" - "$TMP/data/hearth.db" <<'EOF' || echo "?"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM usage_records").fetchone()[0])
EOF
)
sent=$(($(nreq warm-through) + $(nreq c1-through) + $(nreq c64-through) + 1))

# ---- figures -------------------------------------------------------------------------------
D50=$(lat_us c1-direct 50) D99=$(lat_us c1-direct 99) D90=$(lat_us c1-direct 90)
T50=$(lat_us c1-through 50) T99=$(lat_us c1-through 99) T90=$(lat_us c1-through 90)
A50=$((T50 - D50)) A99=$((T99 - D99))
R1D=$(rps c1-direct) R1T=$(rps c1-through)
RD=$(rps c64-direct) RT=$(rps c64-through)
RATIO=$(awk -v a="$RT" -v b="$RD" 'BEGIN {printf "%.1f", (b > 0 ? 100 * a / b : 0)}')
P64D50=$(lat_us c64-direct 50) P64T50=$(lat_us c64-through 50)
P64D99=$(lat_us c64-direct 99) P64T99=$(lat_us c64-through 99)
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

say ""
say "== latency, 1 connection (wrk --latency, microseconds)"
printf '%-22s %10s %10s %10s %12s\n' "" p50 p90 p99 requests/s
printf '%-22s %10s %10s %10s %12s\n' "direct (nginx)" "$D50" "$D90" "$D99" "$R1D"
printf '%-22s %10s %10s %10s %12s\n' "through hearth" "$T50" "$T90" "$T99" "$R1T"
printf '%-22s %10s %10s %10s\n' "added by hearth" "$A50" "$((T90 - D90))" "$A99"
say ""
say "== throughput, 64 connections, 2 threads"
printf '%-22s %12s %10s %10s\n' "" requests/s "p50 us" "p99 us"
printf '%-22s %12s %10s %10s\n' "direct (nginx)" "$RD" "$P64D50" "$P64D99"
printf '%-22s %12s %10s %10s\n' "through hearth" "$RT" "$P64T50" "$P64T99"
say "through / direct       $RATIO %"
say "CPU per request        hearth $(us_per_req "$CPU_H64" "$(nreq c64-through)") us (nginx $(us_per_req "$CPU_N64T" "$(nreq c64-through)") us; nginx alone when direct $(us_per_req "$CPU_N64D" "$(nreq c64-direct)") us)"
say "                       hearth at 1 connection: $(us_per_req "$CPU_H1" "$(nreq c1-through)") us (user+system time from /proc)"
say ""
say "== hearth memory (VmRSS)"
say "idle after start       $(mib "$RSS_IDLE") MiB"
say "idle after the wrk runs $(mib "$RSS_LOADED") MiB"
if [ "$STREAMS" -gt 0 ] && [ -s "$TMP/streams.out" ]; then
	say "with $(sv STREAMS_OPEN) of $STREAMS streams open   $(mib "$(sv RSS_STREAMS_KB)") MiB (peak so far $(mib "$(sv HWM_STREAMS_KB)") MiB, $(sv THREADS_STREAMS) threads)"
	say "after closing them     $(mib "$(sv RSS_AFTER_CLOSE_KB)") MiB; upstream calls left open after 10 s: $(sv UPSTREAM_LEFT_AFTER_CLOSE) (cancelled in $(sv UPSTREAM_CANCEL_SECONDS) s)"
	say "streams: opened in $(sv OPEN_SECONDS) s, time to first chunk p50 $(sv TTFC_P50_MS) ms p99 $(sv TTFC_P99_MS) ms, failed $(sv STREAMS_FAILED), ended early $(sv STREAMS_ENDED_EARLY)"
fi
say ""
say "== checks"
say "usage records written   $usage_rows (requests through hearth that wrk counted: $sent, plus the streams)"
say "errors through hearth   ${PROBLEMS:-none} (non-2xx responses or socket errors)"
say "hearth log lines (warn+) $hearth_log_warn"
if [ "$hearth_log_warn" -gt 0 ]; then grep -i -E 'warn|error|fatal|abort' "$TMP/hearth.log" | head -n 5 | sed 's/^/          /'; fi

verdict() { # verdict VALUE OP LIMIT
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "") { print "n/a"; exit }
		ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "PASS" : "MISS" }'
}
row() { printf '%-44s %14s   %-12s %s\n' "$1" "$2" "$3" "$4"; }

say ""
say "== summary (targets from issue 2; a benchmark: the exit status does not depend on them)"
row "figure" "measured" "target" ""
row "added latency p50, 1 connection" "$A50 us" "<= 100 us" "$(verdict "$A50" '<=' 100)"
row "added latency p99, 1 connection" "$A99 us" "<= 1000 us" "$(verdict "$A99" '<=' 1000)"
row "throughput through hearth / direct, 64 conns" "$RATIO %" ">= 40 %" "$(verdict "$RATIO" '>=' 40)"
row "RSS idle after start" "$(mib "$RSS_IDLE") MiB" "<= 20 MiB" "$(verdict "$(mib "$RSS_IDLE")" '<=' 20)"
if [ "$STREAMS" -gt 0 ]; then
	srss=$(sv RSS_STREAMS_KB)
	row "RSS with $STREAMS open streams" "${srss:+$(mib "$srss") MiB}" "<= 64 MiB" \
		"$(verdict "${srss:+$(mib "$srss")}" '<=' 64)$([ "$STREAMS" -ne 1000 ] && echo ' (target is for 1000)')"
fi

if [ "$STREAMS_OK" -ne 1 ]; then
	die "the open-streams run failed (see above and $TMP/streams.err)"
fi
exit 0
