"""An article as content-defined passages: what the language model reads together, and the cache key of each
sentence's scores.

Reading a whole article as one sequence conditions every sentence on all the text before it, but then a
sentence's scores depend on everything above it: a syndicated copy with another headline, an added line at
the top or one changed word would share no score with its original. So an article's units (title, then body
sentences) are cut into passages at content-defined anchors, as deduplicating backup tools cut files into
chunks: a unit starts a new passage when a hash of its text falls in a 1-in-``every`` bucket. An edit then
changes the passages around it only, and the boundaries elsewhere fall where they fell in the original.
Each passage is read as one :class:`~mtqa.lm.base.Document` after the unit before it (its context, so the
first sentence of a passage is still conditioned on the previous one), and each unit's key is a digest of
exactly what its scores depend on: the passage's context and its units up to and including this one.

Units are joined by a space, as sentences are in running text; the title is followed by a newline, as a
headline stands above its article. Both separators are what the model saw in its training text, so the first
word of a sentence is predicted as a word after a sentence end, not glued to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from mtqa.lm.base import Document

#: A unit starts a new passage with probability 1/PASSAGE_UNITS, so passages hold this many units on average.
PASSAGE_UNITS = 8
PASSAGES_VERSION = "1"
SENTENCE_SEP = " "
TITLE_SEP = "\n"


@dataclass(frozen=True)
class Passage:
    """Consecutive units of one article, read as one document after the unit before them."""

    document: Document
    indexes: tuple[int, ...]  # the positions of its units in the article's list
    keys: tuple[str, ...]  # each unit's cache key: a digest of its context and of its passage up to it


def separators(n_units: int, title: bool) -> list[str]:
    """The separator before each of ``n_units`` units: a newline after a title, a space otherwise."""
    return ["" if i == 0 else TITLE_SEP if (i == 1 and title) else SENTENCE_SEP for i in range(n_units)]


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def is_anchor(unit: str, every: int = PASSAGE_UNITS) -> bool:
    """Whether ``unit`` starts a passage wherever it stands (the first unit of an article always does)."""
    return every > 0 and _digest(unit) % every == 0


def passages(units: Sequence[str], seps: Sequence[str] | None = None, every: int = PASSAGE_UNITS) -> list[Passage]:
    """``units`` (an article's title and body sentences, in order) as passages; ``every`` = 0 reads the whole
    article as one passage. ``seps`` is the separator before each unit (default: :func:`separators` without a
    title)."""
    seps = list(seps) if seps is not None else separators(len(units), False)
    if len(seps) != len(units):
        raise ValueError(f"{len(seps)} separators for {len(units)} units")
    starts = [i for i in range(len(units)) if i == 0 or is_anchor(units[i], every)]
    out = []
    for a, b in zip(starts, [*starts[1:], len(units)], strict=True):
        context = units[a - 1] if a > 0 else ""
        h = hashlib.blake2b(f"passage:{PASSAGES_VERSION}\x1d{context}".encode("utf-8", "surrogatepass"), digest_size=16)
        keys = []
        for i in range(a, b):
            h.update(f"\x1e{seps[i] if (i > a or context) else ''}\x1f{units[i]}".encode("utf-8", "surrogatepass"))
            keys.append(h.hexdigest())
        out.append(Passage(Document(tuple(units[a:b]), tuple(seps[a:b]), context), tuple(range(a, b)), tuple(keys)))
    return out
