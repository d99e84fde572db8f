#!/usr/bin/env python3
"""Fit the chrome classifier (data/chrome.json) on the real-world dev pages, with leave-one-case-out figures.

    scripts/fit_chrome.py [BENCH_DIR] [--write] [--C 1.0] [--threshold 0.6] [--without F1,F2]

BENCH_DIR is the realworld_dev folder (default ../shared/benchmarks/realworld_dev relative to the repository).
Training units: the units (mtqa.reflow) of the .txt cases whose text equals the file; a unit is chrome when
most of its non-space characters lie on lines listed in chrome.jsonl. Model: scikit-learn's
LogisticRegression (L2, ``C``), features of mtqa.chrome.FEATURES, every case weighted equally in total (so
one 63-line menu does not outweigh the other 42 pages). Printed: line-level chrome precision/recall as
check.py defines them, in sample and leave-one-case-out (each case segmented with a model fitted on the
other cases), through the whole segmenter (title and header rules included). ``--write`` stores the
coefficients, the threshold and both figures in data/chrome.json.

The benchmark's texts and labels are read at run time only; nothing of them is stored in the repository.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from mtqa.chrome import FEATURES, ChromeModel, RecurringLines, dominant_script, is_foreign, unit_features
from mtqa.io import read_inputs
from mtqa.reflow import reflow, text_lines
from mtqa.segment import _sentences_in, segment_article
from mtqa.types import Article

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCH = ROOT.parent / "shared" / "benchmarks" / "realworld_dev"


def load_cases(bench: Path) -> list[tuple[Article, dict[int, str]]]:
    """(article, {line number from 1: chrome kind}) for every .txt case, with corpus recurrence annotated."""
    gold: dict[str, dict[int, str]] = collections.defaultdict(dict)
    for line in (bench / "chrome.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            c = json.loads(line)
            gold[c["case"]][int(c["line"])] = c["kind"]
    arts = [a for a in read_inputs([bench / "cases"]) if isinstance(a, Article)]
    counter = RecurringLines()
    out = []
    for art in arts:
        counter.observe(art)
        art = counter.annotate(art)
        if art.input.endswith(".txt") and Path(art.input).read_text(encoding="utf-8") == art.text:
            out.append((art, gold.get(art.id, {})))
    return out


def units_and_labels(art: Article, gold: dict[int, str]):
    from mtqa.boilerplate import match_boilerplate

    text = art.text
    script = dominant_script(text)
    units = reflow(
        text,
        text_lines(text),
        lambda t: match_boilerplate(t) is not None or is_foreign(t, script),
        _sentences_in,
    )
    feats = unit_features(text, units, art.recurring_lines)
    labels = []
    for u in units:
        chars = [(sum(not c.isspace() for c in text[ln.start : ln.end]), ln.number + 1 in gold) for ln in u.lines]
        labels.append(sum(n for n, g in chars if g) * 2 > sum(n for n, _ in chars))
    return feats, labels


def line_prf(cases, model: ChromeModel | dict[str, ChromeModel]) -> tuple[int, int, int]:
    """(tp, fp, fn) over the lines of the cases, check.py's definition; ``model`` may differ per case."""
    tp = fp = fn = 0
    for art, gold in cases:
        m = model[art.id] if isinstance(model, dict) else model
        layout = segment_article(art, model=m)
        text = art.text
        boiler = [(s.start, s.end) for s in layout.segments if s.kind == "boilerplate"]
        pos = 0
        for i, line in enumerate(text.split("\n"), 1):
            l0, l1 = pos, pos + len(line)
            pos = l1 + 1
            nonspace = [k for k in range(l0, l1) if not text[k].isspace()]
            if not nonspace:
                continue
            pred = sum(any(b0 <= k < b1 for b0, b1 in boiler) for k in nonspace) * 2 > len(nonspace)
            g = i in gold
            tp += pred and g
            fp += pred and not g
            fn += g and not pred
    return tp, fp, fn


def fit(rows, c: float, threshold: float, features: tuple[str, ...] = FEATURES) -> ChromeModel:
    x = np.array([[f[k] for k in features] for f, _, _ in rows])
    y = np.array([g for _, g, _ in rows])
    w = np.array([wt for _, _, wt in rows])
    lr = LogisticRegression(C=c, max_iter=5000)
    lr.fit(x, y, sample_weight=w)
    return ChromeModel(
        {k: round(float(v), 4) for k, v in zip(features, lr.coef_[0], strict=True)},
        round(float(lr.intercept_[0]), 4),
        threshold,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", type=Path, nargs="?", default=DEFAULT_BENCH)
    ap.add_argument("--write", action="store_true", help="write data/chrome.json")
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength")
    ap.add_argument("--threshold", type=float, default=0.6, help="chrome when the probability reaches it")
    ap.add_argument("--without", default="", help="comma-separated features to leave out (for comparisons)")
    args = ap.parse_args(argv)
    cases = load_cases(args.bench)
    per_case = {}
    for art, gold in cases:
        feats, labels = units_and_labels(art, gold)
        # units a pattern or a credit decides by rule stay in: they teach the model what chrome looks like
        rows = list(zip(feats, labels, strict=True))
        weight = 10.0 / max(1, len(rows))  # every case weighs the same in total
        per_case[art.id] = [(f, g, weight) for f, g in rows]
    all_rows = [r for rows in per_case.values() for r in rows]
    features = tuple(f for f in FEATURES if f not in args.without.split(","))
    full = fit(all_rows, args.C, args.threshold, features)
    folds = {
        cid: fit([r for k, rows in per_case.items() if k != cid for r in rows], args.C, args.threshold, features)
        for cid in per_case
    }

    def figures(tp: int, fp: int, fn: int) -> dict:
        return {
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }

    ins = figures(*line_prf(cases, full))
    loco = figures(*line_prf(cases, folds))
    print(f"units {len(all_rows)} ({sum(g for _, g, _ in all_rows)} chrome) in {len(per_case)} cases")
    print(f"in sample:            precision {ins['precision']}  recall {ins['recall']}  {ins}")
    print(f"leave-one-case-out:   precision {loco['precision']}  recall {loco['recall']}  {loco}")
    print("weights:", json.dumps(full.weights), "intercept", full.intercept)
    if args.write:
        path = ROOT / "data" / "chrome.json"
        old = json.loads(path.read_text(encoding="utf-8"))
        doc = {
            "_doc": old.get("_doc", ""),
            "features": list(features),
            "weights": full.weights,
            "intercept": full.intercept,
            "threshold": args.threshold,
            "recurring": old.get("recurring", {}),
            "fitted": {
                "command": "scripts/fit_chrome.py --write"
                + (f" --C {args.C}" if args.C != 1.0 else "")
                + (f" --threshold {args.threshold}" if args.threshold != 0.6 else "")
                + (f" --without {args.without}" if args.without else ""),
                "units": len(all_rows),
                "cases": len(per_case),
                "lines_in_sample": ins,
                "lines_leave_one_case_out": loco,
            },
        }
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
