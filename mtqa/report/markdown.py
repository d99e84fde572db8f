"""The Markdown report: ticket-sized, the flagged sentences worst first with their findings, escaped so article
text stays plain when pasted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mtqa.policy import flagging_codes
from mtqa.repair import before_after, top_suggestion
from mtqa.report.contract import as_number
from mtqa.report.display import display_title, flagged_worst_first, fmt, lm_summary, part_note
from mtqa.types import ArticleFinding, ArticleResult, Finding

_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>|&])")


_MD_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+[.)])")


def _md(text: str) -> str:
    """Escape text so it stays plain inside a list item / blockquote when pasted into a ticket."""
    one_line = " ".join(text.split())
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _MD_ACTIVE.sub(r"\\\1", one_line))


def _md_code(code: str) -> str:
    return f"`{code.replace('`', chr(39))}`"


def _ref_figures(ref: Mapping[str, Any], keys: tuple[tuple[str, str], ...]) -> str:
    """``chrF 45.20 \u00b7 TER 50.00`` from the figures of a reference dict (missing ones are left out)."""
    return " \u00b7 ".join(f"{label} {v:.2f}" for key, label in keys if (v := as_number(ref.get(key))) is not None)


_SENTENCE_FIGURES = (("chrf", "chrF"), ("chrfpp", "chrF++"), ("ter", "TER"))


_ARTICLE_FIGURES = (("bleu", "BLEU"), ("chrf", "chrF"), ("chrfpp", "chrF++"), ("ter", "TER"))


def _md_reference_summary(ref: Mapping[str, Any]) -> str:
    counts = (
        f"{ref.get('aligned', 0)} aligned pairs, {ref.get('unaligned_mt', 0)} possible additions, "
        f"{ref.get('unaligned_ref', 0)} possible omissions"
    )
    return f"**Reference:** {_ref_figures(ref, _ARTICLE_FIGURES)} \u00b7 {counts}"


def _md_reference_section(result: ArticleResult) -> list[str]:
    """Every body sentence with the reference sentence(s) aligned to it, and omitted reference sentences
    where they would have been."""
    ref = result.reference or {}
    omitted: dict[int | None, list[str]] = {}
    for o in ref.get("omitted") or []:
        omitted.setdefault(o.get("after"), []).append(str(o.get("text", "")))

    def gaps(after: int | None) -> list[str]:
        return [
            f"- *omitted?* no counterpart in the translation\n  - reference: {_md(t)}" for t in omitted.get(after, [])
        ]

    out = ["## Compared with the reference", "", *gaps(None)]
    for s in result.segments:
        if s.kind != "body":
            continue
        score = fmt(as_number(s.score)) or "n/a"
        if s.reference:
            how = f" ({s.reference['alignment']})" if s.reference.get("alignment", "1-1") != "1-1" else ""
            out += [
                f"- **s{s.index}** \u00b7 score {score} \u00b7 {_ref_figures(s.reference, _SENTENCE_FIGURES)}{how}",
                f"  - translation: {_md(s.text)}",
                f"  - reference: {_md(str(s.reference.get('text', '')))}",
            ]
        else:
            out += [
                f"- **s{s.index}** \u00b7 score {score} \u00b7 *added?* no counterpart in the reference",
                f"  - translation: {_md(s.text)}",
            ]
        out += gaps(s.index)
    sigs = ref.get("signatures") or {}
    if sigs:
        out += ["", "<sub>sacrebleu " + " \u00b7 ".join(f"{_md(k)}: {_md(str(v))}" for k, v in sigs.items()) + "</sub>"]
    return [*out, ""]


def _md_fix(finding: Finding | ArticleFinding, text: str) -> str | None:
    """The top suggestion as a before/after line: the words around the repair, as they stand and repaired."""
    top = top_suggestion(finding)
    if top is None:
        return None
    before, after = before_after(text, top)
    gain = "" if top.score is None else f" (language model {top.score:+.1f} nats)"
    more = len(finding.suggestions) - 1 if isinstance(finding, ArticleFinding) else 0
    places = f", and {more} more {'place' if more == 1 else 'places'}" if more else ""
    return f"fix: \u201c{_md(before)}\u201d \u2192 \u201c{_md(after)}\u201d{gain}{places}"


def render_markdown(result: ArticleResult) -> str:
    """A ticket-sized summary: verdict, flagged sentences worst first, article findings, and with a reference
    every sentence beside its reference sentence."""
    out = [f"# {_md(display_title(result))}", ""]
    if result.status != "ok":
        out += [f"**Error** \u2014 {_md(result.error or 'unknown error')}", ""]
    else:
        verdict = (result.verdict or "n/a").upper()
        out += [
            f"**Verdict:** {verdict} \u00b7 **score** {fmt(as_number(result.score)) or 'n/a'} \u00b7 "
            f"{result.n_sentences} sentences, {result.n_flagged} flagged",
            "",
        ]
        if result.reference:
            out += [_md_reference_summary(result.reference), ""]
    out += [f"id: {_md(result.id)} \u00b7 input: {_md(result.input)}", ""]
    flagged = flagged_worst_first(result)
    if flagged:
        out += ["## Flagged sentences", ""]
        for i, s in enumerate(flagged, 1):
            why = ", ".join(_md_code(c) for c in flagging_codes(f.code for f in s.findings)) or "the language model"
            out.append(f"{i}. **s{s.index}** \u2014 score {fmt(as_number(s.score)) or 'n/a'} \u00b7 flagged by {why}")
            if note := part_note(s):
                out.append(f"   - {_md(note)}")
            for f in s.findings:
                code, span = _md_code(f.code), _md(result.text[f.start : f.end])
                out.append(f"   - {code} ({f.severity}): {_md(f.message)} \u2014 \u201c{span}\u201d")
                if fix := _md_fix(f, result.text):
                    out.append(f"     - {fix}")
            if lm := lm_summary(s, result.text):
                out.append(f"   - LM: {_md(lm)}")
            if s.reference:
                out.append(
                    f"   - reference ({_ref_figures(s.reference, _SENTENCE_FIGURES)}): "
                    f"{_md(str(s.reference.get('text', '')))}"
                )
            out += ["", f"   > {_md(s.text)}", ""]
    if result.article_findings:
        out += ["## Article findings", ""]
        for f in result.article_findings:
            out.append(f"- {_md_code(f.code)} ({f.severity}): {_md(f.message)}")
            if fix := _md_fix(f, result.text):
                out.append(f"  - {fix}")
        out.append("")
    if result.reference and result.reference.get("aligned"):  # reference-mismatch: nothing aligned to show
        out += _md_reference_section(result)
    if result.signature:
        out += [f"<sub>{_md(result.signature)}</sub>", ""]
    return "\n".join(out)
