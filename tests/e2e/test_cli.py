# test_cli.py - the hearth command line: --version, --help everywhere, usage errors (exit 2),
# `usage` (table and JSON), `doctor`, `chat`, and `config keys` against docs/config.md.
import datetime
import json
import re

import pytest

from helpers import REPO, SLOW, chat_body, assert_cost, cost_of, run_cli

COMMANDS = ["serve", "chat", "usage", "models", "route", "router", "keys", "users", "teams", "audit",
            "doctor", "reload", "config"]


def test_version():
    p = run_cli(["--version"])
    assert p.returncode == 0, p.stderr
    version = (REPO / "VERSION").read_text().strip()
    assert p.stdout.strip() == "hearth " + version


def test_help_lists_every_command():
    p = run_cli(["--help"])
    assert p.returncode == 0, p.stderr
    for cmd in COMMANDS:
        assert re.search(r"\b%s\b" % cmd, p.stdout), (cmd, p.stdout)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(cmd):
    p = run_cli([cmd, "--help"])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert cmd in p.stdout
    assert len(p.stdout.strip().splitlines()) >= 2


@pytest.mark.parametrize("args", [["frobnicate"], ["--frobnicate"], ["serve", "--frobnicate"],
                                  ["usage", "--frobnicate"]],
                         ids=["command", "global-flag", "serve-flag", "usage-flag"])
def test_unknown_command_or_flag_exits_2_with_a_hint(args):
    p = run_cli(args, timeout=20 * SLOW)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert args[-1] in p.stderr or "unknown" in p.stderr.lower(), p.stderr
    assert "help" in p.stderr.lower(), p.stderr


def _today():
    return {datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            datetime.date.today().isoformat()}


@pytest.fixture
def used(hearth):
    """A server that has answered two echo requests, one failure and one estimate."""
    for text in ("a b", "c d e"):
        assert hearth.chat(chat_body("echo", text)).status == 200
    assert hearth.chat(chat_body("server-error", "boom")).status == 502
    assert hearth.chat(chat_body("no-usage", "guess my tokens")).status == 200
    return hearth


def test_usage_json(used):
    p = used.cli("usage", "--config", used.config_path, "--json")
    assert p.returncode == 0, (p.stdout, p.stderr)
    data = json.loads(p.stdout)["data"]
    by_model = {d["model"]: d for d in data}
    for d in data:
        assert set(d) >= {"period", "model", "requests", "errors", "prompt_tokens",
                          "completion_tokens", "cost_usd", "estimated"}, d
        assert d["period"][:10] in _today(), d
    echo = by_model["echo"]
    assert (echo["requests"], echo["errors"]) == (2, 0)
    # "a b" -> 2 prompt, 3 completion; "c d e" -> 3 prompt, 4 completion
    assert (echo["prompt_tokens"], echo["completion_tokens"]) == (5, 7)
    assert_cost(echo["cost_usd"], cost_of(5, 7))
    assert not echo["estimated"]
    err = by_model["server-error"]
    assert (err["requests"], err["errors"]) == (1, 1)
    assert by_model["no-usage"]["estimated"]


def test_usage_table(used):
    p = used.cli("usage", "--config", used.config_path)
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if re.search(r"(^|\s)echo(\s|$)", ln)]
    assert len(lines) == 1, p.stdout
    line = lines[0]
    assert any(d in p.stdout for d in _today()), p.stdout
    numbers = re.findall(r"\d+(?:\.\d+)?", line)
    assert "2" in numbers, line  # requests
    assert ("5" in numbers and "7" in numbers) or "12" in numbers, line  # tokens
    assert "server-error" in p.stdout


def test_doctor_ok(hearth_factory):
    def no_dead(cfg):
        del cfg["providers"]["dead"]
        del cfg["models"]["dead-model"]
    h = hearth_factory(no_dead, start=False)
    h.data_dir.mkdir(parents=True, exist_ok=True)
    p = h.cli("doctor", "--config", h.config_path)
    assert p.returncode == 0, (p.stdout, p.stderr)


def test_doctor_names_the_unreachable_provider(hearth_factory):
    h = hearth_factory(start=False)
    h.data_dir.mkdir(parents=True, exist_ok=True)
    p = h.cli("doctor", "--config", h.config_path)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert re.search(r"\bdead\b", p.stdout + p.stderr), (p.stdout, p.stderr)


def test_doctor_reports_unwritable_storage(hearth_factory, tmp_path):
    blocker = tmp_path / "a-file-not-a-dir"
    blocker.write_text("in the way\n")

    def bad_storage(cfg):
        del cfg["providers"]["dead"]
        del cfg["models"]["dead-model"]
        cfg["storage"]["data_dir"] = str(blocker / "data")
    h = hearth_factory(bad_storage, start=False)
    p = h.cli("doctor", "--config", h.config_path)
    out = p.stdout + p.stderr
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert str(blocker) in out or "storage" in out.lower(), out


def test_doctor_reports_an_invalid_config(hearth_factory):
    h = hearth_factory(start=False)
    h.write_config(text="server:\n  port: \"not-a-port\"\n")
    p = h.cli("doctor", "--config", h.config_path)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "server.port" in p.stdout + p.stderr


def test_chat_streams_the_answer(hearth, fake):
    p = hearth.cli("chat", "hello from the command line", "--url", hearth.url, "--model", "echo")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "echo: hello from the command line" in p.stdout
    [up] = fake.chat_requests()
    assert up["body"]["stream"] is True


def test_chat_unknown_model_prints_the_servers_error(hearth):
    expected = hearth.chat(chat_body("no-such-model", "hi")).json()["error"]["message"]
    p = hearth.cli("chat", "hi", "--url", hearth.url, "--model", "no-such-model")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert expected in p.stdout + p.stderr, (expected, p.stdout, p.stderr)


def _config_keys():
    p = run_cli(["config", "keys"])
    assert p.returncode == 0, p.stderr
    keys = []
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        assert len(parts) == 3, "not '<key>\\t<default>\\t<doc>': %r" % line
        assert parts[2].strip(), "key without documentation: %r" % line
        keys.append(parts[0])
    return keys


def test_config_keys_are_documented():
    keys = _config_keys()
    assert len(keys) >= 10
    for k in ("server.port", "server.host", "providers.<id>.base_url",
              "models.<name>.input_price_per_mtok", "storage.data_dir"):
        assert k in keys, k
    doc = REPO / "docs" / "config.md"
    assert doc.is_file(), "docs/config.md is missing"
    text = doc.read_text()
    missing = [k for k in keys if "`%s`" % k not in text]
    assert not missing, "keys not documented in docs/config.md: %s" % missing


def test_every_key_the_suite_uses_is_a_config_key(hearth_factory):
    keys = set(_config_keys())
    h = hearth_factory(start=False)

    def flatten(d, prefix=""):
        for k, v in d.items():
            if prefix == "providers.":
                k = "<id>"
            elif prefix == "models.":
                k = "<name>"
            if isinstance(v, dict):
                yield from flatten(v, prefix + k + ".")
            else:
                yield prefix + k
    used = set(flatten(h.config))
    assert used - keys == set()
