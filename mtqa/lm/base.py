"""The scorer interface: what the pipeline needs from a language model, and nothing more.

A scorer turns sentences (each optionally conditioned on the text before it) into per-token log-probabilities
and predictive entropies with character offsets. The transformers model (torch or ONNX Runtime body) and the
deterministic fake used by plumbing tests are implementations of it; the pipeline never asks which one it has.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class ModelLoadError(RuntimeError):
    """The language model could not be found or loaded; the message says which file and how to fix it."""


@dataclass
class TokenScores:
    """Scores of one sentence: one entry per token of the sentence (the conditioning prefix excluded)."""

    offsets: list[tuple[int, int]]  # character offsets into the sentence
    logprob: np.ndarray  # log P(token | prefix), natural log
    entropy: np.ndarray  # entropy of the model's predictive distribution at that position (nats)


class Scorer(ABC):
    """Per-token log-probabilities for sentences. One instance per process and setting (see
    :func:`mtqa.lm.get_scorer`): loading a model per article would cost seconds each."""

    #: the model's registry name (``smollm2``, ``gemma3-270m``) or file stem; picks the shipped calibration
    name: str = ""

    @property
    @abstractmethod
    def signature(self) -> str:
        """Everything that changes the numbers :meth:`score` returns: model and its hash, scorer version,
        backend, window. Cached scores are keyed by it, so scores of different scorers never mix."""

    def load(self) -> Scorer:
        """Load weights on first use; a run served wholly from the score cache never calls it."""
        return self

    @property
    def loaded(self) -> bool:
        return True

    @abstractmethod
    def score(self, sentences: list[str], contexts: list[str] | None = None,
              context_tokens: int = 32) -> list[TokenScores]:
        """Scores for each sentence, in input order; with ``contexts``, each sentence is conditioned on the
        last ``context_tokens`` tokens of its context string (the sentence before it in the article)."""
