"""Corpus scoring cost at scale: a synthetic syndicated corpus, cold and warm score cache, local and Dask.

    .venv/bin/python scripts/bench_corpus.py [--sizes 100 1000 10000] [--stories 50] [--near-copy-share 0.3]
                                             [--engines local dask] [--workers 2] [--markdown FILE]
                                             [--configs NAME:KEY=VALUE,... ...]

The corpus is built from the bundled samples and written to a Parquet file: ``--stories`` distinct stories
(the 8 samples, then variants of them with their paragraphs shuffled and their numbers changed), and the rest
of the N articles copies of those stories under new ids, ``--near-copy-share`` of them with one edit (as when
an aggregator rewrites a day or a verb). Each configuration runs in a fresh process, as ``mtqa score
corpus.parquet --out DIR`` would (:func:`mtqa.run.drive`: streamed reading, scoring, every report
and the summary), so its peak RSS is its own: cold with an empty score cache, then warm with the cache the
cold run filled (into a new folder: every report is written again), then the warm command again with
``--resume`` into the warm run's folder (every report is reused). Start-up (for Dask the cluster and the
model on every worker; locally nothing, as the model loads on first use) is timed apart; speed-ups compare
start-up plus run.

``--configs`` compares settings in one invocation (each with its own cache), e.g. the sentence-by-sentence
reading of earlier versions against the default passages: ``previous:context=previous,max_tokens=256
passage:``. The LM-scored column counts sentences the model scored in the cold run; the number in brackets,
sentences served by an identical one scored earlier in the same run (syndicated copies).

Prints a Markdown table (and writes it to ``--markdown``); the JSON of every run goes to stderr as it ends.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDITS = [("Monday", "Tuesday"), ("Wednesday", "Thursday"), (" said ", " told reporters "), ("percent", "per cent")]
PROSE = 80  # a line at least this long is a paragraph of prose (shuffled in story variants)


def corpus(n: int, stories: int, near_share: float, seed: int = 0) -> list[dict]:
    """``n`` records ``{"id", "text"}``: ``min(stories, n)`` distinct stories, then copies and near-copies."""
    from mtqa.io import read_inputs
    from mtqa.types import Article

    rng = random.Random(seed)
    samples = [a for a in read_inputs([ROOT / "data" / "samples"]) if isinstance(a, Article)]
    originals = [
        (s.id, s.text) if k < len(samples) else (f"{s.id}-v{k}", _variant(s.text, rng))
        for k, s in ((k, samples[k % len(samples)]) for k in range(min(stories, n)))
    ]
    records = []
    for i in range(n):
        base, text = originals[i] if i < len(originals) else rng.choice(originals)
        if i >= len(originals) and rng.random() < near_share:
            text = _near_copy(text, rng)
        records.append({"id": f"{base}-{i}", "text": text})
    return records


def _variant(text: str, rng: random.Random) -> str:
    """Another story from a sample: its prose paragraphs in another order, every number changed."""
    lines = text.split("\n")
    prose = [i for i, line in enumerate(lines) if len(line) >= PROSE]
    order = [lines[i] for i in prose]
    rng.shuffle(order)
    for i, line in zip(prose, order, strict=True):
        lines[i] = re.sub(r"\d+", lambda m: str(rng.randint(2, 999)), line)
    return "\n".join(lines)


def _near_copy(text: str, rng: random.Random) -> str:
    old, new = rng.choice([e for e in EDITS if e[0] in text] or [(".", ";")])
    at = [k for k in range(len(text)) if text.startswith(old, k)]
    k = rng.choice(at)
    return text[:k] + new + text[k + len(old) :]


def write_corpus(path: Path, records: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path, row_group_size=1024)
    return path


# -- one configuration, in its own process ------------------------------------------------------------


def run_config(config: dict) -> dict:
    """Run one configuration in a child process (``--run``) and return what it measured."""
    proc = subprocess.run(
        [sys.executable, __file__, "--run", json.dumps(config)], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _child(config: dict) -> dict:
    import pandas as pd

    from mtqa.engines import DaskEngine, LocalEngine, open_engine
    from mtqa.run import drive
    from mtqa.settings import Settings

    settings = Settings(
        cache=config["cache"],
        threads=config.get("threads"),
        chunk_articles=config.get("chunk_articles"),
        engine=config["engine"],
        workers=config.get("workers"),
    ).with_overrides(**config.get("settings", {}))
    t0 = time.perf_counter()
    with open_engine(settings) as eng:
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        tally = drive(eng, [Path(config["corpus"])], out=Path(config["out"]), resume=config["run"] == "resume")
        seconds = time.perf_counter() - t1
        workers_rss = list(eng.client.run(_peak_rss_mb).values()) if isinstance(eng, DaskEngine) else []
        counts = eng.stats.counts
    sentences = int(pd.read_parquet(Path(config["out"]) / "summary.parquet")["n_sentences"].sum())
    return {
        **config,
        "articles": tally.articles,
        "sentences": sentences,
        "startup_s": round(startup, 2),
        "seconds": round(seconds, 2),
        "articles_per_s": round(tally.articles / seconds, 2),
        "sentences_per_s": round(sentences / seconds, 1),
        "lm_scored": counts["sentences_lm_scored"],
        "cache_hits": counts["sentences_cache_hits"],
        "repeats": counts["sentences_reused"],
        "copies": counts["articles_copied"],
        "reports_reused": tally.reused,
        "model_loaded": isinstance(eng, LocalEngine) and eng.pipeline.scorer.loaded,
        "peak_rss_mb": _peak_rss_mb(),
        "workers_peak_rss_mb": workers_rss,
    }


# -- the table -------------------------------------------------------------------------------------------


def rss_text(run: dict) -> str:
    """Peak RSS of the main process, and of the largest worker when there are workers."""
    workers = run["workers_peak_rss_mb"]
    return f"{run['peak_rss_mb']:,} MB" + (f" + {len(workers)} × {max(workers):,} MB" if workers else "")


def markdown(rows: list[tuple[dict, dict, dict]]) -> str:
    head = (
        "| articles | engine | settings | sentences | exact copies | LM-scored cold (reused in the run) | start-up "
        "| cold | warm (new folder) | warm speed-up | `--resume` (same folder) | `--resume` speed-up "
        "| peak RSS cold (main + workers) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for cold, warm, resume in rows:
        engine = cold["engine"] + (f" ({cold['workers']} workers)" if cold["engine"] == "dask" else "")
        total = {r["run"]: r["startup_s"] + r["seconds"] for r in (cold, warm, resume)}
        lines.append(
            f"| {cold['articles']:,} | {engine} | {cold.get('name') or 'default'} | {cold['sentences']:,} "
            f"| {cold['copies']:,} | {cold['lm_scored']:,} ({cold['repeats']:,}) "
            f"| {cold['startup_s']} s | {cold['seconds']} s ({cold['articles_per_s']} articles/s, "
            f"{cold['sentences_per_s']} sentences/s) | {warm['seconds']} s ({warm['articles_per_s']} articles/s) "
            f"| {total['cold'] / total['warm']:.1f}x | {resume['seconds']} s "
            f"| {total['cold'] / total['resume']:.1f}x | {rss_text(cold)} |"
        )
    return head + "\n".join(lines) + "\n"


def _config(text: str) -> tuple[str, dict]:
    """``NAME:key=value,key=value`` as (name, settings overrides); values are read as JSON when they parse."""
    name, _, rest = text.partition(":")
    values = {}
    for pair in filter(None, rest.split(",")):
        key, _, raw = pair.partition("=")
        try:
            values[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[key.strip()] = raw
    return name, values


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--stories", type=int, default=50, help="distinct stories in each corpus (the rest are copies)")
    ap.add_argument("--near-copy-share", type=float, default=0.3, help="share of the copies with one edit")
    ap.add_argument("--engines", nargs="+", choices=["local", "dask"], default=["local", "dask"])
    ap.add_argument("--workers", type=int, default=2, help="Dask workers (a local cluster)")
    ap.add_argument("--markdown", type=Path, help="also write the table here")
    ap.add_argument(
        "--configs",
        nargs="+",
        default=["default:"],
        metavar="NAME:KEY=VALUE,...",
        help="settings to compare in one invocation, each with its own cache, e.g. "
        "'previous:context=previous,max_tokens=256' 'passage:' (default: the defaults)",
    )
    ap.add_argument("--run", help=argparse.SUPPRESS)  # internal: one configuration, as JSON
    args = ap.parse_args()
    if args.run:
        print(json.dumps(_child(json.loads(args.run))))
        return 0
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="mtqa-bench-") as tmp:
            path = write_corpus(Path(tmp) / "corpus.parquet", corpus(n, args.stories, args.near_copy_share))
            for engine in args.engines:
                for name, values in map(_config, args.configs):
                    tag = f"{engine}-{name}"
                    base = {
                        "corpus": str(path),
                        "engine": engine,
                        "cache": f"{tmp}/cache-{tag}",
                        "name": name,
                        "settings": values,
                        "workers": args.workers if engine == "dask" else None,
                    }
                    runs = []
                    for temp, out in (("cold", "cold"), ("warm", "warm"), ("resume", "warm")):
                        runs.append(run_config({**base, "out": f"{tmp}/out-{tag}-{out}", "run": temp}))
                        print(json.dumps(runs[-1]), file=sys.stderr)
                    rows.append(tuple(runs))
    table = markdown(rows)
    print(table)
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
