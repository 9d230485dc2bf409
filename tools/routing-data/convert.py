#!/usr/bin/env python3
"""Convert the public routing sets into hearth's outcome format (JSON Lines).

One prompt per line:

    {"id": "...", "prompt": "...", "task": "...",
     "outcomes": {"<model>": {"score": 0.0-1.0, "cost": dollars}, ...}}

Sets (read from --src, written to --out):

    mmlu         routellm-mmlu/      -> mmlu.jsonl
    mtbench      routellm-mtbench/   -> mtbench.jsonl
    routerbench  routerbench/        -> routerbench.jsonl

Standard-library Python 3.11 only. The output is deterministic: lines in a fixed order
(sorted file names, then the source's own row order), stable ids, sorted keys. See
tools/routing-data/README.md for the decisions behind each converter.
"""
import argparse
import ast
import csv
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SRC = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data", "routing"))
DEFAULT_OUT = os.path.join("build", "routing-data")

MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
GPT4 = "gpt-4-1106-preview"
ROUTELLM_PAIR = (MIXTRAL, GPT4)  # (weak, strong), as in RouteLLM's evaluations

SETS = ("mmlu", "mtbench", "routerbench")


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------------------- helpers

def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ConvertError("%s:%d: not JSON: %s" % (path, n, e))
    return out


def contaminated_prompts(path):
    """RouteLLM's contaminated_prompts.jsonl: the `eval_prompt` of each entry, matched by
    exact text (RouteLLM's benchmarks.py does `isin(eval_prompt)`, no normalisation)."""
    if not os.path.isfile(path):
        raise ConvertError("missing %s" % path)
    return {row["eval_prompt"] for row in read_jsonl(path)}


def need_dir(path):
    if not os.path.isdir(path):
        raise ConvertError("missing directory %s" % path)
    return path


def score01(value, where):
    if not 0.0 <= value <= 1.0:
        raise ConvertError("%s: score %r outside [0, 1]" % (where, value))
    return value


# ---------------------------------------------------------------------------- MMLU

def convert_mmlu(src):
    """routellm-mmlu/responses/mmlu_<subject>.csv -> one line per prompt.

    Columns: prompt, <Mixtral>, <GPT-4> with True/False (answered correctly). Prompts listed
    in contaminated_prompts.jsonl are dropped, exactly as RouteLLM's MMLU benchmark does.
    Ids are mmlu/<subject>/<row> with <row> the 0-based data row in the subject's CSV
    (before decontamination, so ids do not move when the list changes)."""
    base = need_dir(os.path.join(src, "routellm-mmlu"))
    files = sorted(glob.glob(os.path.join(base, "responses", "mmlu_*.csv")))
    if not files:
        raise ConvertError("no mmlu_*.csv under %s" % os.path.join(base, "responses"))
    contaminated = contaminated_prompts(os.path.join(base, "contaminated_prompts.jsonl"))
    rows, dropped, seen_contaminated = [], 0, set()
    for path in files:
        subject = os.path.basename(path)[len("mmlu_"):-len(".csv")]
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            if header != ["prompt", MIXTRAL, GPT4]:
                raise ConvertError("%s: unexpected header %r" % (path, header))
            for n, rec in enumerate(reader):
                prompt = rec[0]
                if prompt in contaminated:
                    dropped += 1
                    seen_contaminated.add(prompt)
                    continue
                outcomes = {}
                for model, cell in zip(header[1:], rec[1:]):
                    if cell not in ("True", "False"):
                        raise ConvertError("%s row %d: %s is %r, not True/False"
                                           % (path, n, model, cell))
                    outcomes[model] = {"score": 1.0 if cell == "True" else 0.0}
                rows.append({"id": "mmlu/%s/%d" % (subject, n), "prompt": prompt,
                             "task": subject, "outcomes": outcomes})
    notes = ["%d subject files" % len(files),
             "contaminated: %d of %d listed prompts found here, %d rows dropped"
             % (len(seen_contaminated), len(contaminated), dropped)]
    return rows, {"dropped_contaminated": dropped, "notes": notes}


# ---------------------------------------------------------------------------- MT-Bench

def mtbench_score(s):
    """MT-Bench's GPT-4 judge scores 1..10 -> [0, 1] as (s - 1) / 9 (1 -> 0.0, 10 -> 1.0)."""
    return (s - 1.0) / 9.0


def convert_mtbench(src):
    """routellm-mtbench/{question,judgements}.jsonl -> one line per question.

    Follows RouteLLM's MTBench benchmark: a question is dropped when either of its turns is
    in contaminated_prompts.jsonl; the router sees the first turn only (the `prompt`); a
    model's result on a question is the mean of its judge scores over both turns (RouteLLM
    averages the two judgement rows per question). Scores map to [0, 1] as (s - 1) / 9."""
    base = need_dir(os.path.join(src, "routellm-mtbench"))
    questions = read_jsonl(os.path.join(base, "question.jsonl"))
    judgements = read_jsonl(os.path.join(base, "judgements.jsonl"))
    contaminated = contaminated_prompts(os.path.join(base, "contaminated_prompts.jsonl"))

    by_q = {}
    for j in judgements:
        key = (j["question_id"], j["model"], j["turn"])
        if key in by_q:
            raise ConvertError("judgements.jsonl: two judgements for %r" % (key,))
        s = float(j["score"])
        if not 1.0 <= s <= 10.0:
            raise ConvertError("judgements.jsonl: score %r for %r outside 1..10" % (s, key))
        by_q[key] = s
    models = sorted({m for (_, m, _) in by_q})

    rows, dropped = [], 0
    for q in sorted(questions, key=lambda q: q["question_id"]):
        qid, turns = q["question_id"], q["turns"]
        if any(t in contaminated for t in turns[:2]):
            dropped += 1
            continue
        outcomes = {}
        for m in models:
            ss = [by_q.get((qid, m, t)) for t in (1, 2)]
            if None in ss:
                raise ConvertError("judgements.jsonl: question %d lacks a turn for %s" % (qid, m))
            outcomes[m] = {"score": score01(mtbench_score(sum(ss) / 2.0), "mtbench %d" % qid)}
        row = {"id": "mtbench/%d" % qid, "prompt": turns[0], "outcomes": outcomes}
        if q.get("category"):
            row["task"] = q["category"]
        rows.append(row)
    notes = ["%d questions, %d judgements, judged models: %s"
             % (len(questions), len(judgements), ", ".join(models)),
             "contaminated: %d listed prompts, %d questions dropped" % (len(contaminated), dropped),
             "score = (mean judge score over both turns - 1) / 9; on the 1-10 scale: %s"
             % ", ".join("%s %.3f" % (m, 1 + 9 * mean([r["outcomes"][m]["score"] for r in rows]))
                         for m in models)]
    return rows, {"dropped_contaminated": dropped, "notes": notes}


# ---------------------------------------------------------------------------- RouterBench

def routerbench_prompt(cell, where):
    """RouterBench stores each prompt as a Python list literal of strings (usually one)."""
    try:
        parts = ast.literal_eval(cell)
    except (ValueError, SyntaxError) as e:
        raise ConvertError("%s: prompt is not a list literal: %s" % (where, e))
    if isinstance(parts, str):
        return parts, 1
    if not isinstance(parts, (list, tuple)) or not parts or \
            not all(isinstance(p, str) for p in parts):
        raise ConvertError("%s: prompt is not a list of strings" % where)
    uniq = list(dict.fromkeys(parts))  # a repeated message is one prompt
    return "\n\n".join(uniq), len(parts)


def convert_routerbench(src):
    """routerbench/*.csv -> one line per sample_id, with score and cost for each model.

    A few ARC rows are split: the same sample_id appears twice, GPT-3.5's result on one row
    (its prompt list repeated twice) and the ten other models' on the other. Those are
    merged (the single-message prompt is kept). Rows still lacking a model's score after the
    merge are dropped, so every line has all models."""
    base = need_dir(os.path.join(src, "routerbench"))
    files = sorted(glob.glob(os.path.join(base, "*.csv")))
    if not files:
        raise ConvertError("no *.csv under %s" % base)
    csv.field_size_limit(sys.maxsize)
    order, merged, models = [], {}, None
    raw = 0
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames
            ms = [c for c in cols if c and "|" not in c and
                  c not in ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")]
            if models is None:
                models = sorted(ms)
            elif sorted(ms) != models:
                raise ConvertError("%s: models %r differ from %r" % (path, ms, models))
            for m in models:
                if m + "|total_cost" not in cols:
                    raise ConvertError("%s: no %s|total_cost column" % (path, m))
            for n, rec in enumerate(reader):
                raw += 1
                where = "%s row %d" % (os.path.basename(path), n)
                sid = rec["sample_id"]
                prompt, nparts = routerbench_prompt(rec["prompt"], where)
                outcomes = {}
                for m in models:
                    s, c = rec[m].strip(), rec[m + "|total_cost"].strip()
                    if s == "":
                        continue
                    try:
                        sf, cf = float(s), float(c)
                    except ValueError:
                        raise ConvertError("%s: %s score %r / cost %r not numbers" % (where, m, s, c))
                    if cf < 0:
                        raise ConvertError("%s: %s cost %r < 0" % (where, m, cf))
                    outcomes[m] = {"score": score01(sf, where), "cost": cf}
                if sid not in merged:
                    order.append(sid)
                    merged[sid] = {"id": "routerbench/" + sid, "prompt": prompt,
                                   "task": rec["eval_name"], "outcomes": outcomes,
                                   "_nparts": nparts}
                    continue
                row = merged[sid]
                if row["task"] != rec["eval_name"]:
                    raise ConvertError("%s: %s in two tasks" % (where, sid))
                for m, o in outcomes.items():
                    if m in row["outcomes"]:
                        raise ConvertError("%s: %s has two results for %s" % (where, sid, m))
                    row["outcomes"][m] = o
                if nparts < row["_nparts"]:
                    row["prompt"], row["_nparts"] = prompt, nparts
    rows, incomplete = [], []
    for sid in order:
        row = merged.pop(sid)
        row.pop("_nparts")
        if len(row["outcomes"]) != len(models):
            incomplete.append(sid)
            continue
        rows.append(row)
    merged_n = raw - len(order)
    notes = ["%d CSV rows in %d files; %d split rows merged by sample_id; "
             "%d rows dropped for lacking a model's score (%s)"
             % (raw, len(files), merged_n, len(incomplete), ", ".join(incomplete) or "-")]
    # The per-prompt oracle: best score, cheapest model among the best.
    osc, oco = [], []
    for r in rows:
        best = max(o["score"] for o in r["outcomes"].values())
        osc.append(best)
        oco.append(min(o["cost"] for o in r["outcomes"].values() if o["score"] == best))
    if rows:
        notes.append("oracle (best score, cheapest among ties): score %.4f, cost $%.6f"
                     % (mean(osc), mean(oco)))
    return rows, {"dropped_contaminated": None, "dropped_incomplete": len(incomplete),
                  "notes": notes}


# ---------------------------------------------------------------------------- driver

CONVERTERS = {
    "mmlu": ("mmlu.jsonl", convert_mmlu),
    "mtbench": ("mtbench.jsonl", convert_mtbench),
    "routerbench": ("routerbench.jsonl", convert_routerbench),
}


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
            f.write("\n")
    os.replace(tmp, path)


def summary(name, path, rows, info, out):
    models = sorted({m for r in rows for m in r["outcomes"]})
    tasks = sorted({r.get("task") for r in rows if r.get("task")})
    print("== %s -> %s" % (name, path), file=out)
    print("rows: %d   models: %d   tasks: %d" % (len(rows), len(models), len(tasks)), file=out)
    for note in info.get("notes", []):
        print("  " + note, file=out)
    width = max(len(m) for m in models) if models else 10
    for m in models:
        ss = [r["outcomes"][m]["score"] for r in rows if m in r["outcomes"]]
        cs = [r["outcomes"][m]["cost"] for r in rows
              if m in r["outcomes"] and "cost" in r["outcomes"][m]]
        line = "  %-*s  mean score %.4f  (n=%d)" % (width, m, mean(ss), len(ss))
        if cs:
            line += "  mean cost $%.6f" % mean(cs)
        print(line, file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="convert.py",
        description="Convert the public routing sets (RouteLLM MMLU and MT-Bench, RouterBench) "
                    "into hearth's outcome format, JSON Lines with one prompt per line.")
    ap.add_argument("sets", nargs="*", metavar="SET",
                    help="which sets: %s or all (default: all)" % ", ".join(SETS))
    ap.add_argument("--src", default=DEFAULT_SRC,
                    help="the routing data directory (default: ../shared/data/routing beside "
                         "the repository, i.e. %(default)s)")
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="output directory (default: %(default)s); writes mmlu.jsonl, "
                         "mtbench.jsonl, routerbench.jsonl")
    ap.add_argument("--quiet", action="store_true", help="no summary")
    args = ap.parse_args(argv)
    for s in args.sets:
        if s not in SETS + ("all",):
            ap.error("unknown set %r (choose from %s, all)" % (s, ", ".join(SETS)))
    sets = [s for s in SETS if s in args.sets or "all" in args.sets or not args.sets]

    src = os.path.abspath(args.src)
    if not os.path.isdir(src):
        print("convert.py: routing data not found at %s (pass --src DIR; see "
              "tools/routing-data/README.md)" % src, file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    out = open(os.devnull, "w") if args.quiet else sys.stdout
    for name in sets:
        fname, fn = CONVERTERS[name]
        try:
            rows, info = fn(src)
        except ConvertError as e:
            print("convert.py: %s: %s" % (name, e), file=sys.stderr)
            return 1
        path = os.path.join(args.out, fname)
        write_jsonl(path, rows)
        summary(name, path, rows, info, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
