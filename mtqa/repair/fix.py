"""``mtqa fix``: each article with the top suggestions applied where the language model is sure of them, and a
unified diff of what changed.

Only suggestions of the codes in ``fix_codes`` (``data/repair.json``) are applied, only non-overlapping ones, and
only where :func:`clears` lets them through (``Settings.fix_min_gain`` and ``fix_min_margin``). A sentence that
gets more than one repair is scored again with all of them applied, so no repaired sentence reads worse to the
model than the original. Text outside the applied repairs is never touched.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from mtqa.pipeline import sentence_contexts
from mtqa.repair.candidates import fix_codes
from mtqa.settings import Settings
from mtqa.types import ArticleResult, Finding, Segment, Suggestion


@dataclass(frozen=True)
class Edit:
    """One repair ``mtqa fix`` applies: a finding's top suggestion, or one place of an article finding."""

    start: int
    end: int
    replacement: str
    score: float
    code: str
    group: int  # the places of one article finding are applied together or not at all


def _clash(a: Edit, b: Edit) -> bool:
    return (a.start < b.end and b.start < a.end) or a.start == b.start


def clears(finding: Finding, min_gain: float, min_margin: float) -> bool:
    """The finding's top suggestion is good enough for ``mtqa fix``: the language model reads the repaired
    sentence at least ``min_gain`` nats better than the original and, when there were alternatives, at least
    ``min_margin`` nats better than the runner-up (it is sure which repair, not only that one is due)."""
    if not finding.suggestions or finding.suggestions[0].score is None:
        return False
    top = finding.suggestions[0].score
    runner_up = finding.suggestions[1].score if len(finding.suggestions) > 1 else None
    return top >= min_gain and (runner_up is None or top - runner_up >= min_margin)


def candidate_edits(result: ArticleResult, min_gain: float, min_margin: float) -> list[list[Edit]]:
    """Groups of edits that :func:`clears` lets through: each sentence finding's top suggestion alone, and all
    the places of an article finding together (when their summed gain clears ``min_gain``), best first."""
    codes = fix_codes()
    groups: list[list[Edit]] = []
    for seg in result.segments:
        if seg.kind == "boilerplate":
            continue
        for f in seg.findings:
            if f.code in codes and clears(f, min_gain, min_margin):
                top = f.suggestions[0]
                groups.append([Edit(top.start, top.end, top.replacement, top.score or 0.0, f.code, len(groups))])
    for af in result.article_findings:
        scores = [s.score for s in af.suggestions]
        if af.code in codes and af.suggestions and None not in scores and sum(scores) >= min_gain:
            k = len(groups)
            groups.append([Edit(s.start, s.end, s.replacement, s.score, af.code, k) for s in af.suggestions])
    return sorted(groups, key=lambda g: -sum(e.score for e in g))


def choose(groups: Iterable[list[Edit]]) -> list[Edit]:
    """Non-overlapping edits, greedily: a group goes in whole when none of its edits clashes with one taken."""
    taken: list[Edit] = []
    for group in groups:
        if not any(_clash(a, b) for a in group for b in [*taken, *group] if a is not b):
            taken += group
    return sorted(taken, key=lambda e: e.start)


def apply(text: str, edits: Iterable[Edit | Suggestion]) -> str:
    """``text`` with non-overlapping ``edits`` applied (offsets are on ``text`` as given)."""
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            raise ValueError(f"overlapping edits at {e.start}")
        out += [text[pos : e.start], e.replacement]
        pos = e.end
    return "".join([*out, text[pos:]])


def segment_of(result: ArticleResult, offset: int) -> Segment | None:
    """The title or body segment holding ``offset``."""
    return next((s for s in result.segments if s.kind != "boilerplate" and s.start <= offset < s.end), None)


ScoreUnits = Callable[[list[str], list[str]], list[float | None]]


def fix_plan(
    result: ArticleResult, min_gain: float, min_margin: float, score_units: ScoreUnits, contexts: dict[int, str]
) -> list[Edit]:
    """The edits ``mtqa fix`` applies to one article: suggestions that :func:`clears` lets through, without
    overlaps; then every sentence that gets more than one edit is scored again with all of them applied, and
    the weakest group is dropped until every such sentence still gains ``min_gain`` over the original, so a
    repaired sentence never reads worse to the language model. ``score_units(texts, contexts)`` gives summed
    log-probabilities (the pipeline's scorer)."""
    groups = candidate_edits(result, min_gain, min_margin)
    while True:
        edits = choose(groups)
        by_seg: dict[int, tuple[Segment, list[Edit]]] = {}
        for e in edits:
            seg = segment_of(result, e.start)
            if seg is not None:
                by_seg.setdefault(seg.index, (seg, []))[1].append(e)
        shared = [(seg, es) for seg, es in by_seg.values() if len(es) > 1]
        if not shared:
            return edits
        texts, ctxs = [], []
        for seg, es in shared:
            a, b = seg.start, seg.end
            texts += [result.text[a:b], apply(result.text[:b], es)[a:]]
            ctxs += [contexts.get(seg.index, "")] * 2
        lps = score_units(texts, ctxs)
        weak = [
            es
            for k, (_, es) in enumerate(shared)
            if lps[2 * k] is None or lps[2 * k + 1] is None or lps[2 * k + 1] - lps[2 * k] < min_gain
        ]
        if not weak:
            return edits
        worst = min((e for es in weak for e in es), key=lambda e: e.score).group
        groups = [g for g in groups if g[0].group != worst]


def unified_diff(article_id: str, before: str, after: str) -> str:
    """A unified diff of an article's text (``a/<id>`` -> ``b/<id>``), '' when nothing changed; a last line
    without a newline is marked as git marks it."""
    if before == after:
        return ""

    def lines(s: str) -> list[str]:
        out = s.splitlines(keepends=True)
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += "\n\\ No newline at end of file\n"
        return out

    return "".join(difflib.unified_diff(lines(before), lines(after), f"a/{article_id}", f"b/{article_id}"))


def _jsonl_line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


@dataclass
class FixWriter:
    """What ``mtqa fix`` does with each result of the run loop (its ``on_result``): plan the repairs, apply them
    and write ``<stem>.txt`` (the repaired article) and ``<stem>.diff`` (a unified diff, empty when nothing
    changed) under ``out``, or print the diffs (``out`` None: a dry run). :meth:`close` writes ``fixes.jsonl``,
    one row per input with what was applied; nothing is written outside ``out``."""

    out: Path | None
    min_gain: float
    min_margin: float
    score_units: ScoreUnits
    stdout: TextIO | None = None
    settings: Settings | None = None  # the run's, for what each sentence is read after (pipeline.sentence_contexts)
    rows: list[dict] = field(default_factory=list)
    articles_changed: int = 0
    repairs_applied: int = 0
    suggestions_left: int = 0
    _taken: set[str] = field(default_factory=set)

    def __call__(self, result: ArticleResult) -> None:
        from mtqa.report.files import safe_id, write_atomic

        row: dict = {"id": result.id, "input": result.input, "status": result.status, "error": result.error}
        if result.status != "ok":
            self.rows.append(row)
            return
        edits = fix_plan(
            result, self.min_gain, self.min_margin, self.score_units, sentence_contexts(result, self.settings)
        )
        fixed = apply(result.text, edits)
        diff = unified_diff(result.id, result.text, fixed)
        self.articles_changed += bool(diff)
        self.repairs_applied += len(edits)
        left = _n_places(result) - len(edits)
        self.suggestions_left += left
        row["applied"] = [
            {
                "code": e.code,
                "start": e.start,
                "end": e.end,
                "before": result.text[e.start : e.end],
                "after": e.replacement,
                "score": e.score,
            }
            for e in edits
        ]
        row["not_applied"] = left
        if self.out is None:
            if diff and self.stdout is not None:
                self.stdout.write(diff)
        else:
            stem = safe_id(result.id, self._taken)
            write_atomic(self.out / f"{stem}.txt", fixed, errors="replace")
            write_atomic(self.out / f"{stem}.diff", diff, errors="replace")
            row["text_file"], row["diff_file"] = f"{stem}.txt", f"{stem}.diff"
        self.rows.append(row)

    def close(self) -> Path | None:
        """Write ``fixes.jsonl`` (nothing on a dry run); returns its path."""
        from mtqa.report.files import write_atomic

        if self.out is None:
            return None
        path = self.out / "fixes.jsonl"
        write_atomic(path, "".join(_jsonl_line(r) for r in self.rows), errors="replace")
        return path


def _n_places(result: ArticleResult) -> int:
    """Repairs the report proposes that ``mtqa fix`` could apply: the top suggestion of each sentence finding of
    a fix code, and each place of an article finding of one."""
    codes = fix_codes()
    return sum(1 for s in result.segments for f in s.findings if f.suggestions and f.code in codes) + sum(
        len(f.suggestions) for f in result.article_findings if f.code in codes
    )
