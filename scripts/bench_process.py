"""Whole-process speed as a user feels it: ``mtqa score`` on 30 articles and ``mtqa check`` on one, cold.

    .venv/bin/python scripts/bench_process.py score [--benchmarks ../shared/benchmarks] [--articles 30]
        [--configs NAME:FLAGS ...] [--json FILE]
    .venv/bin/python scripts/bench_process.py check [--article PATH] [--repeat 5] [--configs NAME:FLAGS ...]

``score``: the first ``--articles`` MQM test articles (one document and system each, its rated segments as
paragraphs: 30 articles are 300 segments) are written as text files, then each configuration runs as a fresh
process, model load included, score cache off (``--no-cache``), model cache warm: ``mtqa score DIR --out OUT``
with the configuration's flags, and the plain per-sentence transformers loop a first attempt would write
(AutoTokenizer and AutoModelForCausalLM from the model cache, one segment at a time, full log-softmax). Each
is run once, in turn, in one invocation; the table gives seconds and the speed-up over the plain loop.

``check``: ``mtqa check ARTICLE --no-cache`` (default: a ~1.3 kB real-world dev case) ``--repeat`` times per
configuration, median and best wall time, then where the time goes in one extra run of the default
(``python -X importtime``: imports; and the process's own stages, timed from inside).

Configurations are ``NAME:FLAGS`` with the flags as ``mtqa`` takes them, e.g. ``bf16:--precision bf16``
``onnx:--backend onnx`` ``previous:--config previous.toml``. Figures go in docs/performance.md; run it on
an idle machine, nothing else running.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_CHECK_ARTICLE = "realworld_dev/cases/az-az24saat-governors-resign.txt"

#: The plain loop, as a separate process: what a first attempt at per-sentence LM scoring looks like.
NAIVE = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
folder, sentences = sys.argv[1], json.load(open(sys.argv[2]))
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder).eval()
start = tok.convert_tokens_to_ids("<|endoftext|>")
loaded = time.perf_counter()
total = 0.0
with torch.inference_mode():
    for s in sentences:
        ids = torch.tensor([[start, *tok(s, add_special_tokens=False)["input_ids"]]])
        logits = model(input_ids=ids).logits[0, :-1]
        total += torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None]).sum().item()
print(json.dumps({"load_s": loaded - t0, "score_s": time.perf_counter() - loaded}))
"""


def _configs(texts: list[str]) -> list[tuple[str, list[str]]]:
    return [(name, shlex.split(flags)) for name, _, flags in (t.partition(":") for t in texts)]


def _timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - t0, proc


def bench_score(args) -> dict:
    from bench_lm import mqm_articles

    from mtqa.evaluate import default_benchmark_dir
    from mtqa.lm import make_scorer

    articles = mqm_articles(args.benchmarks or default_benchmark_dir(), "test", args.articles)
    mtqa = str(ROOT / ".venv" / "bin" / "mtqa")
    rows = {"articles": len(articles), "segments": sum(map(len, articles))}
    with tempfile.TemporaryDirectory(prefix="mtqa-bench-process-") as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        for k, units in enumerate(articles):
            (folder / f"article-{k:02d}.txt").write_text("\n\n".join(units) + "\n", encoding="utf-8")
        sentences = Path(tmp) / "sentences.json"
        sentences.write_text(json.dumps([u for units in articles for u in units]), encoding="utf-8")
        lm = make_scorer()
        model_folder = _model_folder(lm)
        seconds, proc = _timed([sys.executable, "-c", NAIVE, str(model_folder), str(sentences)])
        if proc.returncode:
            raise SystemExit(proc.stderr[-2000:])
        rows["plain per-sentence loop"] = {
            "seconds": round(seconds, 2),
            **{k: round(v, 2) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()},
        }
        print(json.dumps(rows["plain per-sentence loop"]), file=sys.stderr)
        for name, flags in _configs(args.configs):
            out = Path(tmp) / f"out-{name}"
            seconds, proc = _timed([mtqa, "score", str(folder), "--out", str(out), "--no-cache", *flags])
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{name}: {proc.stderr[-2000:]}")
            rows[f"mtqa score ({name})"] = {"seconds": round(seconds, 2)}
            print(json.dumps({name: round(seconds, 2)}), file=sys.stderr)
    base = rows["plain per-sentence loop"]["seconds"]
    for row in rows.values():
        if isinstance(row, dict):
            row["speedup_vs_plain_loop"] = round(base / row["seconds"], 2)
    return rows


def _model_folder(lm) -> Path:
    """The transformers folder the model loads from (the dequantised cache of a GGUF), made once here."""
    from mtqa.lm.transformer import _with_model_folder

    return _with_model_folder(lm.source, lm.model_hash, False, lambda folder: folder)


#: Run inside the checked process (``python -c``) to time its stages from the inside.
STAGES = r"""
import sys, time, json
t0 = time.perf_counter()
import mtqa.cli
from mtqa.pipeline import Pipeline
from mtqa.settings import load_settings
from mtqa.run import score_articles
t1 = time.perf_counter()
settings = load_settings(overrides={"cache": False, **json.loads(sys.argv[2])})
pipe = Pipeline(settings)
pipe.scorer.load()
t2 = time.perf_counter()
[result] = score_articles([sys.argv[1]], pipeline=pipe)
t3 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "model_load_s": t2 - t1, "scoring_s": t3 - t2,
                  "sentences": result.n_sentences, "scored_by_lm": pipe.stats.counts["sentences_lm_scored"]}))
"""


def bench_check(args) -> dict:
    from mtqa.evaluate import default_benchmark_dir

    article = args.article or (args.benchmarks or default_benchmark_dir()) / DEFAULT_CHECK_ARTICLE
    mtqa = str(ROOT / ".venv" / "bin" / "mtqa")
    rows: dict = {"article": str(article), "bytes": Path(article).stat().st_size}
    for name, flags in _configs(args.configs):
        times = []
        for _ in range(args.repeat):
            seconds, proc = _timed([mtqa, "check", str(article), "--no-cache", *flags])
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{name}: {proc.stderr[-2000:]}")
            if "Loading weights" in proc.stderr:
                raise SystemExit(f"{name}: a weight-loading progress bar reached stderr")
            times.append(seconds)
        rows[f"mtqa check ({name})"] = {
            "median_s": round(statistics.median(times), 2),
            "best_s": round(min(times), 2),
            "runs": len(times),
        }
        print(json.dumps({name: rows[f"mtqa check ({name})"]}), file=sys.stderr)
    overrides = {}
    for _, flags in _configs(args.configs[:1]):
        for flag, value in zip(flags[::2], flags[1::2], strict=False):
            overrides[flag.lstrip("-").replace("-", "_")] = value
    seconds, proc = _timed([sys.executable, "-c", STAGES, str(article), json.dumps(overrides)])
    rows["stages (first configuration, from inside)"] = {
        "wall_s": round(seconds, 2),
        **{
            k: round(v, 2) if isinstance(v, float) else v
            for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()
        },
    }
    seconds, proc = _timed([sys.executable, "-X", "importtime", "-c", "import mtqa.cli"])
    heavy = sorted(
        (int(line.split("|")[1]), line.split("|")[2].strip())
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.split("|")[1].strip().isdigit()
    )
    rows["import mtqa.cli"] = {
        "wall_s": round(seconds, 2),
        "largest_cumulative_us": [f"{name}: {us}" for us, name in heavy[-8:]],
    }
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["score", "check"])
    ap.add_argument("--benchmarks", type=Path, default=None)
    ap.add_argument("--articles", type=int, default=30)
    ap.add_argument("--article", type=Path, default=None, help="the article `check` gates")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--configs", nargs="+", default=["default:"])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = bench_score(args) if args.what == "score" else bench_check(args)
    text = json.dumps(rows, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
