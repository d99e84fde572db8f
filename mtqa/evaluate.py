"""Agreement with human judgement: benchmark loading and the metrics ``mtqa eval`` reports.

The benchmarks live outside the project (``../shared/benchmarks`` by default; never copied in).
dev is for tuning and fitting, test only for reporting.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MQM_DIR = "mqm_zhen_wmt23"
MLQE_FILE = "mlqe_pe/mlqe_ru-en.jsonl"


def default_benchmark_dir() -> Path | None:
    """``../shared/benchmarks`` next to the project checkout, or under the working directory's parents."""
    here = Path(__file__).resolve().parent.parent
    for base in (here, Path.cwd()):
        for cand in (base.parent / "shared" / "benchmarks", base / "shared" / "benchmarks"):
            if cand.is_dir():
                return cand
    return None


@dataclass(frozen=True)
class MQMItem:
    """One (system, segment) of the WMT23 zh-en MQM benchmark."""

    id: str
    doc_id: str
    seg_id: int
    system: str
    target: str
    mqm_score: float  # higher is worse
    garbled: bool
    major_spans: tuple[tuple[int, int], ...]  # rater-marked Major error spans on the target
    reference: str = ""  # the benchmark's English reference (often poor itself: see its README)


def is_garbled(rec: dict) -> bool:
    """The benchmark README's ground truth: Major fluency (not only "US" spelling), Major style, or
    non-translation, by any rater."""
    fluency = rec["n_raters_major_fluency"] > 0 and not rec["major_fluency_only_US_spelling"]
    return bool(fluency or rec["n_raters_major_style"] > 0 or rec["n_raters_non_translation"] > 0)


def rater_garbled(rec: dict) -> dict[str, bool]:
    """The same ground truth per rater: did this rater alone mark the segment garbled?

    A Major spelling error on the bare text "US" (one rater's house style, per the README) does not count."""
    out = {r: False for r in rec.get("raters") or []}
    for e in rec.get("errors") or []:
        if e.get("severity") != "Major" or e.get("rater") not in out:
            continue
        cat = e.get("category", "")
        us_spelling = cat == "Fluency/Spelling" and e.get("text", "").strip(" .").removesuffix("'s") == "US"
        if (cat.startswith("Fluency/") and not us_spelling) or cat.startswith(("Style/", "Non-translation")):
            out[e["rater"]] = True
    return out


def _major_spans(rec: dict) -> tuple[tuple[int, int], ...]:
    spans = set()
    for e in rec.get("errors") or []:
        if e.get("side") != "target" or e.get("severity") != "Major" or e["end"] <= e["start"]:
            continue
        cat = e.get("category", "")
        if cat.startswith(("Fluency", "Style", "Non-translation")):
            spans.add((e["start"], e["end"]))
    return tuple(sorted(spans))


def load_mqm(bench_dir: Path, split: str) -> list[MQMItem]:
    if split not in ("dev", "test"):
        raise ValueError(f"split must be dev or test, not {split!r}")
    path = Path(bench_dir) / MQM_DIR / f"{split}.jsonl"
    items = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            items.append(
                MQMItem(
                    rec["id"],
                    rec["doc_id"],
                    int(rec["seg_id"]),
                    rec["system"],
                    rec["target"],
                    float(rec["mqm_score"]),
                    is_garbled(rec),
                    _major_spans(rec),
                    rec.get("reference") or "",
                )
            )
    return items


def mqm_articles(items: list[MQMItem]) -> list[str]:
    """The article each segment belongs to: one system's translation of one document."""
    return [f"{it.doc_id}|{it.system}" for it in items]


def mqm_contexts(items: list[MQMItem]) -> list[str]:
    """Each segment's context as in an article: the previous segment of the same document and system."""
    by_pos = {(it.doc_id, it.system, it.seg_id): it.target for it in items}
    return [by_pos.get((it.doc_id, it.system, it.seg_id - 1), "") for it in items]


# -- metrics (small, with hand-made tests in tests/test_evaluate.py) --------------------------------


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Probability a random garbled item outscores a random clean one (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)))


def average_precision(labels: Sequence[bool], scores: Sequence[float]) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)))


def _pairs(groups: Sequence[str], human: Sequence[float], ours: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(human difference, our difference) for every pair of items within the same group."""
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    hd, od = [], []
    for idx in by_group.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                hd.append(human[idx[a]] - human[idx[b]])
                od.append(ours[idx[a]] - ours[idx[b]])
    return np.asarray(hd, dtype=float), np.asarray(od, dtype=float)


def pairwise_accuracy(groups: Sequence[str], human: Sequence[float], ours: Sequence[float], eps: float = 1e-9) -> float:
    """Item-grouped pairwise accuracy with ties (WMT's acc-t, with a fixed tie threshold ``eps``).

    Within each group (the translations of one source segment), every pair counts: agreement when both
    rank the pair the same way, or both call it a tie; so a metric that never ties cannot score on
    human ties. ``human`` and ``ours`` must point the same way (here: higher = worse).
    """
    hd, od = _pairs(groups, human, ours)
    if not len(hd):
        return float("nan")
    return float(np.mean(_signs(hd, 1e-9) == _signs(od, eps)))


def pairwise_accuracy_tie_calibrated(
    groups: Sequence[str], human: Sequence[float], ours: Sequence[float]
) -> tuple[float, float]:
    """acc-t with tie calibration as in WMT23: the tie threshold that maximises accuracy, and that accuracy.

    Selecting the threshold on the same data is how WMT reports it; it favours no metric over another.
    """
    hd, od = _pairs(groups, human, ours)
    if not len(hd):
        return float("nan"), 0.0
    h = _signs(hd, 1e-9)
    cands = np.unique(np.concatenate([[0.0], np.quantile(np.abs(od), np.linspace(0, 1, 201))]))
    best = max(((float(np.mean(h == _signs(od, e))), float(e)) for e in cands), key=lambda t: t[0])
    return best


def _signs(d: np.ndarray, eps: float) -> np.ndarray:
    return np.where(np.abs(d) <= eps, 0, np.sign(d))


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import pearsonr

    return float(pearsonr(a, b).statistic)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def span_hit_rate(located: Sequence[tuple[int, int] | None], gold: Sequence[Sequence[tuple[int, int]]]) -> float:
    """Share of items with gold spans whose located span overlaps at least one of them."""
    hits = n = 0
    for loc, spans in zip(located, gold, strict=True):
        if not spans:
            continue
        n += 1
        if loc is not None and any(loc[0] < e and s < loc[1] for s, e in spans):
            hits += 1
    return hits / n if n else float("nan")


def brier(labels: Sequence[bool], probs: Sequence[float]) -> float:
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probs, dtype=float)
    return float(np.mean((p - y) ** 2))


def reliability_table(labels: Sequence[bool], probs: Sequence[float], bins: int = 10) -> list[dict]:
    """Per probability bin: how many items, mean predicted probability, observed garbled rate."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probs, dtype=float)
    rows = []
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        m = (p >= lo) & ((p < hi) if k < bins - 1 else (p <= hi))
        if m.any():
            rows.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": int(m.sum()),
                    "mean_prob": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return rows


def rank_average(*scores: Sequence[float]) -> list[float]:
    """Mean of each score's rank scaled to 0..1 (ties share their mean rank): a combination of scores on
    different scales with nothing fitted, so nothing can be tuned on test."""
    from scipy.stats import rankdata

    n = len(scores[0])
    ranks = [(rankdata(s) - 1) / max(n - 1, 1) for s in scores]
    return [float(x) for x in np.mean(ranks, axis=0)]


def finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


# -- running an evaluation -----------------------------------------------------------------------

BENCHMARKS = ("mqm-zhen", "mlqe-ru-en", "realworld-dev")
MLQE_SPLITS = {"dev": ("dev",), "test": ("test20", "test21")}


def _baselines(units: list[tuple[float, dict, list]], texts: list[str]) -> dict[str, list[float]]:
    """Scores where higher means "more likely garbled", one list per scorer compared in the table."""
    return {
        "length (characters)": [float(len(t)) for t in texts],
        "mean log-prob (negated)": [-f.get("lm_mean_logprob", 0.0) for _, f, _ in units],
        "SLOR (negated)": [-f.get("slor", 0.0) for _, f, _ in units],
        "rules only": [sum(1.0 if x.severity == "major" else 0.3 for x in found) for _, _, found in units],
        "mtqa (calibrated)": [p for p, _, _ in units],
    }


def _located(units: list[tuple[float, dict, list]]) -> list[tuple[int, int] | None]:
    """The span mtqa points an editor at: the first major finding, else the LM's located break."""
    out = []
    for _, f, found in units:
        major = [x for x in found if x.severity == "major"]
        if major:
            out.append((major[0].start, major[0].end))
        elif "break" in f:
            out.append((f["break"]["start"], f["break"]["end"]))
        else:
            out.append(None)
    return out


def reference_chrf(items: list[MQMItem]) -> list[float]:
    """Sentence chrF of each target against the benchmark's reference (mtqa.reference's metric objects)."""
    from mtqa.reference import sentence_chrf

    return [sentence_chrf(it.target, it.reference) for it in items]


def _combination_features(probs: Sequence[float], chrf: Sequence[float]) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=float), 1e-6, 1 - 1e-6)
    return np.column_stack([np.log(p / (1 - p)), np.asarray(chrf, dtype=float) / 100.0])


def fit_combination(probs: Sequence[float], chrf: Sequence[float], labels: Sequence[bool]):
    """Logistic regression of "garbled" on the calibrated probability's logit and reference chrF (fit on dev)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000).fit(_combination_features(probs, chrf), np.asarray(labels, dtype=int))


def _reference_scores(
    pipeline, bench_dir: Path, split: str, items: list[MQMItem], probs: list[float]
) -> tuple[dict[str, list[float]], dict]:
    """The reference-based columns: reference chrF alone, and combined with mtqa's probability by rank average
    (nothing fitted) and by a logistic regression fitted on dev (in-sample when ``split`` is dev)."""
    chrf = reference_chrf(items)
    if split == "dev":
        dev_probs, dev_chrf, dev_y = probs, chrf, [it.garbled for it in items]
    else:
        dev = load_mqm(bench_dir, "dev")
        dev_probs = [
            p for p, _, _ in pipeline.score_sentences([it.target for it in dev], mqm_contexts(dev), mqm_articles(dev))
        ]
        dev_chrf, dev_y = reference_chrf(dev), [it.garbled for it in dev]
    model = fit_combination(dev_probs, dev_chrf, dev_y)
    scores = {
        "reference chrF (negated)": [-c for c in chrf],
        "mtqa + reference chrF (rank average)": rank_average(probs, [-c for c in chrf]),
        "mtqa + reference chrF (logistic, fitted on dev)": [
            float(p) for p in model.predict_proba(_combination_features(probs, chrf))[:, 1]
        ],
    }
    info = {
        "fitted_on": "dev",
        "features": ["logit(mtqa probability)", "reference chrF / 100"],
        "coef": [round(float(c), 4) for c in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 4),
        "chrf_signature": _chrf_signature(),
    }
    return scores, info


def _chrf_signature() -> str:
    from mtqa.reference import metrics

    return str(metrics().chrf.get_signature())


def eval_mqm(pipeline, bench_dir: Path, split: str) -> dict:
    """Garbled detection, item-grouped pairwise accuracy, correlations and span agreement on WMT23 zh-en,
    with the reference-based scores (chrF against the benchmark's poor references) beside the others."""
    items = load_mqm(bench_dir, split)
    texts = [it.target for it in items]
    units = pipeline.score_sentences(texts, mqm_contexts(items), mqm_articles(items))
    y = [it.garbled for it in items]
    human = [it.mqm_score for it in items]
    groups = [f"{it.doc_id}|{it.seg_id}" for it in items]
    table = {}
    ref_scores, combination = {}, None
    if all(it.reference for it in items):  # the WMT23 files have one for every segment
        ref_scores, combination = _reference_scores(pipeline, bench_dir, split, items, [p for p, _, _ in units])
    for name, s in {**_baselines(units, texts), **ref_scores}.items():
        table[name] = {
            "roc_auc": finite(roc_auc(y, s)),
            "average_precision": finite(average_precision(y, s)),
            "pairwise_accuracy": finite(pairwise_accuracy(groups, human, s)),
            "pairwise_acc_t": finite(pairwise_accuracy_tie_calibrated(groups, human, s)[0]),
            "kendall_tau": finite(kendall_tau(s, human)),
            "pearson": finite(pearson(s, human)),
        }
    probs = [p for p, _, _ in units]
    garbled_idx = [i for i, it in enumerate(items) if it.garbled]
    located = _located(units)
    return {
        "benchmark": "mqm-zhen",
        "split": split,
        "n": len(items),
        "n_garbled": sum(y),
        "signature": pipeline.signature,
        "table": table,
        "span_hit_rate": finite(
            span_hit_rate([located[i] for i in garbled_idx], [items[i].major_spans for i in garbled_idx])
        ),
        "brier": finite(brier(y, probs)),
        "reliability": reliability_table(y, probs),
        "combination": combination,
    }


def load_mlqe(bench_dir: Path, split: str) -> list[dict]:
    wanted = MLQE_SPLITS[split]
    with open(Path(bench_dir) / MLQE_FILE, encoding="utf-8") as fh:
        return [r for r in map(json.loads, fh) if r["split"] in wanted]


def eval_mlqe(pipeline, bench_dir: Path, split: str) -> dict:
    """Correlation with MLQE-PE ru-en direct assessment (da_z, higher is better, so scores are negated)."""
    recs = load_mlqe(bench_dir, split)
    texts = [r["target"] for r in recs]
    units = pipeline.score_sentences(texts)
    da = [-float(r["da_z"]) for r in recs]
    table = {
        name: {"pearson": finite(pearson(s, da)), "spearman": finite(spearman(s, da))}
        for name, s in _baselines(units, texts).items()
    }
    return {
        "benchmark": "mlqe-ru-en",
        "split": "+".join(MLQE_SPLITS[split]),
        "n": len(recs),
        "signature": pipeline.signature,
        "table": table,
    }


def run_eval(pipeline, benchmark: str, split: str, bench_dir: Path) -> dict:
    if benchmark == "realworld-dev":  # one development set: no split
        from mtqa.realworld import eval_realworld

        return eval_realworld(pipeline, bench_dir)
    if benchmark == "mqm-zhen":
        return eval_mqm(pipeline, bench_dir, split)
    if benchmark == "mlqe-ru-en":
        return eval_mlqe(pipeline, bench_dir, split)
    raise ValueError(f"unknown benchmark {benchmark!r}; choose from {', '.join(BENCHMARKS)}")


def eval_markdown(result: dict) -> str:
    """The result as the Markdown table docs/evaluation.md quotes."""
    if result["benchmark"] == "realworld-dev":
        from mtqa.realworld import markdown

        return markdown(result)
    cols = list(next(iter(result["table"].values())))
    lines = [
        f"### {result['benchmark']} {result['split']} (n={result['n']}"
        + (f", garbled={result['n_garbled']})" if "n_garbled" in result else ")"),
        "",
        "| scorer | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for name, row in result["table"].items():
        lines.append(f"| {name} | " + " | ".join("-" if row[c] is None else f"{row[c]:.3f}" for c in cols) + " |")
    if "span_hit_rate" in result:
        lines += [
            "",
            f"Span agreement (located span overlaps a rater's Major span, garbled segments): {result['span_hit_rate']}",
            f"Brier score of the calibrated probability: {result['brier']}",
            "",
            "| probability bin | n | mean predicted | observed garbled |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['bin']} | {r['n']} | {r['mean_prob']:.3f} | {r['observed']:.3f} |" for r in result["reliability"]
        ]
    if result.get("combination"):
        c = result["combination"]
        lines += [
            "",
            "Reference chrF is against the benchmark's references, which are often poor themselves. "
            f"Logistic combination (fitted on {c['fitted_on']}): coefficients {c['coef']} for "
            f"{', '.join(c['features'])}, intercept {c['intercept']}. chrF: `{c['chrf_signature']}`",
        ]
    lines += ["", f"Signature: `{result['signature']}`", ""]
    return "\n".join(lines)
