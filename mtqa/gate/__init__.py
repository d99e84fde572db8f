"""The CI gate behind ``mtqa check``: which articles may be published, and why the others may not.

An article fails the gate when the policy (:mod:`mtqa.policy`) finds problems at the level ``fail_on`` asks for
(``fail``: what the report calls fail; ``review``: also what it sends to review) that a baseline does not
record; when more than ``max_flagged_share`` of its sentences are flagged; or, when it was compared with a
trusted reference and the thresholds are set, when its chrF or a sentence's chrF is below ``min_chrf`` /
``min_sentence_chrf``. Findings recorded in a baseline (by fingerprint, :mod:`mtqa.gate.baseline`) do not count,
so a team can adopt the gate on an old backlog and still fail on every new problem.

:class:`Gate` judges results as a run streams them and keeps only what the outputs need (:class:`GateOutcome`,
no article text), so ``mtqa check`` runs in bounded memory like ``mtqa score``. The outputs are modules of their
own: JUnit XML (:mod:`~mtqa.gate.junit`), SARIF (:mod:`~mtqa.gate.sarif`), GitHub Actions annotations
(:mod:`~mtqa.gate.github`) and the JSON records (:mod:`~mtqa.gate.records`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtqa import codes, policy
from mtqa.settings import Settings
from mtqa.text import truncate
from mtqa.types import ArticleResult, Segment

REF_CODE = "reference-chrf"  # the article's chrF against its reference is below min_chrf
REF_SENTENCE_CODE = "reference-sentence-chrf"  # a sentence's chrF against its reference is below min_sentence_chrf
FINGERPRINT_LEN = 16
_INPUT_SUFFIX = re.compile(r"(:\d+|#item\d+|#row\d+)$")


def fingerprint(article_id: str, sentence: str, code: str) -> str:
    """Stable id of one finding: sha256 of id, whitespace-normalised sentence and code (first 16 hex)."""
    raw = f"{article_id}\x00{' '.join(sentence.split())}\x00{code}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_LEN]


def input_path(input_: str) -> str:
    """The file an input names, without ``:LINE``, ``#itemN`` or ``#rowN``."""
    return _INPUT_SUFFIX.sub("", input_)


@dataclass
class GateFailure:
    """One counted problem. ``segment``/``start``/``end``/``line`` are None for article findings without a span;
    ``span`` is the damaged text, ``line`` its line in a plain text input (for annotations)."""

    article_id: str
    segment: int | None
    sentence: str
    code: str
    message: str
    severity: str
    start: int | None
    end: int | None
    fingerprint: str
    span: str = ""
    line: int | None = None
    score: float | None = None  # the sentence's probability, to rank failures of equal severity

    def describe(self) -> str:
        """``code (severity): message: "span"``."""
        span = " ".join(self.span.split())
        where = f': "{truncate(span, 80)}"' if span and self.code != "headline-damage" else ""
        return f"{self.code} ({self.severity}): {self.message}{where}"


@dataclass
class GateOutcome:
    """The gate's decision on one article, with what the outputs need of the article (not its text)."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    failures: list[GateFailure] = field(default_factory=list)
    suppressed: int = 0  # failures that the baseline suppressed
    unreadable: bool = False  # the input could not be read or analysed (exit status 2)
    id: str = ""
    input: str = ""
    error: str | None = None
    score: float | None = None
    verdict: str | None = None
    # flagged sentences the gate did not count: (index, score, text), for the JUnit failure details
    others: list[tuple[int, float | None, str]] = field(default_factory=list)
    candidates: set[str] = field(default_factory=set)  # every failure's fingerprint before the baseline


def _line(result: ArticleResult, offset: int | None) -> int | None:
    """Line in the input file: the corpus line for ``path:LINE``, the text line for a plain text file."""
    m = re.search(r":(\d+)$", result.input)
    if m:
        return int(m.group(1)) if not result.input.startswith("<stdin>") else None
    if offset is not None and Path(result.input).suffix.lower() in (".txt", ".text"):
        return result.text.count("\n", 0, offset) + 1
    return None


def _failure(
    result: ArticleResult,
    seg: Segment | None,
    code: str,
    message: str,
    severity: str,
    start: int | None,
    end: int | None,
    key: str | None = None,
) -> GateFailure:
    """``key`` replaces the message in an article failure's fingerprint when the message holds a figure."""
    sentence = seg.text if seg is not None else ""
    span = result.text[start:end] if start is not None and end is not None else ""
    return GateFailure(
        result.id,
        seg.index if seg is not None else None,
        sentence,
        code,
        message,
        severity,
        start,
        end,
        fingerprint(result.id, sentence or key or message, code),
        span,
        _line(result, start),
        seg.score if seg is not None else None,
    )


def reference_failures(result: ArticleResult, settings: Settings) -> list[GateFailure]:
    """Sentences and articles whose chrF against the trusted reference is below the configured minimum."""
    out: list[GateFailure] = []
    if settings.min_sentence_chrf is not None and policy.counts(REF_SENTENCE_CODE, settings):
        for seg in result.segments:
            chrf = (seg.reference or {}).get("chrf")
            if seg.kind == "body" and chrf is not None and chrf < settings.min_sentence_chrf:
                message = f"{codes.get(REF_SENTENCE_CODE).message} (chrF {chrf:.1f} < {settings.min_sentence_chrf:g})"
                out.append(_failure(result, seg, REF_SENTENCE_CODE, message, "major", seg.start, seg.end))
    chrf = (result.reference or {}).get("chrf")
    if (
        settings.min_chrf is not None
        and policy.counts(REF_CODE, settings)
        and chrf is not None
        and chrf < settings.min_chrf
    ):
        base = codes.get(REF_CODE).message
        message = f"{base} (chrF {chrf:.1f} < {settings.min_chrf:g})"
        out.append(_failure(result, None, REF_CODE, message, "major", None, None, key=base))
    return out


def candidate_failures(result: ArticleResult, settings: Settings) -> list[GateFailure]:
    """Everything that fails the gate before the baseline is applied: the policy's problems at ``fail_on``,
    then the reference thresholds."""
    found = [
        _failure(result, p.segment, p.code, p.message, p.severity, p.start, p.end, p.key)
        for p in policy.problems(result, settings, settings.fail_on)
    ]
    return found + reference_failures(result, settings)


def evaluate_gate(
    result: ArticleResult, settings: Settings | None = None, baseline: Iterable[str] = frozenset()
) -> GateOutcome:
    """Does ``result`` pass the gate under ``settings``? Failures whose fingerprint is in ``baseline`` don't
    count."""
    settings = settings or Settings()
    base = dict(id=result.id, input=result.input, error=result.error, score=result.score, verdict=result.verdict)
    if result.status != "ok":
        return GateOutcome(False, [f"could not be read: {result.error}"], unreadable=True, **base)
    known = set(baseline)
    candidates = candidate_failures(result, settings)
    failures = [f for f in candidates if f.fingerprint not in known]
    reasons = [(f"sentence {f.segment}: " if f.segment is not None else "article: ") + f.describe() for f in failures]
    share = policy.flagged_share(result, settings)
    if share > settings.max_flagged_share:
        reasons.append(f"{share:.0%} of sentences flagged (max_flagged_share {settings.max_flagged_share:g})")
    counted = {f.segment for f in failures}
    others = [(s.index, s.score, s.text) for s in result.segments if s.flagged and s.index not in counted]
    return GateOutcome(
        not reasons,
        reasons,
        failures,
        suppressed=len(candidates) - len(failures),
        others=others,
        candidates={f.fingerprint for f in candidates},
        **base,
    )


class Gate:
    """Judges each result of a run as it comes (``gate(result)``) and keeps the outcomes, not the results;
    ``records``, when given, receives every result with its outcome (the ``--json`` output, streamed)."""

    def __init__(self, settings: Settings, baseline: Iterable[str] = frozenset(), records: Any = None) -> None:
        self.settings = settings
        self.baseline = frozenset(baseline)
        self.records = records
        self.outcomes: list[GateOutcome] = []

    def __call__(self, result: ArticleResult) -> GateOutcome:
        outcome = evaluate_gate(result, self.settings, self.baseline)
        self.outcomes.append(outcome)
        if self.records is not None:
            self.records.add(result, outcome)
        return outcome


def check(
    inputs: Iterable, settings: Settings | None = None, baseline: Iterable[str] = frozenset(), pipeline=None
) -> list[tuple[ArticleResult, GateOutcome]]:
    """``mtqa check`` as a function: ``[(result, outcome), ...]``, one per article or unreadable input (this
    keeps every result; the command keeps only the outcomes).

    >>> pairs = check(["feed.xml"], Settings(ignore_rules=("run-on",)))   # doctest: +SKIP
    >>> all(o.passed for _, o in pairs)                                   # doctest: +SKIP
    """
    from mtqa.run import iter_scores

    settings = pipeline.settings if pipeline is not None else settings or Settings()
    known = frozenset(baseline)
    return [(r, evaluate_gate(r, settings, known)) for r in iter_scores(inputs, settings, pipeline)]


def exit_code(outcomes: Iterable[GateOutcome]) -> int:
    """0: every article passes; 1: some article fails; 2: some input could not be read (2 wins)."""
    outcomes = list(outcomes)
    if any(o.unreadable for o in outcomes):
        return 2
    return 1 if any(not o.passed for o in outcomes) else 0


def _worst_first(outcomes: list[GateOutcome]) -> list[GateOutcome]:
    failing = [o for o in outcomes if not o.passed and not o.unreadable]
    return sorted(
        failing,
        key=lambda o: (
            -max((policy.rank(f.severity) for f in o.failures), default=0),
            -(o.score or 0.0),
            -len(o.failures),
        ),
    )


def worst_failure(outcome: GateOutcome) -> GateFailure | None:
    """The failure to show first: the most severe, a sentence's before the article's, then the article score."""
    return max(
        outcome.failures, default=None, key=lambda f: (policy.rank(f.severity), f.segment is not None, f.score or 0.0)
    )


def summary_text(outcomes: Iterable[GateOutcome], worst: int = 5) -> str:
    """The human summary printed on stderr: counts, then the worst failing articles and every unreadable input."""
    outcomes = list(outcomes)
    n = len(outcomes)
    unreadable = [o for o in outcomes if o.unreadable]
    failed = _worst_first(outcomes)
    passed = n - len(failed) - len(unreadable)
    suppressed = sum(o.suppressed for o in outcomes)
    lines = [
        f"mtqa check: {n} article{'s' if n != 1 else ''}: {passed} passed, {len(failed)} failed, "
        f"{len(unreadable)} unreadable"
        + (f" ({suppressed} known findings suppressed by the baseline)" if suppressed else "")
    ]
    for o in failed[:worst]:
        lines.append(f"FAIL {o.id} ({o.input})")
        top = worst_failure(o)
        shown: set[str] = set()
        if top is not None and top.segment is not None:
            lines.append(f'  sentence {top.segment}: "{truncate(top.sentence)}"')
            for f in [f for f in o.failures if f.segment == top.segment][:3]:
                lines.append(f"    {f.describe()}")
                shown.add(f"sentence {f.segment}: {f.describe()}")
        others = [x for x in o.reasons if x not in shown]
        lines += [f"  {truncate(x, 160)}" for x in others[:2]]
        if len(others) > 2:
            lines.append(f"  ... and {len(others) - 2} more")
    if len(failed) > worst:
        lines.append(f"... and {len(failed) - worst} more failing articles (see --junit/--json/--sarif)")
    lines += [f"ERROR {o.input}: {o.error}" for o in unreadable]
    return "\n".join(lines) + "\n"
