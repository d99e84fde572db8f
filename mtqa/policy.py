"""The flag policy: which sentences are flagged, which articles pass, go to review or fail, and why.

Every decision of the form "is this sentence bad" is made here, from the findings and scores the pipeline
produced and the :class:`~mtqa.settings.Settings`: the pipeline's flags and verdicts, and the CI gate's failures,
are the same functions applied with and without a baseline, so a report and the gate never disagree.

- A sentence is **flagged** when its garble probability reaches ``flag_threshold``, or when it has a finding
  whose code flags by default (``data/codes.tsv``), of at least ``flag_severity``, that is not ignored.
- An article's **problems** at a level are the evidence that puts it there: at ``fail``, findings of at least
  ``fail_severity`` and sentences at ``fail_threshold``; at ``review``, any flagging finding and sentences at
  ``review_threshold``. Its **verdict** is ``fail`` when it has fail problems, ``review`` when it has review
  problems or a flagged sentence, else ``pass``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mtqa import codes
from mtqa.settings import Settings
from mtqa.types import SEVERITY_RANK, ArticleResult, Segment, Verdict

LM_CODE = "lm-score"  # a sentence whose probability alone puts its article at a level
LEVELS = ("review", "fail")


def rank(severity: str) -> int:
    """Severities in order (minor < major); an unknown severity ranks as major, so it is never overlooked."""
    return SEVERITY_RANK.get(severity, SEVERITY_RANK["major"])


@dataclass(frozen=True)
class Problem:
    """One piece of evidence against an article: a finding, or a sentence's probability (code ``lm-score``).

    ``segment`` is None for an article finding without a span; ``key`` stands in for the sentence in the
    problem's fingerprint when there is none (mtqa.gate.baseline)."""

    code: str
    message: str
    severity: str
    segment: Segment | None
    start: int | None
    end: int | None
    key: str | None = None


def counts(code: str, settings: Settings) -> bool:
    """Whether findings of ``code`` count at all under ``settings`` (``ignore_rules``)."""
    return code not in settings.ignore_rules


def flags(seg: Segment, settings: Settings) -> bool:
    """Is this sentence flagged? Its probability reaches ``flag_threshold`` (a headline's ``title_threshold``),
    or a finding that flags by default, of at least ``flag_severity`` and not ignored, marks damage in it."""
    if seg.kind == "boilerplate":
        return False
    threshold = settings.title_threshold if seg.kind == "title" else settings.flag_threshold
    if seg.score is not None and seg.score >= threshold and counts(LM_CODE, settings):
        return True
    floor = rank(settings.flag_severity)
    return any(
        counts(f.code, settings) and _flags_by_default(f.code) and rank(f.severity) >= floor for f in seg.findings
    )


def _flags_by_default(code: str) -> bool:
    row = codes.registry().get(code)
    return row.flags if row is not None else True  # an unregistered code is treated as evidence


def flagging_codes(found: Iterable[str]) -> list[str]:
    """Of the finding codes ``found``, those that flag by default, each once: what flagged a sentence (none:
    the language model's score did), in the words reports and the real-page figures use."""
    return list(dict.fromkeys(c for c in found if _flags_by_default(c)))


def problems(result: ArticleResult, settings: Settings, level: str = "fail") -> list[Problem]:
    """The evidence that puts ``result`` at ``level`` ("fail" or "review"), in text order: findings first, and
    a sentence's probability only when none of its findings counts at that level."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    floor = rank(settings.fail_severity) if level == "fail" else rank("minor")
    review = min(settings.review_threshold, settings.fail_threshold)
    title_review = min(max(settings.review_threshold, settings.title_threshold), settings.fail_threshold)
    out: list[Problem] = []
    for seg in result.segments:
        hits = [
            f
            for f in seg.findings
            if counts(f.code, settings) and rank(f.severity) >= floor and (level == "fail" or _flags_by_default(f.code))
        ]
        out += [Problem(f.code, f.message, f.severity, seg, f.start, f.end) for f in hits]
        # a headline's probability counts at review from title_threshold up (headlines read less fluently)
        threshold = settings.fail_threshold if level == "fail" else title_review if seg.kind == "title" else review
        if (
            seg.kind != "boilerplate"
            and seg.score is not None
            and seg.score >= threshold
            and not hits
            and counts(LM_CODE, settings)
        ):
            start, end = _break_or_sentence(seg)
            severity = "major" if seg.score >= settings.fail_threshold else "minor"
            message = f"{codes.get(LM_CODE).message} (probability {seg.score:.2f} >= {threshold:g})"
            out.append(Problem(LM_CODE, message, severity, seg, start, end))
    for af in result.article_findings:
        if (
            not counts(af.code, settings)
            or rank(af.severity) < floor
            or (level == "review" and not _flags_by_default(af.code))
        ):
            continue
        out.append(Problem(af.code, af.message, af.severity, None, None, None))
    return out


def _break_or_sentence(seg: Segment) -> tuple[int, int]:
    """The LM's located break when it lies inside the sentence, else the whole sentence."""
    brk = (seg.features or {}).get("break") or {}
    start, end = brk.get("start", seg.start), brk.get("end", seg.end)
    return (start, end) if seg.start <= start < end <= seg.end else (seg.start, seg.end)


def verdict(result: ArticleResult, settings: Settings) -> Verdict:
    """``fail`` for damage that must be fixed before publication, ``review`` for what an editor should look at,
    ``pass`` otherwise (flags must already be set: :func:`flags`)."""
    if problems(result, settings, "fail"):
        return "fail"
    if problems(result, settings, "review") or any(s.flagged for s in result.segments):
        return "review"
    return "pass"


def flagged_share(result: ArticleResult, settings: Settings) -> float:
    """Share of body sentences flagged under ``settings`` (ignored codes do not flag)."""
    body = [s for s in result.segments if s.kind == "body"]
    return sum(flags(s, settings) for s in body) / len(body) if body else 0.0


def signature(settings: Settings) -> str:
    """The policy fields that change flags and verdicts in reports (the gate's own fields do not)."""
    s = settings
    ignored = ",".join(sorted(s.ignore_rules)) or "-"
    return (
        f"flag:{s.flag_threshold}/{s.flag_severity}|title:{s.title_threshold}|review:{s.review_threshold}|"
        f"fail:{s.fail_threshold}/{s.fail_severity}|ignore:{ignored}"
    )
