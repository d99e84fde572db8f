"""Language-model speed in one run: the naive loop, a plain batched forward pass, and mtqa's scorer paths.

    .venv/bin/python scripts/bench_lm.py [--benchmarks ../shared/benchmarks] [--articles 30] [--threads T]
        [--precision bf16] [--onnx] [--json FILE]

Articles: ``--articles`` MQM test articles (one document and system each, its rated segments in order: 30
articles are 300 sentences), or the bundled samples' body sentences with ``--samples``. Every path scores the
same articles with the same weights, one after the other in this process, after one warm-up:

- *naive*: one sentence at a time, full log-softmax over the vocabulary (``logprob_reference``), fp32;
- *plain forward, fp32, whole articles*: each article as one sequence (cut at ``--max-tokens``), batched:
  the least forward work any reading could do;
- for each reading (``previous``, the default: each sentence after 32 tokens of the one before; ``passage``:
  :mod:`mtqa.lm.passages`) and each precision (fp32, and the default's ``auto``: bf16 on CPUs that compute
  it natively; ``--precision`` adds more): *plain forward, same batches* (the ceiling): the very padded
  batches the scorer feeds the model in that reading, through ``model(...).logits`` in that precision and
  nothing else (no log-softmax, no bookkeeping); then *mtqa*, the scorer itself on the same input;
- with ``--onnx``, the ONNX Runtime backend in each reading.

Tokens/s always count the articles' own tokens (each token once), whatever a path re-reads. Reduced-precision
and ONNX paths report their largest and mean log-prob difference from mtqa fp32. Figures go in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def mqm_articles(bench: Path, split: str = "test", n: int = 30) -> list[list[str]]:
    """The first ``n`` (document, system) articles of an MQM split, their segments in order."""
    from mtqa.evaluate import load_mqm

    docs: dict[tuple, list] = {}
    for it in load_mqm(bench, split):
        docs.setdefault((it.doc_id, it.system), []).append(it)
    return [[" ".join(it.target.split()) for it in sorted(docs[k], key=lambda it: it.seg_id)] for k in sorted(docs)][:n]


def sample_articles() -> list[list[str]]:
    from mtqa.io import read_inputs
    from mtqa.segment import segment_article

    return [
        [" ".join(s.text.split()) for s in segment_article(art).segments if s.kind == "body"]
        for art in read_inputs([ROOT / "data" / "samples"])
    ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def documents(articles: list[list[str]], every: int):
    from mtqa.lm.passages import passages

    return [p.document for units in articles for p in passages(units, every=every)]


def plain_forward(lm, articles: list[list[str]], max_tokens: int, batch_tokens: int) -> None:
    """The ceiling: each article as one token sequence through ``model(...)``, length-sorted padded batches."""
    import torch

    seqs = []
    for units in articles:
        ids = [t for ids, _ in lm.tokenize([" ".join(units)]) for t in ids]
        seqs += [[lm.prefix_id, *ids[k : k + max_tokens - 1]] for k in range(0, len(ids), max_tokens - 1)]
    seqs.sort(key=len)
    with torch.inference_mode():
        start = 0
        while start < len(seqs):
            end = start + 1
            while end < len(seqs) and len(seqs[end]) * (end - start + 1) <= batch_tokens:
                end += 1
            width = len(seqs[end - 1])
            ids = torch.full((end - start, width), lm.pad_id, dtype=torch.long)
            attn = torch.zeros_like(ids)
            for row, s in enumerate(seqs[start:end]):
                ids[row, : len(s)] = torch.tensor(s)
                attn[row, : len(s)] = 1
            lm.model(input_ids=ids.to(lm.device), attention_mask=attn.to(lm.device)).logits  # noqa: B018 - timed
            start = end


def sharing(lm, other):
    """``other`` (a torch scorer with other options) on ``lm``'s loaded weights: autocast changes how the body
    runs, not the weights, so no second copy is loaded."""
    lm.load()
    other._model, other._tokenizer = lm._model, lm._tokenizer
    other.prefix_id = other.pad_id = lm.prefix_id
    other._softcap, other._ready = lm._softcap, True
    return other


def scorer_batches(lm, run) -> list[tuple]:
    """The padded batches ``run(lm)`` feeds the model (ids, attention mask), without running it."""
    seen = []

    def record(ids, attn, counted):
        seen.append((ids, attn))
        n = int(counted.sum())
        return np.zeros(n, np.float32), np.zeros(n, np.float32)

    real, lm._score_batch = lm._score_batch, record
    try:
        run(lm)
    finally:
        lm._score_batch = real
    return seen


def plain_forward_batches(lm, batches) -> None:
    """The same batches through ``model(...)`` (in ``lm``'s precision) and nothing else: the forward pass the
    scorer is built around, output head at every position included."""
    import torch

    with torch.inference_mode(), lm._autocast():
        for ids, attn in batches:
            ids_t = torch.from_numpy(ids).to(lm.device)
            lm.model(input_ids=ids_t, attention_mask=torch.from_numpy(attn).to(lm.device)).logits  # noqa: B018


def timed(fn) -> tuple[float, object]:
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()  # GPU work is asynchronous: wait for it before reading the clock
    return time.perf_counter() - t0, out


def flat(scores) -> np.ndarray:
    """All log-probs of a run, in order (``score`` gives a list, ``score_documents`` a list per document)."""
    items = [x for group in scores for x in (group if isinstance(group, list) else [group])]
    return np.concatenate([x.logprob for x in items if x is not None])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=None, help="default: ../shared/benchmarks when found")
    ap.add_argument("--samples", action="store_true", help="the bundled samples instead of MQM test articles")
    ap.add_argument("--articles", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--batch-tokens", type=int, default=None)
    ap.add_argument("--every", type=int, default=None, help="passage size (default: mtqa's PASSAGE_UNITS)")
    ap.add_argument("--precision", nargs="*", default=[], help="also time these precisions (bf16, fp16)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--onnx", action="store_true", help="also time the ONNX Runtime backend (exports once)")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive loop (slow)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    from mtqa.evaluate import default_benchmark_dir
    from mtqa.lm import make_scorer
    from mtqa.lm.passages import PASSAGE_UNITS
    from mtqa.lm.transformer import logprob_reference

    every = PASSAGE_UNITS if args.every is None else args.every
    bench = args.benchmarks or default_benchmark_dir()
    articles = sample_articles() if args.samples or bench is None else mqm_articles(bench, "test", args.articles)
    sentences = [s for units in articles for s in units]
    opts = {"max_tokens": args.max_tokens, "batch_tokens": args.batch_tokens, "threads": args.threads}
    lm = make_scorer(args.model, device=args.device, **opts)  # the default scorer (precision auto)
    exact = sharing(lm, make_scorer(args.model, device=args.device, precision="fp32", **opts))
    docs = documents(articles, every)
    contexts = [c for units in articles for c in ["", *units[:-1]]]
    readings = {  # how the pipeline calls the scorer in each reading (Settings.context)
        "previous": lambda scorer: scorer.score(sentences, contexts=contexts, context_tokens=32),
        "passage": lambda scorer: scorer.score_documents(docs),
    }
    for scorer in (lm, exact):  # warm-up: the model loads, first-call allocations happen
        scorer.score(sentences[:8], contexts=contexts[:8])
        scorer.score_documents(docs[:2])
    units = [(" " if i else "") + u for units in articles for i, u in enumerate(units)]
    n_tokens = sum(len(ids) for ids, _ in lm.tokenize(units))  # each article token once, as the scorer reads it
    import torch

    rows: dict = {
        "model": lm.signature,
        "threads": torch.get_num_threads(),
        "articles": len(articles),
        "sentences": len(sentences),
        "tokens": n_tokens,
        "every": every,
    }

    def row(seconds: float, **extra) -> dict:
        return {
            "seconds": round(seconds, 2),
            "tokens_per_s": round(n_tokens / seconds, 1),
            "sentences_per_s": round(len(sentences) / seconds, 2),
            "peak_rss_mb": round(peak_rss_mb()),
            **extra,
        }

    if not args.no_naive:
        t, _ = timed(lambda: [logprob_reference(exact, s) for s in sentences])
        rows["naive"] = row(t)
    t_plain, _ = timed(lambda: plain_forward(exact, articles, args.max_tokens, lm.batch_tokens))
    rows["plain_forward_fp32_whole_articles"] = row(t_plain)
    scorers = [("fp32", exact)] + ([(lm.precision, lm)] if lm.precision != "fp32" else [])
    scorers += [
        (p, sharing(lm, make_scorer(args.model, device=args.device, precision=p, **opts)))
        for p in args.precision
        if p not in ("fp32", lm.precision)
    ]
    reference: dict[str, np.ndarray] = {}
    for reading, run in readings.items():
        batches = scorer_batches(lm, run)
        fed = {
            "padded_tokens": int(sum(ids.size for ids, _ in batches)),
            "fed_tokens": int(sum(attn.sum() for _, attn in batches)),
        }
        for precision, scorer in scorers:
            t_same, _ = timed(lambda s=scorer, b=batches: plain_forward_batches(s, b))
            rows[f"plain_forward_{precision}_{reading}_batches"] = row(t_same, **fed)
            t, got = timed(lambda s=scorer, r=run: r(s))
            extra = {"share_of_plain_forward_same_batches": round(t_same / t, 3)}
            if precision == "fp32":
                reference[reading] = flat(got)
            else:
                diff = np.abs(flat(got) - reference[reading])
                extra |= {
                    "max_abs_logprob_diff_vs_fp32": float(diff.max()),
                    "mean_abs_logprob_diff_vs_fp32": float(diff.mean()),
                }
            default = " (default)" if scorer is lm and reading == "previous" else ""
            rows[f"mtqa_{precision}_{reading}{default}"] = row(t, **extra)
    if args.onnx:
        onnx = make_scorer(args.model, backend="onnx", **opts)
        onnx.score(sentences[:8], contexts=contexts[:8])
        onnx.score_documents(docs[:2])
        for reading, run in readings.items():
            t, got = timed(lambda r=run: r(onnx))
            diff = np.abs(flat(got) - reference[reading])
            rows[f"mtqa_onnx_{reading}"] = row(t, max_abs_logprob_diff_vs_fp32=float(diff.max()))
    if "naive" in rows:
        for name in [k for k in rows if k.startswith("mtqa")]:
            rows[name]["speedup_vs_naive"] = round(rows["naive"]["seconds"] / rows[name]["seconds"], 2)
    text = json.dumps(rows, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
