"""Fit the sentence calibration (data/calibration.json) on the MQM dev split, and only on dev.

    .venv/bin/python scripts/calibrate.py [--benchmarks ../shared/benchmarks] [--out data/calibration.json]
    .venv/bin/python scripts/calibrate.py --model gemma3-270m     # writes data/calibration-gemma3-270m.json

Each model's features have their own scale, so each model gets its own calibration; ``mtqa --model NAME``
uses ``data/calibration-NAME.json`` when it is shipped (mtqa.lm.models.shipped_calibration).

LM scores of the dev targets go through the persistent score cache, so refitting after a rule or
feature change takes seconds; the first run scores ~1,900 targets with the LM (~5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

from mtqa import rules
from mtqa.calibrate import FEATURES, Calibration, feature_vector
from mtqa.evaluate import average_precision, default_benchmark_dir, load_mqm, mqm_contexts, mqm_documents, roc_auc
from mtqa.lm import DEFAULT_MODEL, cache_dir
from mtqa.pipeline import Pipeline, unit_findings
from mtqa.settings import Settings


def dev_features(pipe: Pipeline, bench: Path) -> tuple[list, list[dict]]:
    """(items, LM features) of the dev split; LM scores come from the persistent score cache."""
    items = load_mqm(bench, "dev")
    print(f"features of {len(items)} dev targets with {pipe.lm_signature} ...", file=sys.stderr)
    return items, pipe.lm_step([it.target for it in items], mqm_contexts(items), mqm_documents(items))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    ap.add_argument("--out", type=Path, help="default: data/calibration.json, or data/calibration-<model>.json "
                                             "for --model (which `mtqa --model <model>` then uses)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    from sklearn.linear_model import LogisticRegression

    # fitted on the reference numerics (fp32); bf16 features score within the eval rule with it (docs/performance.md)
    pipe = Pipeline(Settings(model=args.model, cache=str(cache_dir()), precision="fp32"))
    data = Path(__file__).resolve().parent.parent / "data"
    name = pipe.scorer.name
    out = args.out or data / ("calibration.json" if name == DEFAULT_MODEL else f"calibration-{name}.json")
    items, feats = dev_features(pipe, args.benchmarks)
    X = np.array([feature_vector(f, unit_findings(it.target)) for it, f in zip(items, feats, strict=True)])
    y = np.array([it.garbled for it in items])
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=args.C, max_iter=1000).fit((X - mean) / scale, y)
    cal = Calibration(list(FEATURES), mean.round(6).tolist(), scale.round(6).tolist(),
                      lr.coef_[0].round(6).tolist(), round(float(lr.intercept_[0]), 6))
    probs = [cal.predict(x.tolist()) for x in X]
    cal.meta = {
        "fitted_on": "mqm_zhen_wmt23/dev.jsonl (garbled = README ground truth)",
        "n": len(y), "n_garbled": int(y.sum()), "C": args.C,
        "lm": pipe.lm_signature, "rules": rules.signature(),
        "dev_roc_auc": round(roc_auc(y, probs), 4), "dev_average_precision": round(average_precision(y, probs), 4),
        "command": "python scripts/calibrate.py" + (f" --model {args.model}" if args.model else ""),
        "date": datetime.date.today().isoformat(),
    }
    out.write_text(cal.to_json() + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in cal.meta.items()}, indent=1))
    for name, c in sorted(zip(FEATURES, cal.coef, strict=True), key=lambda t: -abs(t[1])):
        print(f"  {name:32s} {c:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
