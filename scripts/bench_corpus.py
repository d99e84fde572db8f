"""Corpus scoring cost: a synthetic syndicated corpus, cold versus warm score cache, in one run.

    .venv/bin/python scripts/bench_corpus.py [--sizes 100 300] [--near-copy-share 0.3]

The corpus is built from the bundled samples: N articles, each a copy of one sample under a new id, and a
chosen share of them near-copies (one sentence edited, as when an aggregator rewrites a figure or a day).
Cold = empty score cache and a fresh pipeline; warm = the same corpus again with the cache filled. Reports
articles/s, sentences/s, how many sentences the LM actually scored, and peak RSS. Figures go in
docs/performance.md. The model loads once, before any timing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from mtqa.engine import Pipeline, Settings
from mtqa.io import read_inputs
from mtqa.types import Article

ROOT = Path(__file__).resolve().parent.parent
EDITS = [("Monday", "Tuesday"), ("Wednesday", "Thursday"), (" said ", " told reporters "), ("percent", "per cent")]


def corpus(n: int, near_share: float, seed: int = 0) -> list[Article]:
    rng = random.Random(seed)
    samples = [a for a in read_inputs([ROOT / "data" / "samples"]) if isinstance(a, Article)]
    out = []
    for i in range(n):
        base = samples[i % len(samples)]
        text = base.text
        if rng.random() < near_share:
            old, new = rng.choice([e for e in EDITS if e[0] in text] or [(".", ";")])
            at = [k for k in range(len(text)) if text.startswith(old, k)]
            k = rng.choice(at)
            text = text[:k] + new + text[k + len(old):]
        out.append(Article(id=f"{base.id}-{i}", text=text, input=f"<synthetic {i}>"))
    return out


def run(pipe: Pipeline, articles: list[Article]) -> dict:
    t0 = time.perf_counter()
    results = list(pipe.run(articles))
    dt = time.perf_counter() - t0
    n_sent = sum(r.n_sentences for r in results)
    c = pipe.stats.counts
    return {"seconds": round(dt, 2), "articles_per_s": round(len(results) / dt, 2),
            "sentences_per_s": round(n_sent / dt, 1), "sentences": n_sent,
            "lm_scored": c["sentences_lm_scored"], "cache_hits": c["sentences_cache_hits"],
            "reused_in_run": c["sentences_reused"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--near-copy-share", type=float, default=0.3)
    args = ap.parse_args()
    Pipeline()  # load the model once, outside the timings
    rows = []
    for n in args.sizes:
        articles = corpus(n, args.near_copy_share)
        with tempfile.TemporaryDirectory() as cache:
            cold = run(Pipeline(Settings(cache=cache)), articles)
            warm = run(Pipeline(Settings(cache=cache)), articles)
        row = {"articles": n, "near_copy_share": args.near_copy_share, "cold": cold, "warm": warm,
               "warm_speedup": round(cold["seconds"] / warm["seconds"], 1)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
