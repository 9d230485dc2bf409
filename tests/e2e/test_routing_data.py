# test_routing_data.py - tools/routing-data/convert.py against the public routing sets in
# ../shared/data/routing: every line is in the outcome format, RouteLLM's contaminated
# prompts are gone, the output is deterministic. Skips where the data is absent.
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONVERT = REPO / "tools" / "routing-data" / "convert.py"
# ../shared/data/routing beside the repository, as convert.py defaults to; HEARTH_ROUTING_DATA
# points the test at another copy.
SRC = Path(os.environ.get("HEARTH_ROUTING_DATA")
           or REPO.parent / "shared" / "data" / "routing").resolve()

MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
GPT4 = "gpt-4-1106-preview"
FILES = {"mmlu": "mmlu.jsonl", "mtbench": "mtbench.jsonl", "routerbench": "routerbench.jsonl"}


def need_data():
    if not SRC.is_dir():
        pytest.skip("public routing data not found at %s (absent on a fresh machine; "
                    "see tools/routing-data/README.md)" % SRC)


def run(*args):
    return subprocess.run([sys.executable, str(CONVERT), *args], capture_output=True,
                          text=True, timeout=60)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    need_data()
    out = tmp_path_factory.mktemp("routing-data")
    p = run("--src", str(SRC), "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out, p.stdout


def contaminated(name):
    return {json.loads(line)["eval_prompt"]
            for line in open(SRC / name / "contaminated_prompts.jsonl", encoding="utf-8")
            if line.strip()}


def check_line(row, where):
    assert set(row) <= {"id", "prompt", "task", "outcomes"}, where
    assert isinstance(row["id"], str) and row["id"], where
    assert isinstance(row["prompt"], str) and row["prompt"].strip(), where
    if "task" in row:
        assert isinstance(row["task"], str) and row["task"], where
    assert isinstance(row["outcomes"], dict) and row["outcomes"], where
    for model, o in row["outcomes"].items():
        assert isinstance(model, str) and model, where
        assert isinstance(o, dict) and set(o) <= {"score", "cost", "latency_ms"}, where
        s = o["score"]
        assert isinstance(s, float) and math.isfinite(s) and 0.0 <= s <= 1.0, (where, model, s)
        for k in ("cost", "latency_ms"):
            if k in o:
                assert isinstance(o[k], (int, float)) and math.isfinite(o[k]) and o[k] >= 0, \
                    (where, model, k)


def test_every_line_is_in_the_outcome_format(converted):
    out, _ = converted
    for name, fname in FILES.items():
        rows = read_jsonl(out / fname)
        assert len(rows) > 0, name
        ids = [r["id"] for r in rows]
        assert len(set(ids)) == len(ids), "%s: duplicate ids" % name
        for n, r in enumerate(rows):
            check_line(r, "%s line %d" % (fname, n + 1))
            assert r["id"].startswith(name + "/"), r["id"]


def test_models_and_tasks_per_set(converted):
    out, _ = converted
    for name in ("mmlu", "mtbench"):
        rows = read_jsonl(out / FILES[name])
        assert all(set(r["outcomes"]) == {MIXTRAL, GPT4} for r in rows), name
        assert all(r.get("task") for r in rows), name
    mmlu = read_jsonl(out / FILES["mmlu"])
    assert all(r["outcomes"][m]["score"] in (0.0, 1.0) for r in mmlu for m in r["outcomes"])
    assert all(r["id"] == "mmlu/%s/%s" % (r["task"], r["id"].rsplit("/", 1)[1]) for r in mmlu)
    rb = read_jsonl(out / FILES["routerbench"])
    models = set(rb[0]["outcomes"])
    assert len(models) == 11 and GPT4 in models
    assert all(set(r["outcomes"]) == models for r in rb)
    assert all("cost" in o for r in rb for o in r["outcomes"].values())
    assert {r["task"] for r in rb} == {"arc-challenge", "mbpp", "winogrande"}
    # RouterBench prompts are stored as Python list literals; the converter unwraps them.
    assert not any(r["prompt"].startswith(("['", '["')) for r in rb)


def test_contaminated_prompts_are_absent(converted):
    out, _ = converted
    bad = contaminated("routellm-mmlu")
    mmlu = read_jsonl(out / FILES["mmlu"])
    assert not bad & {r["prompt"] for r in mmlu}

    bad = contaminated("routellm-mtbench")
    questions = read_jsonl(SRC / "routellm-mtbench" / "question.jsonl")
    dropped = {"mtbench/%d" % q["question_id"] for q in questions
               if any(t in bad for t in q["turns"])}
    assert dropped, "the MT-Bench list should match some questions"
    mt = read_jsonl(out / FILES["mtbench"])
    assert not dropped & {r["id"] for r in mt}
    assert not bad & {r["prompt"] for r in mt}
    assert len(mt) == len(questions) - len(dropped)


def test_summary_and_determinism(converted, tmp_path):
    out, stdout = converted
    for name, fname in FILES.items():
        assert "== %s" % name in stdout
    assert "mean score" in stdout and "mean cost" in stdout and "dropped" in stdout
    p = run("--src", str(SRC), "--out", str(tmp_path), "--quiet")
    assert p.returncode == 0, p.stderr
    for fname in FILES.values():
        assert (tmp_path / fname).read_bytes() == (out / fname).read_bytes(), fname


def test_missing_source_names_the_path(tmp_path):
    missing = tmp_path / "no-such-routing-dir"
    p = run("--src", str(missing), "--out", str(tmp_path / "out"))
    assert p.returncode != 0
    assert str(missing) in p.stderr
    assert not (tmp_path / "out").exists()
