"""Data types shared by every step of the pipeline.

All offsets are Python string offsets into the article text *as read*: for a segment or
finding, ``article.text[start:end]`` is exactly the text it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["title", "body", "boilerplate"]
Severity = Literal["minor", "major"]
Verdict = Literal["pass", "review", "fail"]

#: Order of severities, for "at least this severe" comparisons.
SEVERITY_RANK: dict[str, int] = {"minor": 1, "major": 2}


@dataclass(frozen=True)
class Article:
    """One article as read from an input, before any analysis."""

    id: str
    text: str
    input: str  # where it came from: "path" or "path:line" for corpora
    title: str | None = None  # given by the corpus; otherwise found by segmentation
    url: str | None = None
    reference: str | None = None
    source: str | None = None
    # (finding code, message) about how the input was read, e.g. ("input-encoding", "not valid UTF-8 ...")
    notes: tuple[tuple[str, str], ...] = ()
    # Normalised lines (mtqa.chrome.normalise) that recur across articles of the same source in this run,
    # set by the run loop from mtqa.chrome.RecurringLines: evidence that those lines are site chrome.
    recurring_lines: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReadError:
    """An input (file, line or row) that could not be turned into an article."""

    input: str  # "path" or "path:line"
    message: str
    id: str | None = None


@dataclass
class Suggestion:
    """A proposed repair: replace ``text[start:end]`` of the article with ``replacement``.

    ``score`` is the gain in the language model's log-probability (nats) of the repaired sentence over the
    sentence as it stands, each conditioned like the sentence itself; None when it could not be scored."""

    start: int
    end: int
    replacement: str
    score: float | None = None


@dataclass
class Finding:
    """One problem, with an exact span into the article text, and the repairs proposed for it (best first)."""

    code: str
    message: str
    severity: Severity
    start: int
    end: int
    suggestions: list[Suggestion] = field(default_factory=list)


@dataclass
class ArticleFinding:
    """A problem of the article as a whole (no single span). Its ``suggestions`` are not alternatives but the
    places to change, one each (an inconsistent name: every occurrence of a minority spelling)."""

    code: str
    message: str
    severity: Severity
    suggestions: list[Suggestion] = field(default_factory=list)


@dataclass
class Segment:
    """A title line, a boilerplate line or one body sentence (or one part of it: see ``continues``)."""

    index: int
    kind: Kind
    text: str
    start: int
    end: int
    # A body sentence the scrape broke around chrome (a photo caption, an ad) is two segments, each with its own
    # exact span; the second part names the first here. The two are read, scored and checked as one sentence
    # (mtqa.segment.readings), so both parts carry the sentence's score.
    continues: int | None = None
    score: float | None = None  # probability the sentence is garbled; None for boilerplate
    flagged: bool = False
    features: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # When a trusted reference was given: the aligned reference sentence(s) and sentence-level figures,
    # {"text": str, "chrf": float, "chrfpp": float, "ter": float}; None when no reference or unaligned.
    reference: dict[str, Any] | None = None


@dataclass
class ArticleResult:
    """Everything mtqa says about one article; serialised as ``mtqa.article/2``."""

    id: str
    input: str
    title: str | None = None
    text: str = ""
    status: Literal["ok", "error", "not_done"] = "ok"  # not_done: the run was interrupted first
    error: str | None = None
    score: float | None = None
    verdict: Verdict | None = None
    segments: list[Segment] = field(default_factory=list)
    article_findings: list[ArticleFinding] = field(default_factory=list)
    url: str | None = None
    signature: str = ""  # scorer/rules/calibration versions, for reproducibility
    # When a trusted reference was given: article-level figures with sacrebleu signatures, e.g.
    # {"bleu": float, "chrf": float, "ter": float, "signatures": {...}, "aligned": int, ...}
    reference: dict[str, Any] | None = None

    @property
    def n_sentences(self) -> int:
        return sum(1 for s in self.segments if s.kind == "body")

    @property
    def n_flagged(self) -> int:
        return sum(1 for s in self.segments if s.flagged)
