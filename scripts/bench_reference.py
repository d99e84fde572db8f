"""Cost of the reference comparison (no LM): alignment and sacrebleu figures against article length.

    .venv/bin/python scripts/bench_reference.py [--sizes 10 25 50 100 200] [--repeats 3]

Each size is an article of N body sentences taken in turn from the bundled samples, and a reference made
from it the way a trusted version differs: every 7th sentence dropped (omissions), every 11th sentence
split at a comma (1-2 steps), every 13th pair of sentences joined (2-1 steps). The alignment computes about
3 x N x (2 x band + 1) sentence chrF scores (band from data/reference.json), so seconds per sentence should
stay flat as N grows; TER on each aligned pair is the other cost. Prints one JSON row per size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mtqa.io import read_inputs
from mtqa.reference import compare
from mtqa.segment import segment_article
from mtqa.types import Article

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def sample_sentences() -> list[str]:
    return [s.text for a in read_inputs([SAMPLES]) for s in segment_article(a).segments if s.kind == "body"]


def make_pair(pool: list[str], n: int) -> tuple[str, str]:
    """(MT article, reference) with N MT body sentences, one per line, and the reference's differences."""
    mt = [pool[i % len(pool)] for i in range(n)]
    ref: list[str] = []
    for i, s in enumerate(mt):
        if i % 7 == 3:
            continue
        if i % 11 == 5 and ", " in s:
            head, tail = s.split(", ", 1)
            ref += [head + ".", tail[:1].upper() + tail[1:]]
        elif i % 13 == 8 and ref:
            ref[-1] = ref[-1] + " " + s
        else:
            ref.append(s)
    return "\n".join(mt), "\n".join(ref)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pool = sample_sentences()
    for n in args.sizes:
        text, ref = make_pair(pool, n)
        body = [
            s
            for s in segment_article(Article(id="mt", text=text, input="<bench>", title="")).segments
            if s.kind == "body"
        ]
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            found = compare(body, ref)
            times.append(time.perf_counter() - t0)
        best = min(times)
        row = {
            "sentences": len(body),
            "aligned": found.summary["aligned"] if found.summary else 0,
            "seconds": round(best, 3),
            "ms_per_sentence": round(1000 * best / max(len(body), 1), 2),
        }
        print(json.dumps(row))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
