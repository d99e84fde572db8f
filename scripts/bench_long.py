"""Huge articles stay bounded: time of segmentation + rules and of LM scoring against input size.

    .venv/bin/python scripts/bench_long.py

A scraped "article" of several MB with no newline and no sentence end is the worst case: it is split in
chunks (mtqa/segment.py, SPLIT_CHUNK) and scored in overlapping LM windows (mtqa/lm.py, max_tokens). The
figures (seconds per size, and seconds per MB or per 1,000 tokens, which should stay flat) go in
docs/performance.md.
"""

from __future__ import annotations

import json
import sys
import time

from mtqa import rules
from mtqa.segment import segment_article
from mtqa.types import Article

WORDS = ["the", "delegation", "said", "development", "talks", "would", "resume", "in", "march", "officials", "agreed"]


def junk(n_chars: int) -> str:
    """One line of lowercase words, no punctuation: nothing for the splitter or the rules to hold on to."""
    out, i, size = [], 0, 0
    while size < n_chars:
        w = WORDS[(i * 7 + i // 3) % len(WORDS)]
        out.append(w)
        size += len(w) + 1
        i += 1
    return " ".join(out)


def main() -> int:
    rows = {"segment_and_rules": [], "lm_long_sentence": []}
    for mb in (0.25, 0.5, 1.0, 2.0):
        text = junk(int(mb * 1_000_000))
        t0 = time.perf_counter()
        layout = segment_article(Article(id="huge", text=text, input="<bench>", title=""))
        body = [s for s in layout.segments if s.kind == "body"]
        rules.apply_sentence_rules(text, [(s.start, s.end) for s in body], [layout.paragraph_of[s.index] for s in body])
        dt = time.perf_counter() - t0
        rows["segment_and_rules"].append(
            {"mb": mb, "sentences": len(body), "seconds": round(dt, 2), "seconds_per_mb": round(dt / mb, 2)}
        )
        print(rows["segment_and_rules"][-1], file=sys.stderr)
    from mtqa.lm import make_scorer

    lm = make_scorer()
    for n_tokens in (500, 1000, 2000):
        sentence = junk(n_tokens * 5)
        n = len(lm.tokenize([sentence])[0][0])
        t0 = time.perf_counter()
        lm.score([sentence])
        dt = time.perf_counter() - t0
        rows["lm_long_sentence"].append(
            {"tokens": n, "seconds": round(dt, 2), "seconds_per_1000_tokens": round(dt / n * 1000, 2)}
        )
        print(rows["lm_long_sentence"][-1], file=sys.stderr)
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
