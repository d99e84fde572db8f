"""Choose the sentence-alignment settings of data/reference.json on MQM dev, and only on dev.

    .venv/bin/python scripts/tune_reference.py [--benchmarks ../shared/benchmarks] [--articles N]
                                               [--reference GPT4-5shot|benchmark]

Every (document, system) of the dev split is an article of about 10 MT segments with a known 1-1
alignment to a trusted version: by default the same document as translated by GPT4-5shot (the best system
by MQM: a faithful independent translation, as a human translation would be); ``--reference benchmark``
uses the benchmark's own references, which are poor (see its README). Each article is also damaged with
known answers: an MT segment dropped (an omission), a reference segment dropped (an addition), two MT
segments joined (a 1-2 step), two reference segments joined (a 2-1 step), and an MT segment replaced by one
of another story (an addition and an omission at the same place). For each (beta, min_chrf, merge_penalty)
on a grid the script aligns all of them and prints bead F1 (a predicted step counts when it is exactly a
gold step), the precision and recall of unaligned sentences (what becomes a finding) and, per case, the
share of articles aligned exactly right. chrF is computed once per pair and shared by the grid. No LM is
needed; a few minutes for the whole split.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from sacrebleu.metrics import CHRF

from mtqa.evaluate import MQM_DIR, default_benchmark_dir, load_mqm
from mtqa.reference import AlignSettings, align, settings

PSEUDO_REFERENCE = "GPT4-5shot"  # the best system by MQM on dev: a faithful, fluent independent translation
GRID_MIN_CHRF = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)
GRID_MERGE_PENALTY = (0.0, 5.0, 10.0)
GRID_BETA = (1.0, 2.0)  # chrF's beta for the alignment similarity

Beads = set[tuple[tuple[int, ...], tuple[int, ...]]]


def _identity(n: int) -> Beads:
    return {((k,), (k,)) for k in range(n)}


def _cases(
    mt: list[str], ref: list[str], stranger: str, rng: random.Random
) -> list[tuple[str, list[str], list[str], Beads]]:
    """(name, mt units, ref units, gold beads) for the article as it is and with each kind of damage;
    ``stranger`` is a segment of another document, which replaces one MT segment in the "replaced" case."""
    n = len(mt)
    out = [("as is", mt, ref, _identity(n))]
    if n < 4:
        return out
    k = rng.randrange(1, n - 1)

    def renumber(beads: list[tuple[list[int], list[int]]]) -> Beads:
        return {(tuple(a), tuple(b)) for a, b in beads}

    # MT segment k dropped: reference k is an omission
    gold = [([i - (i > k)], [i]) for i in range(n) if i != k] + [([], [k])]
    out.append(("omission", mt[:k] + mt[k + 1 :], ref, renumber(gold)))
    # reference segment k dropped: MT k is an addition
    gold = [([i], [i - (i > k)]) for i in range(n) if i != k] + [([k], [])]
    out.append(("addition", mt, ref[:k] + ref[k + 1 :], renumber(gold)))
    # MT k and k+1 joined: one MT unit for two reference units (1-2)
    gold = [([i - (i > k)], [i]) for i in range(n) if i not in (k, k + 1)] + [([k], [k, k + 1])]
    out.append(("1-2", mt[:k] + [f"{mt[k]} {mt[k + 1]}"] + mt[k + 2 :], ref, renumber(gold)))
    # reference k and k+1 joined (2-1)
    gold = [([i], [i - (i > k)]) for i in range(n) if i not in (k, k + 1)] + [([k, k + 1], [k])]
    out.append(("2-1", mt, ref[:k] + [f"{ref[k]} {ref[k + 1]}"] + ref[k + 2 :], renumber(gold)))
    # MT k replaced by a sentence of another story: an addition and an omission at the same place
    gold = [([i], [i]) for i in range(n) if i != k] + [([k], []), ([], [k])]
    out.append(("replaced", mt[:k] + [stranger] + mt[k + 1 :], ref, renumber(gold)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    ap.add_argument("--articles", type=int, default=None, help="use only the first N (document, system) articles")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--reference",
        default=PSEUDO_REFERENCE,
        help="'benchmark' for the benchmark's references, or a system whose output plays the reference",
    )
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    by_article: dict[tuple[str, str], list] = defaultdict(list)
    for it in load_mqm(args.benchmarks, "dev"):
        by_article[(it.doc_id, it.system)].append(it)
    with (args.benchmarks / MQM_DIR / "dev.jsonl").open(encoding="utf-8") as fh:
        refs = {rec["id"]: rec["reference"] for rec in map(json.loads, fh)}
    rng = random.Random(args.seed)
    keys = sorted(k for k in by_article if k[1] != args.reference)[: args.articles]
    cases = []
    for key in keys:
        items = sorted(by_article[key], key=lambda it: it.seg_id)
        if args.reference == "benchmark":
            ref = [refs[it.id] for it in items]
        else:  # another system's translation of the same document plays the trusted version
            other = {it.seg_id: it.target for it in by_article[(key[0], args.reference)]}
            ref = [other[it.seg_id] for it in items]
        strangers = [
            it.target for (doc, system), its in by_article.items() if doc != key[0] and system == key[1] for it in its
        ]
        cases += _cases([it.target for it in items], ref, rng.choice(sorted(strangers)), rng)
    print(f"{len(keys)} dev articles, {len(cases)} cases", file=sys.stderr)
    base = settings()
    stats: dict[tuple[float, float, float], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    chrf = {beta: CHRF(beta=beta) for beta in GRID_BETA}
    for name, mt, ref, gold in cases:
        memo: dict[tuple[float, int, int, int, int], float] = {}
        for beta, t, p in itertools.product(GRID_BETA, GRID_MIN_CHRF, GRID_MERGE_PENALTY):

            def sim(a: range, b: range, mt=mt, ref=ref, memo=memo, beta=beta) -> float:
                key = (beta, a.start, a.stop, b.start, b.stop)
                if key not in memo:
                    hyp, r = " ".join(mt[a.start : a.stop]), [" ".join(ref[b.start : b.stop])]
                    memo[key] = chrf[beta].sentence_score(hyp, r).score
                return memo[key]

            pred = {(b.mt, b.ref) for b in align(len(mt), len(ref), sim, AlignSettings(t, p, base.band, beta))}
            s = stats[(beta, t, p)]
            s["gold"] += len(gold)
            s["pred"] += len(pred)
            s["hit"] += len(pred & gold)
            un_gold = {x for x in gold if not (x[0] and x[1])}
            un_pred = {x for x in pred if not (x[0] and x[1])}
            s["un_gold"] += len(un_gold)
            s["un_pred"] += len(un_pred)
            s["un_hit"] += len(un_pred & un_gold)
            s[f"exact {name}"] += pred == gold
            s[f"n {name}"] += 1
    kinds = ("as is", "omission", "addition", "1-2", "2-1", "replaced")
    print(
        "| beta | min_chrf | merge_penalty | bead F1 | unaligned precision | unaligned recall | "
        + " | ".join(f"exact {k}" for k in kinds)
        + " |"
    )
    print("|---|---|---|---|---|---|" + "---|" * len(kinds))
    for (beta, t, p), s in sorted(stats.items()):
        prec, rec = s["hit"] / max(s["pred"], 1), s["hit"] / max(s["gold"], 1)
        f1 = 2 * prec * rec / max(prec + rec, 1e-9)
        up, ur = s["un_hit"] / max(s["un_pred"], 1), s["un_hit"] / max(s["un_gold"], 1)
        exact = " | ".join(f"{s[f'exact {k}'] / max(s[f'n {k}'], 1):.2f}" for k in kinds)
        print(f"| {beta:g} | {t:g} | {p:g} | {f1:.3f} | {up:.2f} | {ur:.2f} | {exact} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
