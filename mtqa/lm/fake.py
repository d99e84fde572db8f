"""A deterministic stand-in for the language model, for tests of everything that is not the model.

``--model fake`` (or ``Settings(model="fake")``) gives every token a made-up log-probability derived from a
hash of the token and the one before it: the same text always gets the same numbers, in any batch, worker or
process, and no weights are loaded. The engine, report, gate and CLI tests run on it; the tests of the model
and of detection use the real one. ``MTQA_FAKE_SECONDS`` (seconds per sentence, read when it scores) makes it
slow on purpose, for tests that must catch a worker mid-chunk.
"""

from __future__ import annotations

import hashlib
import os
import re
import time

import numpy as np

from mtqa.lm.base import Document, Scorer, TokenScores

FAKE_VERSION = "1"
_TOKEN = re.compile(r"\s*(?:\w+|\S)")  # a word or one symbol, with the spaces before it (like BPE tokens)


def _value(*parts: str) -> float:
    """A number in [0, 1) that depends only on ``parts``."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**32


class FakeScorer(Scorer):
    """Log-probabilities in [-8, -1) nats, entropies in [2, 4): plausible magnitudes, no meaning."""

    def __init__(self, *_, **__) -> None:
        self.name = "fake"
        self._loaded = False
        self.sentences_scored = 0  # what tests check to see whether the model was asked

    @property
    def signature(self) -> str:
        return f"lm:fake@{FAKE_VERSION}"

    def load(self) -> FakeScorer:
        self._loaded = True
        return self

    @property
    def loaded(self) -> bool:
        return self._loaded

    def score(
        self, sentences: list[str], contexts: list[str] | None = None, context_tokens: int = 32
    ) -> list[TokenScores]:
        self.load()
        self.sentences_scored += len(sentences)
        self._wait(len(sentences))
        return [
            self._unit(sentence, (contexts[k] or "") if contexts is not None and context_tokens > 0 else "")
            for k, sentence in enumerate(sentences)
        ]

    def score_documents(self, documents: list[Document]) -> list[list[TokenScores | None]]:
        """Each unit after all the text before it in its document (only the last word of it matters here)."""
        self.load()
        self._wait(sum(sum(doc.is_wanted(i) for i in range(len(doc.units))) for doc in documents))
        out = []
        for doc in documents:
            before, scores = doc.context, []
            for i, unit in enumerate(doc.units):
                scores.append(self._unit(unit, before) if doc.is_wanted(i) else None)
                self.sentences_scored += doc.is_wanted(i)
                before = f"{before}{doc.separator(i)}{unit}"
            out.append(scores)
        return out

    @staticmethod
    def _wait(n_sentences: int) -> None:
        time.sleep(float(os.environ.get("MTQA_FAKE_SECONDS") or 0) * n_sentences)

    @staticmethod
    def _unit(sentence: str, context: str) -> TokenScores:
        offsets = [m.span() for m in _TOKEN.finditer(sentence)]
        words = [sentence[a:b].strip() for a, b in offsets]
        last = context.split()[-1:] or [""]
        previous = [*last, *words[:-1]]
        lp = np.array([-1.0 - 7.0 * _value(p, w) for p, w in zip(previous, words, strict=True)], dtype=np.float32)
        ent = np.array([2.0 + 2.0 * _value(w) for w in words], dtype=np.float32)
        return TokenScores(offsets, lp, ent)
