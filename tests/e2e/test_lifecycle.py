# test_lifecycle.py - the process over time: graceful SIGTERM that drains in-flight streams,
# the pid file, usage data that survives a restart, a port already in use.
import signal
import threading

from helpers import SLOW, chat_body, wait_until


def test_sigterm_drains_in_flight_stream_then_exits_0(hearth, fake):
    result = {}

    def run():
        try:
            result["r"] = hearth.stream(chat_body("slow-stream", "finish me", stream=True),
                                        timeout=30 * SLOW)
        except Exception as e:  # reported below
            result["exc"] = e
    t = threading.Thread(target=run)
    t.start()
    try:
        assert fake.wait_for(lambda reqs: any(len(q["sent"]) >= 3 for q in reqs), 5 * SLOW), \
            "the stream never started"
        hearth.signal(signal.SIGTERM)

        def not_ready():
            try:
                return hearth.get("/readyz", timeout=2).status == 503
            except OSError:  # refused or reset: the listener is gone
                return True
        assert wait_until(not_ready, 5 * SLOW), "/readyz still 200 after SIGTERM"

        def refused():
            try:
                return hearth.chat(chat_body("echo", "too late"), timeout=3 * SLOW).status == 503
            except OSError:
                return True
        in_flight = t.is_alive()
        was_refused = wait_until(refused, 3 * SLOW)
    finally:
        t.join(30 * SLOW)
    # let it exit on its own first, so a hang or a crash shows as such
    try:
        code = hearth.wait_exit()
    except AssertionError as e:
        code = str(e)
    assert "r" in result, "the streaming client failed: %r" % result.get("exc")
    r, sse = result["r"]
    assert r.status == 200, r
    assert sse.done, "the in-flight stream was cut by the shutdown: %r" % sse.items[-2:]
    assert sse.error is None
    assert sse.content() == "".join("w%d " % i for i in range(30))
    assert code == 0, code
    assert was_refused, "a new request was served after SIGTERM"
    assert in_flight, "the stream ended before the refusal could be checked"
    # its usage record was written before the exit
    assert hearth.record(r.header("X-Request-Id")) is not None


def test_sigterm_when_idle_exits_0(hearth):
    assert hearth.chat(chat_body("echo", "one request")).status == 200
    hearth.signal(signal.SIGTERM)
    assert hearth.wait_exit() == 0


def test_pid_file(hearth):
    pid_file = hearth.data_dir / "hearth.pid"
    assert pid_file.is_file()
    assert int(pid_file.read_text().strip()) == hearth.pid


def test_usage_survives_a_restart(hearth_factory):
    h = hearth_factory(name="first")
    r = h.chat(chat_body("echo", "remember me"))
    assert r.status == 200, r
    rid = r.header("X-Request-Id")
    h.stop()

    def same_data(cfg):
        cfg["storage"]["data_dir"] = str(h.data_dir)
    h2 = hearth_factory(same_data, name="second")
    rec = h2.record(rid)
    assert rec is not None and rec["model_asked"] == "echo"
    r2 = h2.chat(chat_body("echo", "and me"))
    assert r2.status == 200
    assert r2.header("X-Request-Id") != rid
    assert h2.record(r2.header("X-Request-Id")) is not None


def test_database_uses_wal(hearth):
    [row] = hearth.rows("PRAGMA journal_mode")
    assert list(row.values())[0].lower() == "wal"


def test_port_in_use_is_reported(hearth, hearth_factory):
    def same_port(cfg):
        cfg["server"]["port"] = hearth.port
    h2 = hearth_factory(same_port, start=False, name="clash")
    h2.start(wait=False)
    code = h2.wait_exit(timeout=20 * SLOW)
    assert code != 0
    assert str(hearth.port) in h2.stderr_text()
    assert hearth.get("/healthz").status == 200
