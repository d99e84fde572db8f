"""Fit the garble probability (data/calibration.json) on the real-world dev pages, with leave-one-case-out figures.

    .venv/bin/python scripts/calibrate.py [--benchmarks ../shared/benchmarks] [--out FILE] [--model NAME]
    .venv/bin/python scripts/calibrate.py --model gemma3-270m     # writes data/calibration-gemma3-270m.json

The model is a logistic regression over mtqa.calibrate.FEATURES: three figures of the unit (mean log-probability,
SLOR, length) and the median mean log-probability and SLOR of its article's body sentences. Its training units
are the titles and body sentences of realworld_dev as mtqa segments them: garbled when they overlap a sure garbled
label, clean when they overlap only clean labels (unsure and unlabelled units are left out).

Printed, and stored in the file's ``meta``: the in-sample figures and the leave-one-case-out ones (each case
scored by a model fitted on the other 46), both as the unit ROC-AUC and as ``mtqa eval --benchmark realworld-dev``
would count them with the shipped flag policy. MQM dev/test figures are measured with ``mtqa eval`` afterwards.
Each model's features have their own scale, so each model gets its own file (mtqa.lm.models.MODELS).
LM scores go through the persistent score cache, so a refit after a feature change takes seconds.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mtqa import policy, realworld
from mtqa.calibrate import ARTICLE_FEATURES, FEATURES, Calibration, article_medians, article_vectors
from mtqa.evaluate import default_benchmark_dir, roc_auc
from mtqa.lm.models import shipped_calibration
from mtqa.pipeline import Pipeline
from mtqa.report import article_to_dict
from mtqa.run import iter_scores
from mtqa.settings import Settings
from mtqa.types import ArticleResult

DATA = Path(__file__).resolve().parent.parent / "data"
DETAILS = "--details" in sys.argv  # list the flags on native controls, per run


def units(result: ArticleResult) -> list:
    """The article's scored units (title and body sentences), in text order."""
    return [s for s in result.segments if s.kind in ("title", "body") and s.features.get("n_tokens")]


def unit_labels(bench: realworld.Bench, result: ArticleResult) -> list[int | None]:
    """1 garbled (overlaps a sure garbled label), 0 clean (overlaps only clean labels), None otherwise."""
    labs = bench.labels.get(result.id, [])
    path = bench.cases[result.id]
    spans = realworld.locate(
        result.text, labs, path.suffix == ".txt" and path.read_text(encoding="utf-8") == result.text
    )
    out: list[int | None] = []
    for seg in units(result):
        over = [lb for lb, sp in zip(labs, spans, strict=True) if sp and realworld.overlaps(*sp, seg.start, seg.end)]
        if any(lb["garbled"] and not lb["unsure"] for lb in over):
            out.append(1)
        elif over and not any(lb["garbled"] for lb in over):
            out.append(0)
        else:
            out.append(None)
    return out


def fit(x: np.ndarray, y: np.ndarray, C: float, meta: dict | None = None) -> Calibration:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=1000).fit((x - mean) / scale, y)
    return Calibration(
        list(FEATURES),
        mean.round(6).tolist(),
        scale.round(6).tolist(),
        lr.coef_[0].round(6).tolist(),
        round(float(lr.intercept_[0]), 6),
        meta or {},
    )


def page_figures(
    bench: realworld.Bench, results: Sequence[ArticleResult], probs: dict[tuple[str, int], float], settings: Settings
) -> dict:
    """The benchmark's figures when each unit gets ``probs[(article id, segment index)]`` and the policy flags."""
    records = {}
    for r in results:
        for seg in units(r):
            seg.score = round(probs[(r.id, seg.index)], 4)
        for seg in r.segments:
            seg.flagged = policy.flags(seg, settings)
        r.score = round(max((s.score for s in r.segments if s.kind == "body" and s.score is not None), default=0), 4)
        r.verdict = policy.verdict(r, settings)
        records[r.id] = article_to_dict(r)
    f = realworld.figures(bench, records)
    s, a = f["sentences"], f["articles"]
    if DETAILS:
        for r in results:
            for seg in units(r):
                if seg.flagged and r.id.startswith("native-"):
                    print(
                        f"  native flag [{r.id}] {seg.kind} {seg.score} {[x.code for x in seg.findings]} "
                        f"{seg.text[:90]!r}",
                        file=sys.stderr,
                    )
    return {
        "precision": s["precision"],
        "recall": s["recall"],
        "f1": s["f1"],
        "hits": s["hits"],
        "false_alarms": s["false_alarms"],
        "native_false_alarms": s["false_alarms_native"],
        "garbled_articles_flagged": f"{a['garbled_flagged']}/{a['garbled']}",
        "native_pass": f"{a['native_pass']}/{a['native']}",
        "clean_mt_pass": f"{a['clean_mt_pass']}/{a['clean_mt']}",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    ap.add_argument("--out", type=Path, help="default: the model's shipped file in data/")
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--C",
        type=float,
        default=0.3,
        help="inverse L2 strength of the logistic regression (0.3: chosen "
        "among 0.1, 0.3, 1 and 3 on the leave-one-case-out figures, docs/evaluation.md)",
    )
    ap.add_argument(
        "--context",
        choices=("previous", "passage"),
        default="previous",
        help="how articles are read (Settings.context); each reading has its own shipped file",
    )
    ap.add_argument("--details", action="store_true", help="list every flag on a native control")
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    # fitted on the reference numerics, whatever the CPU
    settings = Settings(model=args.model, precision="fp32", context=args.context)
    zeros = [0.0] * len(FEATURES)
    placeholder = Calibration(list(FEATURES), zeros, [1.0] * len(FEATURES), zeros, 0.0)
    pipe = Pipeline(settings, calibration=placeholder)  # the features do not depend on the calibration
    bench = realworld.load(args.benchmarks)
    print(f"scoring {len(bench.cases)} cases with {pipe.lm_signature} ...", file=sys.stderr)
    results = list(iter_scores(list(bench.cases.values()), pipeline=pipe))
    # the population the article figures of a short article lean towards: the mean over the training articles
    medians = [article_medians([s.features for s in units(r) if s.kind == "body"]) for r in results]
    prior = {k: round(float(np.mean([m[k] for m, n in medians if n])), 6) for k in ARTICLE_FEATURES}
    rows = []  # (case, segment index, vector, label)
    for r in results:
        segs = units(r)
        vectors = article_vectors([s.features for s in segs], [s.kind == "body" for s in segs], prior)
        rows += [(r.id, s.index, x, y) for s, x, y in zip(segs, vectors, unit_labels(bench, r), strict=True)]
    train = [(c, i, x, y) for c, i, x, y in rows if y is not None]
    x_all = np.array([x for _, _, x, _ in rows])
    x = np.array([x for _, _, x, _ in train])
    y = np.array([y for _, _, _, y in train])
    cases = np.array([c for c, _, _, _ in train])

    cv_probs: dict[tuple[str, int], float] = {}
    for case in sorted(set(c for c, _, _, _ in rows)):
        held = [(c, i, xx) for c, i, xx, _ in rows if c == case]
        model = fit(x[cases != case], y[cases != case], args.C)  # (the prior is a mean over all 47 articles)
        cv_probs.update({(c, i): model.predict(list(xx)) for c, i, xx in held})
    cal = fit(x, y, args.C)
    cal.article_prior = prior
    in_probs = {(c, i): cal.predict(list(xx)) for (c, i, _, _), xx in zip(rows, x_all, strict=True)}
    shipped = Settings(model=args.model, context=args.context)
    cal.meta = {
        "fitted_on": "realworld_dev: titles and body sentences as mtqa segments them; garbled = overlaps a sure "
        "garbled label, clean = overlaps only clean labels",
        "n": int(len(y)),
        "n_garbled": int(y.sum()),
        "C": args.C,
        "lm": pipe.lm_signature,
        "in_sample": {
            "unit_roc_auc": round(roc_auc(y, [in_probs[(c, i)] for c, i, _, _ in train]), 4),
            **page_figures(bench, results, in_probs, shipped),
        },
        "leave_one_case_out": {
            "unit_roc_auc": round(roc_auc(y, [cv_probs[(c, i)] for c, i, _, _ in train]), 4),
            **page_figures(bench, results, cv_probs, shipped),
        },
        "command": "python scripts/calibrate.py"
        + (f" --model {args.model}" if args.model else "")
        + (f" --context {args.context}" if args.context != "previous" else ""),
        "date": datetime.date.today().isoformat(),
    }
    out = args.out or DATA / shipped_calibration(args.model, args.context)
    out.write_text(cal.to_json() + "\n", encoding="utf-8")
    print(json.dumps(cal.meta, indent=1))
    for name, c in sorted(zip(FEATURES, cal.coef, strict=True), key=lambda t: -abs(t[1])):
        print(f"  {name:28s} {c:+.3f}")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
