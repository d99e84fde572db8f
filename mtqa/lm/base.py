"""The scorer interface: what the pipeline needs from a language model, and nothing more.

A scorer turns text into per-token log-probabilities and predictive entropies with character offsets: either
sentences each conditioned on a short context (:meth:`Scorer.score`), or whole documents (an article's title
and sentences in reading order) in one pass, each unit conditioned on all the text before it
(:meth:`Scorer.score_documents`). The transformers model (torch or ONNX Runtime body) and the deterministic fake
used by plumbing tests are implementations of it; the pipeline never asks which one it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

#: Numeric precision of the transformer body; the output head and log-softmax always run in fp32. ``auto`` is
#: bf16 where the processor computes it natively (it passed the eval rule: docs/performance.md), else fp32.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: Where the model runs; ``auto`` is the GPU when torch sees one, else the CPU.
DEVICES = ("auto", "cpu", "cuda")


class ModelLoadError(RuntimeError):
    """The language model could not be found or loaded; the message says which file and how to fix it."""


@dataclass
class TokenScores:
    """Scores of one sentence: one entry per token of the sentence (the conditioning prefix excluded)."""

    offsets: list[tuple[int, int]]  # character offsets into the sentence
    logprob: np.ndarray  # log P(token | prefix), natural log
    entropy: np.ndarray  # entropy of the model's predictive distribution at that position (nats)


@dataclass(frozen=True)
class Document:
    """Text units read in order as one sequence: ``context``, then each unit preceded by its separator.

    Each unit is conditioned on everything before it (``context`` and the earlier units), and only the units
    marked in ``wanted`` get scores back; the others are read, as context, all the same. Which units are
    wanted never changes the numbers of the others: the windows a long document is cut into depend only on
    the text. Separators are part of the sequence but belong to no unit: a space between sentences, a
    newline after a title (see :mod:`mtqa.lm.passages`)."""

    units: tuple[str, ...]
    seps: tuple[str, ...] | None = None  # the separator before each unit (None: a space); ignored before the first
    context: str = ""  # read before the first unit, never scored; its last ``max_tokens // 4`` tokens are kept
    wanted: tuple[bool, ...] | None = None  # which units to score (None: all)

    def __post_init__(self) -> None:
        for name in ("seps", "wanted"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.units):
                raise ValueError(f"Document.{name} has {len(value)} entries for {len(self.units)} units")

    def separator(self, i: int) -> str:
        """What stands between unit ``i`` and the text before it ("" at the very start of the sequence)."""
        if i == 0 and not self.context:
            return ""
        return " " if self.seps is None else self.seps[i]

    def is_wanted(self, i: int) -> bool:
        return self.wanted is None or self.wanted[i]


class Scorer(ABC):
    """Per-token log-probabilities for sentences. One instance per process and setting (see
    :func:`mtqa.lm.get_scorer`): loading a model per article would cost seconds each."""

    #: the model's registry name (``smollm2``, ``gemma3-270m``) or file stem; picks the shipped calibration
    name: str = ""

    @property
    @abstractmethod
    def signature(self) -> str:
        """Everything that changes the numbers :meth:`score` returns: model and its hash, scorer version,
        backend, precision, device, window. Cached scores are keyed by it, so scores of different scorers
        never mix."""

    def load(self) -> Scorer:
        """Load weights on first use; a run served wholly from the score cache never calls it."""
        return self

    @property
    def loaded(self) -> bool:
        return True

    @abstractmethod
    def score(
        self, sentences: list[str], contexts: list[str] | None = None, context_tokens: int = 32
    ) -> list[TokenScores]:
        """Scores for each sentence, in input order; with ``contexts``, each sentence is conditioned on the
        last ``context_tokens`` tokens of its context string (the sentence before it in the article)."""

    @abstractmethod
    def score_documents(self, documents: list[Document]) -> list[list[TokenScores | None]]:
        """For each document, the scores of each of its units (None for a unit not wanted), each unit
        conditioned on all the text before it in its document. Offsets are relative to the unit."""
