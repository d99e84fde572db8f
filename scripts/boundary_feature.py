"""Does the LM's own vote for a sentence boundary find fused clauses? Measured on MQM dev only.

    .venv/bin/python scripts/boundary_feature.py [--benchmarks ../shared/benchmarks] [--repeats 20]

Machine translation often fuses two clauses: "... sovereign rights and development The people of your
country express ...". At the position that predicts " The" a good LM should prefer "." (a sentence end)
to " The". For every MQM dev target, conditioned exactly as the product conditions it (start token, then
up to 32 tokens of the previous segment of the same document and system; long targets in the product's
overlapping windows), one forward pass gives at each scored position i: log P(x_i) and log P(".") (and
log P(","), log P(";") for a clause-boundary variant), as logit minus logsumexp over the whole vocabulary.

Per-segment candidates (first position and last two positions excluded, where "." is expected anyway):

- ``max_lp_period``: max_i log P(".")_i
- ``max_period_gain``: max_i [log P(".")_i - log P(x_i)]
- ``max_period_gain_fused``: the same, only where x_i starts a new capitalised word right after a letter
  or digit (no punctuation between): the fused-clause pattern
- ``n_period_preferred``: positions where log P(".")_i > log P(x_i)
- ``max_boundary_gain`` / ``max_boundary_gain_fused``: as the two gains, with P(".") + P(",") + P(";")

Reported on dev (test is never read): each candidate alone (ROC-AUC, AP against the README's "garbled",
item-grouped pairwise accuracy against mqm_score), and the product's logistic regression (standardised
mtqa.calibrate.FEATURES, C=1, as scripts/calibrate.py) with and without each candidate, under 5-fold
cross-validation grouped by article (doc_id): sklearn's GroupKFold, and ``--repeats`` random grouped
5-fold splits for a paired with/without difference, beside a control that adds a shuffled copy of a
candidate (what a useless feature gains). Per-segment LM outputs are cached in /tmp/boundary/feats.npz:
the first run's forward pass over the 1,815 unique dev targets took 10 min on one thread (12 min in all),
a rerun about 90 s (model load and the repeated cross-validation).
The Markdown table is printed and written to /tmp/boundary/result.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mtqa.calibrate import FEATURES, feature_vector
from mtqa.evaluate import (
    average_precision,
    default_benchmark_dir,
    load_mqm,
    mqm_contexts,
    pairwise_accuracy,
    pairwise_accuracy_tie_calibrated,
    roc_auc,
)
from mtqa.lm import cache_dir
from mtqa.lm.transformer import TransformerScorer
from mtqa.lm.windows import layout
from mtqa.pipeline import Pipeline, context_key, unit_findings
from mtqa.settings import Settings
from mtqa.text import squash

OUT_DIR = Path("/tmp/boundary")
EXAMPLE = (
    "The ministry said it would safeguard Russia's sovereign rights and development The people of "
    "your country express their full support."
)
PUNCT = (".", ",", ";")  # columns gathered besides the target token, in this order
CANDIDATES = (
    "max_lp_period",
    "max_period_gain",
    "max_period_gain_fused",
    "n_period_preferred",
    "max_boundary_gain",
    "max_boundary_gain_fused",
)


# -- LM pass ---------------------------------------------------------------------------------------


def punct_ids(lm: TransformerScorer) -> list[int]:
    ids = []
    for p in PUNCT:
        enc = lm.tokenize([p])[0][0]
        if len(enc) != 1:
            raise SystemExit(f"{p!r} is not a single token here ({enc})")
        ids.append(enc[0])
    return ids


def _pieces(lm: TransformerScorer, ids: list[int], ctx: list[int]) -> list[tuple[list[int], int, int]]:
    """The scorer's windows over context + sentence: (input ids, first counted position, token offset)."""
    stream = [*ctx, *ids]
    return [
        ([lm.prefix_id, *stream[w.start : w.end]], 1 + w.first - w.start, w.first - len(ctx))
        for w in layout(len(ctx), [len(ctx), len(stream)], lm.max_tokens)
    ]


def boundary_scores(
    lm: TransformerScorer, sentences: list[str], contexts: list[str], context_tokens: int = 32, progress: bool = True
) -> list[dict]:
    """Per sentence: token offsets and, per token, log P(token) and log P(".") / P(",") / P(";") at its
    position, conditioned as TransformerScorer.score conditions it (same windows, same context tokens)."""
    tokenized = lm.tokenize(sentences)
    ctx_ids = [ids[-context_tokens:] if context_tokens else [] for ids, _ in lm.tokenize([c or "" for c in contexts])]
    cols = torch.tensor(punct_ids(lm))
    out = [np.zeros((len(ids), 1 + len(PUNCT)), dtype=np.float32) for ids, _ in tokenized]
    pieces = [(i, *p) for i, (ids, _) in enumerate(tokenized) if ids for p in _pieces(lm, ids, ctx_ids[i])]
    pieces.sort(key=lambda p: len(p[1]))
    head = lm.model.get_output_embeddings()
    t0, done, start, next_report = time.time(), 0, 0, 200
    with torch.inference_mode():
        while start < len(pieces):
            end = start + 1
            while end < len(pieces) and len(pieces[end][1]) * (end - start + 1) <= lm.batch_tokens:
                end += 1
            batch, width = pieces[start:end], len(pieces[end - 1][1])
            input_ids = torch.full((len(batch), width), lm.pad_id, dtype=torch.long)
            attn = torch.zeros((len(batch), width), dtype=torch.long)
            counted = torch.zeros((len(batch), width), dtype=torch.bool)
            for row, (_, ids, first, _) in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attn[row, : len(ids)] = 1
                counted[row, first : len(ids)] = True
            hidden = lm._body(input_ids, attn)
            mask = counted[:, 1:]  # position t predicts token t+1
            h, targets = hidden[:, :-1][mask], input_ids[:, 1:][mask]
            logits = head(h).float()
            if lm._softcap:
                logits = torch.tanh(logits / lm._softcap) * lm._softcap
            lse = torch.logsumexp(logits, dim=-1, keepdim=True)
            idx = torch.cat([targets[:, None], cols.expand(len(targets), -1)], dim=1)
            flat = (logits.gather(1, idx) - lse).numpy()
            k = 0
            for sent, ids, first, tok_off in batch:
                m = len(ids) - first
                out[sent][tok_off : tok_off + m] = flat[k : k + m]
                k += m
            done += end - start
            start = end
            if progress and (done >= next_report or done == len(pieces)):
                print(f"  {done}/{len(pieces)} windows, {time.time() - t0:.0f} s", file=sys.stderr)
                next_report += 200
    return [
        {"offsets": np.asarray(offs, dtype=np.int32).reshape(-1, 2), "lp": o}
        for (_, offs), o in zip(tokenized, out, strict=True)
    ]


def cached_scores(lm: TransformerScorer, signature: str, keys: list[tuple[str, str]], path: Path) -> list[dict]:
    """boundary_scores of each unique (context key, sentence), from ``path`` when it holds them all."""
    flat = [f"{c}\x1f{t}" for c, t in keys]
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        if str(z["signature"]) == signature and set(flat) <= set(z["keys"].tolist()):
            pos = {k: i for i, k in enumerate(z["keys"].tolist())}
            bounds = np.concatenate([[0], np.cumsum(z["n"])])
            return [
                {
                    "offsets": z["offsets"][bounds[pos[k]] : bounds[pos[k] + 1]],
                    "lp": z["lp"][bounds[pos[k]] : bounds[pos[k] + 1]],
                }
                for k in flat
            ]
        print(f"{path} is stale or incomplete; rescoring", file=sys.stderr)
    t0 = time.time()
    res = boundary_scores(lm, [t for _, t in keys], [c for c, _ in keys])
    print(f"LM pass over {len(keys)} targets: {time.time() - t0:.0f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        signature=signature,
        keys=np.array(flat),
        n=np.array([len(r["lp"]) for r in res]),
        offsets=np.concatenate([r["offsets"] for r in res]),
        lp=np.concatenate([r["lp"] for r in res]),
    )
    return res


# -- candidate features ------------------------------------------------------------------------------


def fused_position(sentence: str, start: int, end: int) -> bool:
    """Token [start, end) opens a capitalised word right after a letter or digit (only spaces between)."""
    j = start
    while j < end and sentence[j].isspace():
        j += 1
    k = start - 1
    while k >= 0 and sentence[k].isspace():
        k -= 1
    spaced = j > start or (start > 0 and sentence[start - 1].isspace())
    return spaced and j < end and sentence[j].isupper() and k >= 0 and sentence[k].isalnum()


def candidates(sentence: str, res: dict) -> tuple[dict, list[dict]]:
    """The candidate values of one sentence (NaN where no position qualifies) and per-position details."""
    lp = res["lp"].astype(np.float64)
    n = len(lp)
    tok, period = lp[:, 0], lp[:, 1]
    boundary = np.logaddexp.reduce(lp[:, 1:], axis=1)
    keep = np.zeros(n, dtype=bool)
    keep[1 : max(n - 2, 1)] = True
    fused = keep & np.array([fused_position(sentence, int(a), int(b)) for a, b in res["offsets"]], dtype=bool)

    def mx(v: np.ndarray, m: np.ndarray) -> float:
        return float(v[m].max()) if m.any() else float("nan")

    feats = {
        "max_lp_period": mx(period, keep),
        "max_period_gain": mx(period - tok, keep),
        "max_period_gain_fused": mx(period - tok, fused),
        "n_period_preferred": float(((period > tok) & keep).sum()),
        "max_boundary_gain": mx(boundary - tok, keep),
        "max_boundary_gain_fused": mx(boundary - tok, fused),
    }
    rows = [
        {
            "i": i,
            "token": sentence[a:b],
            "lp_tok": tok[i],
            "lp_period": period[i],
            "gain": period[i] - tok[i],
            "kept": bool(keep[i]),
            "fused": bool(fused[i]),
        }
        for i, (a, b) in enumerate(res["offsets"])
    ]
    return feats, rows


# -- evaluation --------------------------------------------------------------------------------------


def cv_scores(X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, list]:
    """Out-of-fold decision values of the product's model (standardised on the training fold, C=1)."""
    from sklearn.linear_model import LogisticRegression

    oof, fold_auc = np.zeros(len(y)), []
    for tr, te in folds:
        mean, scale = X[tr].mean(0), X[tr].std(0)
        scale[scale == 0] = 1.0
        lr = LogisticRegression(C=1.0, max_iter=1000).fit((X[tr] - mean) / scale, y[tr])
        oof[te] = lr.decision_function((X[te] - mean) / scale)
        if 0 < y[te].sum() < len(te):
            fold_auc.append(roc_auc(y[te], oof[te]))
    return oof, fold_auc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    ap.add_argument("--repeats", type=int, default=20, help="random grouped 5-fold splits for the paired delta")
    ap.add_argument("--cache-file", type=Path, default=OUT_DIR / "feats.npz")
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    torch.set_num_threads(1)
    from sklearn.model_selection import GroupKFold

    t_start = time.time()
    pipe = Pipeline(Settings(cache=str(cache_dir()), threads=1))
    lm, ctx_tokens = pipe.scorer, pipe.settings.context_tokens
    items = load_mqm(args.benchmarks, "dev")
    contexts = mqm_contexts(items)
    texts = [it.target for it in items]
    keys = [(context_key(c, ctx_tokens), squash(t)) for c, t in zip(contexts, texts, strict=True)]
    unique = sorted(set(keys))
    res = dict(
        zip(
            unique,
            cached_scores(lm, f"{pipe.lm_signature}|punct:{','.join(PUNCT)}", unique, args.cache_file),
            strict=True,
        )
    )

    # The product's features for the same targets (persistent score cache) and a check that we mirror it.
    feats = pipe.lm_step(texts, contexts)
    diff = max(
        float(np.abs(np.array([s for _, _, s in f["tokens"]]) + res[k]["lp"][:, 0]).max())
        for f, k in zip(feats, keys, strict=True)
        if f.get("tokens")
    )
    print(f"max |log P(x_i) here - product's cached score| = {diff:.4f} nats (product rounds to 0.01)\n")
    base = np.array([feature_vector(f, unit_findings(t)) for f, t in zip(feats, texts, strict=True)])
    cand = {name: np.array([candidates(k[1], res[k])[0][name] for k in keys]) for name in CANDIDATES}
    for name, v in cand.items():  # no qualifying position: the lowest value seen (label-free)
        n_nan = int(np.isnan(v).sum())
        if n_nan:
            v[np.isnan(v)] = np.nanmin(v)
            print(f"{name}: {n_nan} segments without a qualifying position, set to the dev minimum")

    y = np.array([it.garbled for it in items])
    human = [it.mqm_score for it in items]
    groups = [f"{it.doc_id}|{it.seg_id}" for it in items]
    docs = np.array([it.doc_id for it in items])
    n_tok = np.array([f.get("n_tokens", 0) for f in feats], dtype=float)
    lines = [
        f"## Boundary-probability candidates, MQM zh-en dev (n={len(y)}, garbled={int(y.sum())})",
        "",
        "### Each candidate alone (higher = more likely garbled)",
        "",
        "| score | ROC-AUC | AP | pairwise acc (eps 1e-9) | acc-t tie-calibrated | Spearman with n_tokens |",
        "|---|---|---|---|---|---|",
    ]
    from scipy.stats import spearmanr

    singles = {"length (characters)": np.array([len(t) for t in texts], dtype=float), **cand}
    for name, s in singles.items():
        lines.append(
            f"| {name} | {roc_auc(y, s):.3f} | {average_precision(y, s):.3f} | "
            f"{pairwise_accuracy(groups, human, s):.3f} | "
            f"{pairwise_accuracy_tie_calibrated(groups, human, s)[0]:.3f} | "
            f"{spearmanr(s, n_tok).statistic:.2f} |"
        )

    fixed = list(GroupKFold(n_splits=5).split(base, y, docs))
    repeats = [
        list(GroupKFold(n_splits=5, shuffle=True, random_state=r).split(base, y, docs)) for r in range(args.repeats)
    ]
    rng = np.random.default_rng(0)
    configs = {"baseline: product features (12)": base}
    configs.update({f"+ {name}": np.column_stack([base, v]) for name, v in cand.items()})
    configs["+ all six candidates"] = np.column_stack([base, *cand.values()])
    configs["control: + shuffled max_period_gain"] = np.column_stack([base, rng.permutation(cand["max_period_gain"])])
    base_rep = [roc_auc(y, cv_scores(base, y, f)[0]) for f in repeats]
    lines += [
        "",
        f"### Product logistic regression (C=1, standardised per fold), 5-fold CV grouped by article "
        f"(19 doc_ids); {args.repeats} random grouped splits for the paired difference",
        "",
        "| features | GroupKFold ROC-AUC (pooled OOF) | mean fold ROC-AUC | OOF AP | OOF pairwise acc | "
        f"{args.repeats}-split ROC-AUC mean ± sd | Δ vs baseline mean ± sd | splits with Δ>0 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, X in configs.items():
        oof, fold_auc = cv_scores(X, y, fixed)
        rep = base_rep if X is base else [roc_auc(y, cv_scores(X, y, f)[0]) for f in repeats]
        d = np.array(rep) - np.array(base_rep)
        lines.append(
            f"| {name} | {roc_auc(y, oof):.3f} | {np.mean(fold_auc):.3f} | {average_precision(y, oof):.3f} | "
            f"{pairwise_accuracy(groups, human, oof):.3f} | {np.mean(rep):.3f} ± {np.std(rep):.3f} | "
            f"{d.mean():+.4f} ± {d.std():.4f} | {int((d > 0).sum())}/{len(d)} |"
        )
    # In-sample coefficient of the main candidate, for the record (fitted on all of dev).
    from sklearn.linear_model import LogisticRegression

    X = np.column_stack([base, cand["max_period_gain_fused"]])
    Z = (X - X.mean(0)) / np.where(X.std(0) == 0, 1.0, X.std(0))
    coef = LogisticRegression(C=1.0, max_iter=1000).fit(Z, y).coef_[0]
    lines += [
        "",
        "In-sample standardised coefficients with max_period_gain_fused added: "
        + ", ".join(f"{n} {c:+.2f}" for n, c in zip([*FEATURES, "max_period_gain_fused"], coef, strict=True)),
    ]

    # Sanity check on the example (no context).
    ex = boundary_scores(lm, [EXAMPLE], [""], ctx_tokens, progress=False)[0]
    ex_feats, rows = candidates(EXAMPLE, ex)
    kept = [r for r in rows if r["kept"]]
    best_b = max(kept, key=lambda r: r["gain"])
    best_c = max((r for r in kept if r["fused"]), key=lambda r: r["gain"])
    lines += [
        "",
        f"### Example: {EXAMPLE!r}",
        "",
        f"largest (b) at token {best_b['i']} {best_b['token']!r}: log P(x)={best_b['lp_tok']:.2f}, "
        f"log P('.')={best_b['lp_period']:.2f}, gain {best_b['gain']:+.2f}",
        f"largest (c) at token {best_c['i']} {best_c['token']!r}: gain {best_c['gain']:+.2f}; "
        "runner-up gains: "
        + ", ".join(f"{r['token']!r} {r['gain']:+.2f}" for r in sorted(kept, key=lambda r: -r["gain"])[1:4]),
        "candidates: " + ", ".join(f"{k} {v:.2f}" for k, v in ex_feats.items()),
        "",
        f"Run time {time.time() - t_start:.0f} s. Command: .venv/bin/python scripts/boundary_feature.py "
        f"--repeats {args.repeats}",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "result.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
