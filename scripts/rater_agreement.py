"""How well do professional raters agree with each other on "garbled"? The ceiling for any checker.

    .venv/bin/python scripts/rater_agreement.py [--benchmarks ../shared/benchmarks] [--split dev|test]

Each WMT23 zh-en segment has 3 MQM raters. For every (segment, rater) pair the label is "this rater
marked it garbled" (the benchmark README's definition, applied to one rater). Predictors ranked
against that label, by ROC-AUC:
- the other two raters: how many of them marked it garbled, and their mean MQM score;
- mtqa's scores for the same segment (calibrated probability, mean log-prob, length).
A checker cannot be expected to agree with one rater better than two other professionals do.
LM scores come from the persistent score cache (seconds after `mtqa eval` has run once).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mtqa.evaluate import MQM_DIR, default_benchmark_dir, load_mqm, mqm_contexts, rater_garbled, roc_auc
from mtqa.lm import cache_dir
from mtqa.pipeline import Pipeline
from mtqa.settings import Settings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    ap.add_argument("--split", choices=("dev", "test"), default="dev")
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    with open(args.benchmarks / MQM_DIR / f"{args.split}.jsonl", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    items = load_mqm(args.benchmarks, args.split)
    pipe = Pipeline(Settings(cache=str(cache_dir())))
    units = pipe.score_sentences([it.target for it in items], mqm_contexts(items))
    ours = {
        "mtqa (calibrated)": [p for p, _, _ in units],
        "mean log-prob (negated)": [-f.get("lm_mean_logprob", 0.0) for _, f, _ in units],
        "length (characters)": [float(len(it.target)) for it in items],
    }
    labels, predictors = (
        [],
        {
            "other two raters: how many marked it garbled": [],
            "other two raters: mean MQM score": [],
            **{k: [] for k in ours},
        },
    )
    for i, rec in enumerate(recs):
        marked = rater_garbled(rec)
        for rater, garbled in marked.items():
            others = [o for o in marked if o != rater]
            labels.append(garbled)
            predictors["other two raters: how many marked it garbled"].append(sum(marked[o] for o in others))
            predictors["other two raters: mean MQM score"].append(
                float(np.mean([rec["mqm_score_per_rater"][o] for o in others]))
            )
            for name, scores in ours.items():
                predictors[name].append(scores[i])
    print(
        f'### Agreement with one rater\'s "garbled" call, {args.split} '
        f"({len(labels)} segment-rater pairs, {sum(labels)} garbled)\n"
    )
    print("| predictor | ROC-AUC |\n|---|---|")
    for name, scores in predictors.items():
        print(f"| {name} | {roc_auc(labels, scores):.3f} |")
    print(f"\nSignature: `{pipe.signature}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
