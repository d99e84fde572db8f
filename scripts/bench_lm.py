"""Language-model speed: the naive per-sentence loop versus mtqa's batched scorer, in one run.

    .venv/bin/python scripts/bench_lm.py [--sentences N] [--threads T] [--onnx] [--json FILE]

Both score the same sentences (the body sentences of data/samples/, or MQM dev targets with
--benchmarks) with the same model; --onnx adds the ONNX Runtime backend. Reports tokens/s,
sentences/s, the share of this CPU's fp32 limit, peak RSS and the largest log-probability difference
from the naive path. Figures go in docs/performance.md.
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
#: ~2 x 135M parameters of multiply-adds per token against ~190 GFLOP/s measured on 2 AVX-512 cores
#: (see ../shared/notes/model-loading.md and the LM issue): about 700 tokens/s at best in fp32.
FP32_LIMIT_TOKENS_PER_S = 700.0


def sample_sentences() -> list[str]:
    from mtqa.io import read_inputs
    from mtqa.segment import segment_article

    out = []
    for art in read_inputs([ROOT / "data" / "samples"]):
        out += [s.text for s in segment_article(art).segments if s.kind == "body"]
    return out


def naive(lm, sentences: list[str]) -> list[np.ndarray]:
    """What a first attempt looks like: one sentence at a time, full log-softmax over the vocabulary."""
    from mtqa.lm.transformer import logprob_reference

    return [logprob_reference(lm, s) for s in sentences]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=0, help="use only the first N sentences (0: all)")
    ap.add_argument("--benchmarks", type=Path, default=None, help="score MQM dev targets from this folder")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--onnx", action="store_true",
                    help="also time the ONNX Runtime backend on the same sentences (exports once, minutes)")
    args = ap.parse_args()

    from mtqa.lm import make_scorer

    if args.benchmarks:
        from mtqa.evaluate import load_mqm

        sentences = [" ".join(it.target.split()) for it in load_mqm(args.benchmarks, "dev")]
    else:
        sentences = sample_sentences()
    if args.sentences:
        sentences = sentences[: args.sentences]
    lm = make_scorer(args.model, threads=args.threads)
    n_tokens = sum(len(ids) for ids, _ in lm.tokenize(sentences))
    lm.score(sentences[:4])  # warm-up: first-call allocations are not what a long run pays

    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    ref = naive(lm, sentences)
    t_naive = time.perf_counter() - t0
    rss_naive = peak_rss_mb()
    t0 = time.perf_counter()
    ours = lm.score(sentences)
    t_ours = time.perf_counter() - t0
    rss_ours = peak_rss_mb()
    # what mtqa score runs by default: each sentence conditioned on 32 tokens of the one before it
    t0 = time.perf_counter()
    lm.score(sentences, contexts=["", *sentences[:-1]], context_tokens=32)
    t_ctx = time.perf_counter() - t0
    diff = max(float(np.abs(a - b.logprob).max()) for a, b in zip(ref, ours, strict=True) if len(a))
    onnx = None
    if args.onnx:
        onnx_lm = make_scorer(args.model, threads=args.threads, backend="onnx")
        onnx_lm.score(sentences[:4])
        t0 = time.perf_counter()
        got = onnx_lm.score(sentences)
        t_onnx = time.perf_counter() - t0
        onnx = {"seconds": round(t_onnx, 2), "tokens_per_s": round(n_tokens / t_onnx, 1),
                "sentences_per_s": round(len(sentences) / t_onnx, 2),
                "share_of_fp32_limit": round(n_tokens / t_onnx / FP32_LIMIT_TOKENS_PER_S, 3),
                "peak_rss_mb": round(peak_rss_mb()), "speedup_vs_naive": round(t_naive / t_onnx, 2),
                "max_abs_logprob_diff_vs_naive": max(float(np.abs(a - b.logprob).max())
                                                     for a, b in zip(ref, got, strict=True) if len(a))}

    import torch

    rows = {
        "model": lm.signature, "threads": torch.get_num_threads(), "sentences": len(sentences), "tokens": n_tokens,
        "naive": {"seconds": round(t_naive, 2), "tokens_per_s": round(n_tokens / t_naive, 1),
                  "sentences_per_s": round(len(sentences) / t_naive, 2),
                  "share_of_fp32_limit": round(n_tokens / t_naive / FP32_LIMIT_TOKENS_PER_S, 3),
                  "peak_rss_mb": round(max(rss0, rss_naive))},
        "mtqa": {"seconds": round(t_ours, 2), "tokens_per_s": round(n_tokens / t_ours, 1),
                 "sentences_per_s": round(len(sentences) / t_ours, 2),
                 "share_of_fp32_limit": round(n_tokens / t_ours / FP32_LIMIT_TOKENS_PER_S, 3),
                 "peak_rss_mb": round(rss_ours)},
        "mtqa_with_context": {"seconds": round(t_ctx, 2), "tokens_per_s": round(n_tokens / t_ctx, 1),
                              "sentences_per_s": round(len(sentences) / t_ctx, 2)},
        "speedup": round(t_naive / t_ours, 2),
        "max_abs_logprob_diff": diff,
        "onnx": onnx,
    }
    text = json.dumps(rows, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
