"""Would a classifier trained on synthetic damage beat the dev-fitted calibration? (It did not.)

    .venv/bin/python scripts/synthetic_damage.py [--benchmarks ../shared/benchmarks]

Fluent base: MQM dev segments that are not garbled and that at least two of three raters found free of
any error. Each gets two damaged copies (fused with the next segment, 1-2 words dropped, two words
swapped, a 2-3 word phrase repeated, or 4 words shuffled; seeded). A logistic regression over the
calibration features is fitted on original-vs-damaged (no human label used), then scored against the
real dev labels: ROC-AUC and item-grouped pairwise accuracy (acc-t). dev only; test is never read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from mtqa.calibrate import FEATURES, feature_vector
from mtqa.evaluate import (
    MQM_DIR,
    default_benchmark_dir,
    load_mqm,
    mqm_contexts,
    pairwise_accuracy_tie_calibrated,
    roc_auc,
)
from mtqa.lm import cache_dir
from mtqa.pipeline import Pipeline, unit_findings
from mtqa.settings import Settings

KINDS = ("fuse", "drop", "swap", "repeat", "shuffle")


def damage(sentence: str, following: str, kind: str, rng: random.Random) -> str | None:
    """One kind of machine-translation-like damage; None when the sentence is too short for it."""
    w = sentence.split()
    if len(w) < 8:
        return None
    if kind == "fuse":
        return sentence.rstrip('.!?"” ') + " " + following[:1].upper() + following[1:] if following else None
    i = rng.randrange(2, len(w) - 3)
    if kind == "drop":
        return " ".join(w[:i] + w[i + rng.choice([1, 2]) :])
    if kind == "swap":
        return " ".join(w[:i] + [w[i + 1], w[i]] + w[i + 2 :])
    if kind == "repeat":
        k = rng.choice([2, 3])
        return " ".join(w[: i + k] + w[i : i + k] + w[i + k :])
    part = w[i : i + 4]
    rng.shuffle(part)
    return " ".join(w[:i] + part + w[i + 4 :])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    from sklearn.linear_model import LogisticRegression

    with open(args.benchmarks / MQM_DIR / "dev.jsonl", encoding="utf-8") as fh:
        no_error = {r["id"]: r["n_raters_no_error"] for r in map(json.loads, fh)}
    items = load_mqm(args.benchmarks, "dev")
    contexts = mqm_contexts(items)
    by_pos = {(it.doc_id, it.system, it.seg_id): it.target for it in items}
    rng = random.Random(0)
    texts, ctx, y = [], [], []
    for it, c in zip(items, contexts, strict=True):
        if it.garbled or no_error[it.id] < 2:
            continue
        texts.append(it.target), ctx.append(c), y.append(0)
        following = by_pos.get((it.doc_id, it.system, it.seg_id + 1), "")
        for kind in rng.sample(KINDS, 2):
            damaged = damage(it.target, following, kind, rng)
            if damaged:
                texts.append(damaged), ctx.append(c), y.append(1)
    pipe = Pipeline(Settings(cache=str(cache_dir())))
    X = np.array([feature_vector(f, unit_findings(t)) for t, f in zip(texts, pipe.lm_step(texts, ctx), strict=True)])
    real = pipe.lm_step([it.target for it in items], contexts)
    Xd = np.array([feature_vector(f, unit_findings(it.target)) for it, f in zip(items, real, strict=True)])
    yd = [it.garbled for it in items]
    groups, human = [f"{it.doc_id}|{it.seg_id}" for it in items], [it.mqm_score for it in items]
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    print(f"synthetic training set: {len(y)} sentences, {sum(y)} damaged; real dev: {len(yd)}, {sum(yd)} garbled\n")
    print("| L2 C | dev ROC-AUC | dev pairwise acc-t | largest coefficients |\n|---|---|---|---|")
    for C in (0.01, 0.1, 1.0):
        lr = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, y)
        p = lr.decision_function((Xd - mean) / scale)
        top = sorted(zip(FEATURES, lr.coef_[0], strict=True), key=lambda t: -abs(t[1]))[:3]
        print(
            f"| {C} | {roc_auc(yd, p):.3f} | {pairwise_accuracy_tie_calibrated(groups, human, p)[0]:.3f} | "
            + ", ".join(f"{n} {c:+.2f}" for n, c in top)
            + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
