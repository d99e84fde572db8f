"""Each rule's firing rate and precision on the MQM dev split (never test), for docs/rules.md.

    .venv/bin/python scripts/rule_precision.py [--benchmarks ../shared/benchmarks]

Rules run per sentence inside each target segment, as in articles. Precision = share of segments
where the rule fires that the benchmark README calls garbled; "clean fires" = share of the segments
all three raters judged error-free on which the rule fires (the issue's bar: at most 2%).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mtqa import rules
from mtqa.evaluate import MQM_DIR, default_benchmark_dir, is_garbled
from mtqa.pipeline import unit_findings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    with open(args.benchmarks / MQM_DIR / "dev.jsonl", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    fires, garbled, clean_fires, example = Counter(), Counter(), Counter(), {}
    n_clean = sum(r["n_raters_no_error"] == r["n_raters"] for r in recs)
    for r in recs:
        codes = {}
        for f in unit_findings(r["target"]):
            codes.setdefault(f.code, r["target"][f.start : f.end])
        for code, span in codes.items():
            fires[code] += 1
            garbled[code] += is_garbled(r)
            clean_fires[code] += r["n_raters_no_error"] == r["n_raters"]
            if is_garbled(r):
                example.setdefault(code, span)
    print(f"dev: {len(recs)} segments, {sum(map(is_garbled, recs))} garbled, {n_clean} clean by all raters")
    print(f"{rules.rules_signature()}\n")
    print("| rule | severity | fires on | precision | fires on clean | example (garbled dev segment) |")
    print("|---|---|---|---|---|---|")
    for rule in rules.SENTENCE_RULES:
        c = rule.code
        prec = f"{garbled[c] / fires[c]:.2f}" if fires[c] else "-"
        ex = example.get(c, "").replace("|", "\\|")[:60]
        print(
            f"| `{c}` | {rule.severity} | {fires[c]} | {prec} | {clean_fires[c]} ({clean_fires[c] / n_clean:.1%}) "
            f"| {ex} |"
        )
    article_rules(recs)
    return 0


def article_rules(recs: list[dict]) -> None:
    """Article rules on rebuilt dev articles: ``headline-damage`` on each article's first segment (WMT news
    documents start with the headline), ``inconsistent-name`` on the whole (document, system) article."""
    from mtqa.segment import split_sentences

    by_article: dict[tuple[str, str], list[dict]] = {}
    for r in recs:
        by_article.setdefault((r["doc_id"], r["system"]), []).append(r)
    head_fires = head_garbled = 0
    name_fires = name_garbled = any_garbled = 0
    for segs in by_article.values():
        segs.sort(key=lambda r: r["seg_id"])
        first = segs[0]
        if first["seg_id"] == 1:
            title = first["target"]
            if any(f.code == "headline-damage" for f in rules.apply_title_rules(title, (0, len(title)))):
                head_fires += 1
                head_garbled += is_garbled(first)
        text = "\n".join(r["target"] for r in segs)
        spans = split_sentences(text, 0, len(text))
        has_garbled = any(is_garbled(r) for r in segs)
        any_garbled += has_garbled
        if any(f.code == "inconsistent-name" for f in rules.apply_article_rules(text, None, spans)):
            name_fires += 1
            name_garbled += has_garbled
    n = len(by_article)
    print(f"\n{n} dev articles (document x system); {any_garbled} ({any_garbled / n:.0%}) contain a garbled segment")
    print("| article rule | fires on | precision |")
    print("|---|---|---|")
    print(
        f"| `headline-damage` (first segment = headline garbled) | {head_fires} headlines | "
        f"{head_garbled / head_fires if head_fires else float('nan'):.2f} |"
    )
    print(
        f"| `inconsistent-name` (article has a garbled segment) | {name_fires} articles | "
        f"{name_garbled / name_fires if name_fires else float('nan'):.2f} |"
    )


if __name__ == "__main__":
    sys.exit(main())
