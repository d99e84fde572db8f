"""Language-model scoring: per-token log-probabilities with character offsets.

- :mod:`mtqa.lm.base`: the :class:`Scorer` interface, :class:`TokenScores` and :class:`Document`;
- :mod:`mtqa.lm.models`: named models (where their weights come from, install hints, shipped calibration);
- :mod:`mtqa.lm.transformer`: the transformers model, with its body in torch or ONNX Runtime;
- :mod:`mtqa.lm.windows`: cutting a document into model windows of bounded length;
- :mod:`mtqa.lm.passages`: an article as content-defined passages, with their score-cache keys;
- :mod:`mtqa.lm.fake`: a deterministic stand-in for plumbing tests (``--model fake``);
- :mod:`mtqa.lm.cache`: the persistent per-sentence score cache.

Nothing here imports torch until a model is loaded.
"""

from __future__ import annotations

import json
import os
import threading

from mtqa.lm.base import DEVICES, PRECISIONS, Document, ModelLoadError, Scorer, TokenScores
from mtqa.lm.cache import ScoreCache
from mtqa.lm.models import DEFAULT_MODEL, MODELS, ModelSource, ModelSpec, cache_dir, resolve_model

BACKENDS = ("torch", "onnx")

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "DEVICES",
    "MODELS",
    "PRECISIONS",
    "Document",
    "ModelLoadError",
    "ModelSource",
    "ModelSpec",
    "ScoreCache",
    "Scorer",
    "TokenScores",
    "cache_dir",
    "get_scorer",
    "make_scorer",
    "resolve_model",
]


def make_scorer(
    model: str | os.PathLike | None = None,
    *,
    backend: str = "torch",
    max_tokens: int = 512,
    batch_tokens: int | None = None,
    threads: int | None = None,
    precision: str = "auto",
    device: str = "auto",
    progress: bool = False,
) -> Scorer:
    """A new scorer for ``model`` (a name from :data:`MODELS`, a .gguf file or a transformers folder) with its
    body run by ``backend`` in ``precision`` (``auto``: bf16 where the CPU computes it natively, else fp32) on
    ``device`` (``auto``: the GPU when torch sees one).
    ``progress`` lets transformers show its weight-loading bar. Raises ValueError for an unknown backend,
    precision or device, and ModelLoadError for a missing model."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if str(model) == "fake":
        from mtqa.lm.fake import FakeScorer

        return FakeScorer()
    from mtqa.lm.transformer import OnnxScorer, TransformerScorer

    cls = OnnxScorer if backend == "onnx" else TransformerScorer
    return cls(
        model,
        max_tokens=max_tokens,
        batch_tokens=batch_tokens,
        threads=threads,
        precision=precision,
        device=device,
        progress=progress,
    )


_SCORERS: dict[tuple, Scorer] = {}
_SCORERS_LOCK = threading.Lock()


def get_scorer(model: str | os.PathLike | None = None, **kwargs) -> Scorer:
    """The process-wide scorer for these settings: loaded on first use, shared afterwards."""
    key = (str(model or DEFAULT_MODEL), json.dumps(kwargs, sort_keys=True))
    with _SCORERS_LOCK:
        if key not in _SCORERS:
            _SCORERS[key] = make_scorer(model, **kwargs)
        return _SCORERS[key]
