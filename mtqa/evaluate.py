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


def is_garbled(rec: dict) -> bool:
    """The benchmark README's ground truth: Major fluency (not only "US" spelling), Major style, or
    non-translation, by any rater."""
    fluency = rec["n_raters_major_fluency"] > 0 and not rec["major_fluency_only_US_spelling"]
    return bool(fluency or rec["n_raters_major_style"] > 0 or rec["n_raters_non_translation"] > 0)


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
            items.append(MQMItem(rec["id"], rec["doc_id"], int(rec["seg_id"]), rec["system"], rec["target"],
                                 float(rec["mqm_score"]), is_garbled(rec), _major_spans(rec)))
    return items


# -- metrics (small, with hand-made tests in tests/test_evaluate.py) --------------------------------

def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Probability a random garbled item outscores a random clean one (ties count half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)))


def average_precision(labels: Sequence[bool], scores: Sequence[float]) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)))


def pairwise_accuracy(groups: Sequence[str], human: Sequence[float], ours: Sequence[float],
                      eps: float = 1e-9) -> float:
    """Item-grouped pairwise accuracy with ties, as WMT's acc-t (tie calibration not applied).

    Within each group (the translations of one source segment), every pair counts: agreement when both
    rank the pair the same way, or both call it a tie; so a metric that never ties cannot score on
    human ties. ``human`` and ``ours`` must point the same way (here: higher = worse).
    """
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    agree = total = 0
    for idx in by_group.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                i, j = idx[a], idx[b]
                h = _sign(human[i] - human[j], eps)
                o = _sign(ours[i] - ours[j], eps)
                agree += h == o
                total += 1
    return agree / total if total else float("nan")


def _sign(x: float, eps: float) -> int:
    return 0 if abs(x) <= eps else (1 if x > 0 else -1)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import pearsonr

    return float(pearsonr(a, b).statistic)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def span_hit_rate(located: Sequence[tuple[int, int] | None],
                  gold: Sequence[Sequence[tuple[int, int]]]) -> float:
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
            rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()), "mean_prob": float(p[m].mean()),
                         "observed": float(y[m].mean())})
    return rows


def finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)
