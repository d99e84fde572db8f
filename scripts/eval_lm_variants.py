"""MQM eval figures for each way of running the language model: context, precision, backend, device.

    .venv/bin/python scripts/eval_lm_variants.py [--benchmarks ../shared/benchmarks] [--splits dev test]
        [--variants prev32 passage8 document] [--precision fp32 bf16] [--backend torch onnx] [--json FILE]

For each variant the MQM targets are scored with the language model (through a persistent score cache under
the user cache dir, keyed by the scorer's signature and the variant, so a re-run costs seconds), turned into
features and rule findings exactly as ``mtqa eval`` does, and run through ``mtqa.evaluate.eval_mqm``; the
script prints the headline figures of the calibrated score with the shipped calibration and with one refitted
on dev for that variant (``refit``: the features' scale moves when the context does), raw LM baselines beside.

Variants (how each target is conditioned, articles rebuilt by document and system, ordered by segment):
``sentence`` no context; ``prevN`` the last N tokens of the previous segment (``mtqa score``'s behaviour
before passages); ``passageK`` the article read as passages of K units on average (:mod:`mtqa.lm.passages`);
``document`` the whole article as one sequence (windows of ``--max-tokens``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def _normalise(text: str) -> str:
    return " ".join(text.split())


def variant_scores(scorer, items, variant: str, cache) -> tuple[list, dict]:
    """TokenScores of each item's (whitespace-normalised) target under ``variant``, and what it cost."""
    from mtqa.evaluate import mqm_contexts
    from mtqa.lm.passages import passages, separators

    texts = [_normalise(it.target) for it in items]
    if variant == "sentence" or variant.startswith("prev"):
        n = 0 if variant == "sentence" else int(variant[4:])
        contexts = [_normalise(c) for c in mqm_contexts(items)] if n else [""] * len(items)
        keys = [f"{variant}\x1d{c}\x1f{t}" for c, t in zip(contexts, texts, strict=True)]
        found = cache.get_many(keys)
        todo = sorted({k: i for i, k in enumerate(keys) if k not in found}.values())
        t0 = time.perf_counter()
        if todo:
            fresh = scorer.score([texts[i] for i in todo], [contexts[i] for i in todo], context_tokens=n)
            new = dict(zip([keys[i] for i in todo], fresh, strict=True))
            cache.put_many(new)
            found.update(new)
        return [found[k] for k in keys], {"lm_seconds": round(time.perf_counter() - t0, 2), "scored": len(todo)}
    every = 0 if variant == "document" else int(variant.removeprefix("passage"))
    docs: dict[tuple, list[int]] = {}
    for i, it in enumerate(items):
        docs.setdefault((it.doc_id, it.system), []).append(i)
    keys: list[str] = [""] * len(items)
    plan = []
    for idx in docs.values():
        idx.sort(key=lambda i: items[i].seg_id)
        units = [texts[i] for i in idx]
        for p in passages(units, separators(len(units), False), every=every):
            plan.append((p, [idx[k] for k in p.indexes]))
            for k, key in zip(p.indexes, p.keys, strict=True):
                keys[idx[k]] = f"{variant}\x1d{key}"
    found = cache.get_many(keys)
    todo = [
        (replace(p.document, wanted=tuple(keys[i] not in found for i in where)), where)
        for p, where in plan
        if any(keys[i] not in found for i in where)
    ]
    t0 = time.perf_counter()
    if todo:
        new = {}
        for (_, where), scores in zip(todo, scorer.score_documents([d for d, _ in todo]), strict=True):
            new.update({keys[i]: s for i, s in zip(where, scores, strict=True) if s is not None})
        cache.put_many(new)
        found.update(new)
    return [found[k] for k in keys], {
        "lm_seconds": round(time.perf_counter() - t0, 2),
        "scored": sum(sum(d.wanted) for d, _ in todo),
    }


class Units:
    """What ``mtqa.evaluate.eval_mqm`` needs from a pipeline: precomputed units for each split's texts."""

    def __init__(self, signature: str, by_texts: dict[tuple, list]) -> None:
        self.signature = signature
        self.by_texts = by_texts

    def score_sentences(self, texts, contexts=None, documents=None):
        return self.by_texts[tuple(texts)]


def fit_calibration(feats: list[list[float]], labels: list[bool]):
    """As scripts/calibrate.py: standardised features, L2 logistic regression (C=1)."""
    from sklearn.linear_model import LogisticRegression

    from mtqa.calibrate import FEATURES, Calibration

    X, y = np.array(feats), np.array(labels)
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=1000).fit((X - mean) / scale, y)
    return Calibration(
        list(FEATURES),
        mean.round(6).tolist(),
        scale.round(6).tolist(),
        lr.coef_[0].round(6).tolist(),
        round(float(lr.intercept_[0]), 6),
    )


def auc_difference(labels, groups, a, b, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """ROC-AUC(b) - ROC-AUC(a) and its 95% interval, resampling whole documents (segments of one article are
    not independent): is a difference between two variants more than noise?"""
    from mtqa.evaluate import roc_auc

    y, a, b = np.asarray(labels), np.asarray(a), np.asarray(b)
    docs = sorted(set(groups))
    rows = {d: np.flatnonzero(np.asarray(groups) == d) for d in docs}
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        idx = np.concatenate([rows[d] for d in rng.choice(docs, size=len(docs))])
        if y[idx].all() or not y[idx].any():
            continue
        diffs.append(roc_auc(y[idx], b[idx]) - roc_auc(y[idx], a[idx]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return round(roc_auc(y, b) - roc_auc(y, a), 4), round(float(lo), 4), round(float(hi), 4)


def headline(result: dict) -> dict:
    row = result["table"]["mtqa (calibrated)"]
    return {
        "roc_auc": row["roc_auc"],
        "average_precision": row["average_precision"],
        "pairwise_accuracy": row["pairwise_accuracy"],
        "kendall_tau": row["kendall_tau"],
        "pearson": row["pearson"],
        "brier": result["brier"],
        "span_hit_rate": result["span_hit_rate"],
        "auc_mean_logprob": result["table"]["mean log-prob (negated)"]["roc_auc"],
        "auc_slor": result["table"]["SLOR (negated)"]["roc_auc"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=None)
    ap.add_argument("--splits", nargs="+", default=["dev", "test"])
    ap.add_argument("--variants", nargs="+", default=["prev32", "passage8", "document"])
    ap.add_argument("--precision", nargs="+", default=["fp32"])
    ap.add_argument("--backend", nargs="+", default=["torch"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from mtqa.calibrate import feature_vector, load_calibration
    from mtqa.evaluate import default_benchmark_dir, eval_mqm, load_mqm
    from mtqa.features import lm_features
    from mtqa.lm import ScoreCache, cache_dir, make_scorer

    try:
        from mtqa.pipeline import unit_findings
    except ImportError:  # before the restructure
        from mtqa.engine import unit_findings

    bench = args.benchmarks or default_benchmark_dir()
    items = {split: load_mqm(bench, split) for split in {"dev", *args.splits}}
    findings = {split: [unit_findings(it.target) for it in its] for split, its in items.items()}
    rows = []
    probs: dict[tuple, list[float]] = {}  # (backend, precision, variant, calibration, split) -> probabilities
    for backend in args.backend:
        for precision in args.precision:
            scorer = make_scorer(
                args.model,
                backend=backend,
                precision=precision,
                device=args.device,
                max_tokens=args.max_tokens,
                threads=args.threads,
            )
            cache = ScoreCache(cache_dir() / "eval-variants.sqlite", scorer.signature)
            shipped = load_calibration(None, model=scorer.name)
            for variant in args.variants:
                feats, cost = {}, {}
                for split, its in items.items():
                    scores, cost[split] = variant_scores(scorer, its, variant, cache)
                    feats[split] = [lm_features(_normalise(it.target), s) for it, s in zip(its, scores, strict=True)]
                    print(f"{backend}/{precision}/{variant}/{split}: {cost[split]}", file=sys.stderr)
                vectors = {
                    split: [feature_vector(f, x) for f, x in zip(feats[split], findings[split], strict=True)]
                    for split in items
                }
                refit = fit_calibration(vectors["dev"], [it.garbled for it in items["dev"]])
                for cal_name, cal in (("shipped", shipped), ("refit", refit)):
                    units = {
                        tuple(it.target for it in its): [
                            (cal.predict(v), f, x)
                            for v, f, x in zip(vectors[split], feats[split], findings[split], strict=True)
                        ]
                        for split, its in items.items()
                    }
                    pipe = Units(f"{scorer.signature}|{variant}|calibration:{cal_name}", units)
                    for split, its in items.items():
                        probs[(backend, precision, variant, cal_name, split)] = [
                            p for p, _, _ in units[tuple(it.target for it in its)]
                        ]
                    for split in args.splits:
                        result = eval_mqm(pipe, bench, split)
                        rows.append(
                            {
                                "backend": backend,
                                "precision": precision,
                                "variant": variant,
                                "calibration": cal_name,
                                "split": split,
                                **headline(result),
                                "lm_seconds": cost[split]["lm_seconds"],
                                "lm_scored": cost[split]["scored"],
                            }
                        )
                        print(json.dumps(rows[-1]), flush=True)
            cache.close()
    cols = [
        "roc_auc",
        "average_precision",
        "pairwise_accuracy",
        "kendall_tau",
        "brier",
        "span_hit_rate",
        "auc_mean_logprob",
        "auc_slor",
    ]
    print("\n| backend | precision | variant | calibration | split | " + " | ".join(cols) + " |")
    print("|---|---|---|---|---|" + "---|" * len(cols))
    for r in rows:
        print(
            f"| {r['backend']} | {r['precision']} | {r['variant']} | {r['calibration']} | {r['split']} | "
            + " | ".join("-" if r[c] is None else f"{r[c]:.4f}" for c in cols)
            + " |"
        )
    keys = list(probs)
    if len(keys) > 2:
        print(
            "\nPaired difference of calibrated ROC-AUC from the first configuration (95% interval, documents "
            "resampled):\n"
        )
        for split in args.splits:
            y = [it.garbled for it in items[split]]
            groups = [it.doc_id for it in items[split]]
            for cal_name in ("shipped", "refit"):
                ks = [k for k in keys if k[3] == cal_name and k[4] == split]
                for k in ks[1:]:
                    d, lo, hi = auc_difference(y, groups, probs[ks[0]], probs[k])
                    print(
                        f"- {split}, {cal_name}: {'/'.join(k[:3])} minus {'/'.join(ks[0][:3])}: {d:+.4f} "
                        f"[{lo:+.4f}, {hi:+.4f}]"
                    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
