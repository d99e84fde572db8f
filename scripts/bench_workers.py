"""Does ``--workers N`` (N processes, one torch thread each) beat one process with N torch intra-op threads?

    .venv/bin/python scripts/bench_workers.py [--articles 40] [--workers 2]

Scores one synthetic corpus of distinct stories (no copies, no score cache: every sentence goes through the
language model) three ways, each in a fresh process as ``mtqa score`` would (see scripts/bench_corpus.py):
one process with 1 torch thread, one process with N torch threads (the default, all cores), and a local
Dask cluster of N single-threaded workers (``--workers N``). Start-up (model load, cluster) is timed apart.
Prints a Markdown table; the JSON of every run goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_corpus import corpus, rss_text, run_config, write_corpus


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=40, help="distinct stories to score")
    ap.add_argument("--workers", type=int, default=2, help="N: torch threads of the one process, or worker processes")
    ap.add_argument(
        "--chunk-articles",
        type=int,
        default=5,
        help="articles per chunk, for every configuration: small enough that every worker gets chunks "
        "(with the default 64, a 40-article corpus is one chunk and one worker does all the work)",
    )
    args = ap.parse_args()
    n = args.workers
    chunk = {"chunk_articles": args.chunk_articles}
    configs = [
        ("1 process, 1 torch thread", {"engine": "local", "threads": 1, **chunk}),
        (f"1 process, {n} torch threads", {"engine": "local", "threads": n, **chunk}),
        (f"--workers {n}: {n} processes, 1 torch thread each", {"engine": "dask", "workers": n, **chunk}),
    ]
    print(
        "| configuration | start-up | scoring | sentences/s | LM-scored sentences/s | peak RSS (main + workers) |\n"
        "|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(prefix="mtqa-bench-") as tmp:
        path = write_corpus(Path(tmp) / "corpus.parquet", corpus(args.articles, args.articles, 0.0))
        for k, (name, config) in enumerate(configs):
            run = run_config({"corpus": str(path), "cache": None, "out": f"{tmp}/out-{k}", **config})
            print(json.dumps(run), file=sys.stderr)
            print(
                f"| {name} | {run['startup_s']} s | {run['seconds']} s | {run['sentences_per_s']} "
                f"| {run['lm_scored'] / run['seconds']:.1f} | {rss_text(run)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
