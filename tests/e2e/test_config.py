# test_config.py - the config file as a user meets it: errors naming file, line and key;
# env:/file: secrets and ${VAR} interpolation; SIGHUP and `hearth reload` swapping the config.
import copy
import re
import signal
import threading

import pytest

from helpers import (FAKE_KEY, PRICE_IN, PRICE_OUT, SLOW, chat_body, run_cli, to_yaml,
                     wait_until)


def _line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in config" % needle)


def _serve_expecting_error(h, text):
    h.write_config(text=text)
    p = run_cli(["serve", "--config", h.config_path], cwd=h.root, env=h.env, timeout=20 * SLOW)
    return p


def _literal_key(cfg):
    cfg["providers"]["fake"]["api_key"] = "sk-literal-e2e-0001"
    return "providers.fake.api_key", '"sk-literal-e2e-0001"'


def _port_string(cfg):
    cfg["server"]["port"] = "not-a-port"
    return "server.port", '"not-a-port"'


def _port_range(cfg):
    cfg["server"]["port"] = 70000
    return "server.port", "70000"


def _unknown_provider(cfg):
    cfg["models"]["echo"]["provider"] = "nowhere-provider"
    return "models.echo.provider", '"nowhere-provider"'


def _unknown_key(cfg):
    cfg["server"]["listen_port_typo"] = 4242
    return "server.listen_port_typo", "listen_port_typo"


def _bad_price(cfg):
    cfg["models"]["echo"]["input_price_per_mtok"] = "cheap"
    return "models.echo.input_price_per_mtok", '"cheap"'


@pytest.mark.parametrize("mutate", [_literal_key, _port_string, _port_range, _unknown_provider,
                                    _unknown_key, _bad_price],
                         ids=["literal-api-key", "port-string", "port-range",
                              "unknown-provider", "unknown-key", "price-string"])
def test_config_error_names_file_line_and_key(hearth_factory, mutate):
    h = hearth_factory(start=False)
    cfg = copy.deepcopy(h.config)
    key, needle = mutate(cfg)
    text = to_yaml(cfg) + "\n"
    line = _line_of(text, needle)
    p = _serve_expecting_error(h, text)
    assert p.returncode == 1, (p.returncode, p.stderr)
    want = "%s:%d: %s: " % (h.config_path, line, key)
    assert want in p.stderr, "expected %r in stderr:\n%s" % (want, p.stderr)


def test_literal_key_error_does_not_echo_the_secret(hearth_factory):
    h = hearth_factory(start=False)
    cfg = copy.deepcopy(h.config)
    _literal_key(cfg)
    p = _serve_expecting_error(h, to_yaml(cfg) + "\n")
    assert p.returncode == 1
    assert "sk-literal-e2e-0001" not in p.stderr + p.stdout


def test_yaml_syntax_error_names_the_line(hearth_factory):
    h = hearth_factory(start=False)
    text = "server:\n  host: 127.0.0.1\n  port: [1, 2\nlog: {level: debug}\n"
    p = _serve_expecting_error(h, text)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert re.search(r"%s:\d+: " % re.escape(str(h.config_path)), p.stderr), p.stderr


def test_missing_config_file(hearth_factory):
    h = hearth_factory(start=False)
    missing = h.root / "nope.yaml"
    p = run_cli(["serve", "--config", missing], cwd=h.root, env=h.env, timeout=20 * SLOW)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert str(missing) in p.stderr


def test_file_secret(hearth_factory, fake, tmp_path):
    keyfile = tmp_path / "fake.key"
    keyfile.write_text(FAKE_KEY + "\n")
    keyfile.chmod(0o600)

    def use_file(cfg):
        cfg["providers"]["fake"]["api_key"] = "file:%s" % keyfile
    h = hearth_factory(use_file, env={"FAKE_KEY": "not-this-one"})
    r = h.chat(chat_body("echo", "key from a file"))
    assert r.status == 200, r
    [up] = fake.chat_requests()
    assert up["headers"]["authorization"] == "Bearer " + FAKE_KEY


def test_env_interpolation(hearth_factory, fake):
    def interpolate(cfg):
        cfg["providers"]["fake"]["base_url"] = "http://127.0.0.1:${E2E_FAKE_PORT}/v1"
    h = hearth_factory(interpolate, env={"E2E_FAKE_PORT": str(fake.port)})
    r = h.chat(chat_body("echo", "interpolated"))
    assert r.status == 200, r
    assert len(fake.chat_requests()) == 1


def _with_model(cfg, name, upstream="echo-upstream"):
    cfg = copy.deepcopy(cfg)
    cfg["models"][name] = {"provider": "fake", "upstream": upstream,
                           "input_price_per_mtok": PRICE_IN, "output_price_per_mtok": PRICE_OUT}
    return cfg


def test_sighup_reloads_the_config(hearth):
    cfg = _with_model(hearth.config, "echo-two")
    del cfg["models"]["huge"]
    hearth.write_config(cfg)
    hearth.signal(signal.SIGHUP)
    assert wait_until(lambda: "echo-two" in hearth.model_ids(), 5 * SLOW), hearth.model_ids()
    assert "huge" not in hearth.model_ids()
    r = hearth.chat(chat_body("echo-two", "new model"))
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "echo-two"
    assert r.json()["choices"][0]["message"]["content"] == "echo: new model"
    r = hearth.chat(chat_body("huge", "gone"))
    assert r.status == 404, r


def test_invalid_reload_keeps_the_old_config(hearth):
    before = sorted(hearth.model_ids())
    logged = len(hearth.stderr_text())
    cfg = _with_model(hearth.config, "echo-three")
    cfg["providers"]["fake"]["api_key"] = "sk-literal-e2e-0002"
    hearth.write_config(cfg)
    hearth.signal(signal.SIGHUP)
    assert wait_until(lambda: "api_key" in hearth.stderr_text()[logged:], 5 * SLOW), \
        "the refused reload was not logged:\n" + hearth.stderr_text()[logged:]
    assert "sk-literal-e2e-0002" not in hearth.stderr_text()
    assert hearth.running()
    assert sorted(hearth.model_ids()) == before
    r = hearth.chat(chat_body("echo", "old config"))
    assert r.status == 200, r
    # and a later good file is taken
    cfg = _with_model(cfg, "echo-four")
    cfg["providers"]["fake"]["api_key"] = "env:FAKE_KEY"
    hearth.write_config(cfg)
    hearth.signal(signal.SIGHUP)
    assert wait_until(lambda: "echo-four" in hearth.model_ids(), 5 * SLOW)


def test_reload_command(hearth):
    hearth.write_config(_with_model(hearth.config, "echo-cli"))
    p = hearth.cli("reload", "--config", hearth.config_path)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert wait_until(lambda: "echo-cli" in hearth.model_ids(), 5 * SLOW), hearth.model_ids()
    r = hearth.chat(chat_body("echo-cli", "reloaded by command"))
    assert r.status == 200, r


def test_reload_does_not_drop_a_request_in_flight(hearth, fake):
    result = {}

    def run():
        try:
            result["r"] = hearth.stream(chat_body("slow-stream", "during reload", stream=True))
        except Exception as e:  # reported below
            result["exc"] = e
    t = threading.Thread(target=run)
    t.start()
    try:
        cfg = _with_model(hearth.config, "echo-five")
        cfg["models"]["slow-stream"]["output_price_per_mtok"] = 9.0
        assert fake.wait_for(lambda reqs: any(len(q["sent"]) >= 3 for q in reqs), 5 * SLOW)
        hearth.write_config(cfg)
        hearth.signal(signal.SIGHUP)
        assert wait_until(lambda: "echo-five" in hearth.model_ids(), 5 * SLOW)
    finally:
        t.join(30 * SLOW)
    assert "r" in result, "the streaming client failed: %r" % result.get("exc")
    r, sse = result["r"]
    assert r.status == 200, r
    assert sse.done and sse.error is None
    assert sse.content() == "".join("w%d " % i for i in range(30))
