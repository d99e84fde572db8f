"""The editor's page for one article: the whole article as read, sentences tinted by garble probability with
the score written beside them, every located span marked, the reasons in a popover and a side list of the
flagged sentences. Self-contained and autoescaped; no script at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mtqa.policy import flagging_codes
from mtqa.repair import diff_pieces, top_suggestion
from mtqa.report.contract import as_number
from mtqa.report.display import (
    BANDS,
    ENV,
    FIRST_TINT,
    TINTS,
    article_reference,
    band_index,
    display_title,
    flagged_worst_first,
    fmt,
    lm_summary,
    located_break,
    part_note,
    sentence_reference,
)
from mtqa.text import truncate
from mtqa.types import SEVERITY_RANK, ArticleFinding, ArticleResult, Finding, Segment


def flag_reasons(seg: Segment) -> list[str]:
    """What flagged a sentence: its flagging finding codes; empty when the language model's score did."""
    return flagging_codes(f.code for f in seg.findings)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class _Chunk:
    """Consecutive text of one line belonging to one segment (or to none)."""

    seg: dict | None
    anchor: bool  # the segment's first chunk: it carries the id, the label, the popover and the tab stop
    pieces: list[tuple[str, dict | None, int]] = field(default_factory=list)  # (text, mark or None, offset)


def _fix(finding: Finding | ArticleFinding, text: str) -> dict | None:
    """The finding's top suggestion as a visible diff: ``pieces`` are (op, text), op ``=``, ``-`` deleted or
    ``+`` inserted, over the words around the repair; ``gain`` its log-probability gain, in words."""
    top = top_suggestion(finding)
    if top is None:
        return None
    gain = "" if top.score is None else f"language model: {top.score:+.1f} nats"
    more = len(finding.suggestions) - 1 if isinstance(finding, ArticleFinding) else 0
    return {"pieces": diff_pieces(text, top), "gain": gain, "more": more}


def _popover(seg: Segment, text: str, score: float | None) -> dict:
    """What hovering or focusing a sentence shows: why it is tinted, in words that match its label."""
    unit = "Headline" if seg.kind == "title" else f"Sentence {seg.index}"
    if note := part_note(seg):
        unit = f"{unit} ({note})"
    reasons = flag_reasons(seg)
    head = [unit] + ([f"flagged: {', '.join(reasons) if reasons else 'the language model'}"] if seg.flagged else [])
    if score is not None:
        words = BANDS[band_index(score)].label
        if seg.flagged and reasons and not BANDS[band_index(score)].colour:
            words = "the language model alone would not flag it"  # flagged by a rule: say so, never 'unlikely'
        head.append(f"score {score:.3f} ({words})")
    findings = [
        {
            "code": f.code,
            "severity": f.severity,
            "message": f.message,
            "span": text[f.start : f.end],
            "fix": _fix(f, text),
        }
        for f in seg.findings
    ]
    brk = _informative_break(seg)
    unexpected = None
    if brk is not None:
        words = f"\u201c{text[brk[0] : brk[1]]}\u201d"
        unexpected = (
            f"The language model did not expect {words} here ({brk[2]:.1f} nats more surprising "
            "than the words' usual frequency)."
        )
    return {
        "id": f"why-s{seg.index}",
        "head": " \u00b7 ".join(head),
        "findings": findings,
        "unexpected": unexpected,
        "lm": lm_summary(seg, text),
        "ref": sentence_reference(seg.reference),
    }


def _tint(score: float | None, flagged: bool) -> int | None:
    """The band whose colour tints a sentence: its own band, or the first tinted band for a sentence
    flagged from below it (by a rule); None when the sentence is not tinted."""
    band = band_index(score) if score is not None else None
    if band is not None and BANDS[band].colour:
        return band
    return FIRST_TINT if flagged else None


def _score_label(score: float | None) -> str:
    """'0.93 very likely': the score with its band's short name, when the band tints."""
    if score is None:
        return ""
    band = BANDS[band_index(score)]
    return f"{score:.2f} {band.short}" if band.colour else f"{score:.2f}"


def _seg_view(seg: Segment, text: str) -> dict:
    """Classes, label and popover of one segment; a tint always comes with a text label."""
    score = as_number(seg.score)
    tint = _tint(score, seg.flagged) if seg.kind != "boilerplate" else None
    classes = ["seg", seg.kind] + (["tint", f"band-{tint}"] if tint is not None else [])
    classes += ["flagged"] if seg.flagged else []
    parts = ["flagged" if seg.flagged else "", _score_label(score) if tint is not None else ""]
    label = " \u00b7 ".join(p for p in parts if p)
    pop = None
    if seg.kind != "boilerplate" and (tint is not None or seg.findings or seg.reference):
        pop = _popover(seg, text, score)
    tip = ""
    if pop is None:  # a native tooltip where there is no popover: kind and score, boilerplate findings
        tip = "\n".join(
            [seg.kind]
            + ([f"score {score:.3f}"] if score is not None else [])
            + [f"{f.code}: {f.message} ({f.severity})" for f in seg.findings]
        )
    return {
        "index": seg.index,
        "kind": seg.kind,
        "cls": " ".join(classes),
        "score": fmt(score),
        "label": label,
        "why": pop,
        "tip": tip,
    }


def _located(seg: Segment) -> list[tuple[int, int, str, bool]]:
    """The spans marked in a sentence: (start, end, id, major) for each finding, and the LM's break
    when the sentence is flagged. Boilerplate findings are in the tooltip: marking whole lines is noise."""
    if seg.kind == "boilerplate":
        return []
    spans = [(f.start, f.end, f"s{seg.index}.f{k}", f.severity == "major") for k, f in enumerate(seg.findings)]
    if (brk := _informative_break(seg)) is not None:
        spans.append((brk[0], brk[1], f"s{seg.index}.lm", False))
    return spans


def _informative_break(seg: Segment) -> tuple[int, int, float] | None:
    """The LM's located break, marked only where it carries information: the language model flagged the
    sentence (no finding did) and the words there are more surprising than their usual frequency."""
    brk = located_break(seg)
    if not seg.flagged or flag_reasons(seg) or brk is None or brk[2] is None or brk[2] <= 0:
        return None
    return brk[0], brk[1], brk[2]


def _pieces(seg: Segment, start: int, end: int) -> Iterator[tuple[int, int, dict | None]]:
    """Split a segment at every located span boundary; a piece covered by spans is marked with all their ids."""
    spans = [(max(s, start), min(e, end), i, major) for s, e, i, major in _located(seg)]
    spans = [sp for sp in spans if sp[1] > sp[0]]
    cuts = sorted({start, end, *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    for a, b in zip(cuts, cuts[1:], strict=False):
        covering = [sp for sp in spans if sp[0] <= a and b <= sp[1]]
        mark = {"ids": " ".join(i for _, _, i, _ in covering), "major": any(m for *_, m in covering)}
        yield a, b, mark if covering else None


def _article_lines(result: ArticleResult) -> list[dict]:
    """The article as read, cut into display lines of chunks; nothing of the text is dropped."""
    text, n = result.text, len(result.text)
    atoms: list[tuple[int, int, dict | None, dict | None]] = []  # (start, end, segment view, mark)
    pos = 0
    for seg in sorted(result.segments, key=lambda s: (s.start, s.end)):
        start = min(max(seg.start, pos, 0), n)
        end = max(start, min(seg.end, n))
        if end == start:
            continue
        if start > pos:
            atoms.append((pos, start, None, None))
        view = _seg_view(seg, text)
        atoms.extend((a, b, view, mark) for a, b, mark in _pieces(seg, start, end))
        pos = end
    if pos < n:
        atoms.append((pos, n, None, None))

    lines: list[list[_Chunk]] = [[]]
    anchored: set[int] = set()

    def add(a: int, b: int, view: dict | None, mark: dict | None) -> None:
        if b <= a:
            return
        line = lines[-1]
        if not line or line[-1].seg is not view:
            first = view is not None and id(view) not in anchored
            if view is not None:
                anchored.add(id(view))
            line.append(_Chunk(view, first))
        line[-1].pieces.append((text[a:b], mark, a))

    for a, b, view, mark in atoms:
        for m in _LINE_BREAK.finditer(text, a, b):
            add(a, m.start(), view, mark)
            lines.append([])
            a = m.end()
        add(a, b, view, mark)

    out = []
    for chunks in lines:
        kinds = {c.seg["kind"] for c in chunks if c.seg}
        if not kinds and not "".join(p for c in chunks for p, _, _ in c.pieces).strip():
            continue  # blank lines: paragraph spacing already separates lines
        cls = "title-line" if "title" in kinds else "boilerplate-line" if kinds == {"boilerplate"} else ""
        out.append({"cls": cls, "chunks": chunks})
    return out


def _side_items(result: ArticleResult) -> list[dict]:
    """The flagged sentences, worst first, for the side list: score, the worst finding and its span."""
    items = []
    for s in flagged_worst_first(result):
        score = as_number(s.score)
        worst = max(s.findings, key=lambda f: SEVERITY_RANK.get(f.severity, 0), default=None)
        brk = located_break(s)
        if worst is not None:
            what, span, severity = worst.code, result.text[worst.start : worst.end], worst.severity
        else:
            what, span, severity = "language model", result.text[brk[0] : brk[1]] if brk else "", ""
        # the repair of the worst finding, else of the first finding that has one
        fixable = sorted((f for f in s.findings if f.suggestions), key=lambda f: f is not worst)
        ref = sentence_reference(s.reference)
        items.append(
            {
                "index": s.index,
                "score": fmt(score, 2) or "n/a",
                "what": what,
                "severity": severity,
                "span": truncate(span or s.text, 70),
                "more": len(s.findings) - 1 if worst else 0,
                "band": _tint(score, True),
                "chrf": ref["chrf"] if ref else "",
                "fix": _fix(fixable[0], result.text) if fixable else None,
            }
        )
    return items


def _reference_rows(result: ArticleResult) -> list[dict]:
    """Body sentences that have an aligned reference sentence, in article order."""
    rows = []
    for s in result.segments:
        ref = sentence_reference(s.reference)
        if ref is not None:
            rows.append(
                {"index": s.index, "text": s.text, "ref": ref, "score": fmt(as_number(s.score)), "flagged": s.flagged}
            )
    return rows


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links: a ``javascript:`` URL from a scraped feed must stay text."""
    return url if url and re.match(r"https?://[^\s\"'<>]+$", url, re.IGNORECASE) else None


def _article_findings(result: ArticleResult) -> list[dict]:
    return [
        {"code": f.code, "severity": f.severity, "message": f.message, "fix": _fix(f, result.text)}
        for f in result.article_findings
    ]


def render_html(result: ArticleResult) -> str:
    """The editor's page for one article: self-contained, autoescaped, no script at all."""
    return ENV.get_template("article.html.j2").render(
        r=result,
        title=display_title(result),
        score=fmt(as_number(result.score)),
        verdict=(result.verdict if result.status == "ok" else None) or result.status,
        lines=_article_lines(result),
        side=_side_items(result),
        article_findings=_article_findings(result),
        refrows=_reference_rows(result),
        reference=article_reference(result.reference),
        url_link=safe_url(result.url),
        tints=TINTS,
    )
