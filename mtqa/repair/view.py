"""How a suggestion is shown: the words around the repair as a character diff (HTML) or a before/after pair
(Markdown), and how many repairs a report proposes (the summary's ``n_suggestions``)."""

from __future__ import annotations

import difflib
import re

from mtqa.types import ArticleFinding, ArticleResult, Finding, Suggestion


def top_suggestion(finding: Finding | ArticleFinding) -> Suggestion | None:
    return finding.suggestions[0] if finding.suggestions else None


def n_suggestions(result: ArticleResult) -> int:
    """How many repairs a report proposes: one per sentence finding with suggestions (its best), and one per
    place of an article finding."""
    return sum(1 for s in result.segments for f in s.findings if f.suggestions) + sum(
        len(f.suggestions) for f in result.article_findings
    )


_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")  # the diff works on words, spaces and single symbols
_LAST_WORD = re.compile(r"\S+\s*$")
_NEXT_WORD = re.compile(r"\s*\S+")


def diff_pieces(text: str, s: Suggestion) -> list[tuple[str, str]]:
    """The suggestion as a word diff for display: ``(op, text)`` with op ``=``, ``-`` or ``+``, over the
    replaced text widened to whole words and, where the edit sits at a word's edge, one word of context on that
    side (so an inserted full stop or space shows between the words it separates). Line breaks show as spaces."""
    a, b = s.start, s.end
    while a > 0 and not text[a - 1].isspace():
        a -= 1
    while b < len(text) and not text[b].isspace():
        b += 1
    if a == s.start and (m := _LAST_WORD.search(text, max(0, a - 80), a)):
        a = m.start()
    if b == s.end and (m := _NEXT_WORD.match(text, b)):
        b = m.end()
    before = text[a:b]
    after = text[a : s.start] + s.replacement + text[s.end : b]
    x, y = _TOKENS.findall(before), _TOKENS.findall(after)
    ops = difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes()
    changed = [o for o in ops if o[0] != "equal"]
    if len(changed) > 2:  # fragments read worse than one deletion and one insertion
        (_, i1, _, j1, _), (_, _, i2, _, j2) = changed[0], changed[-1]
        ops = [("equal", 0, i1, 0, j1), ("replace", i1, i2, j1, j2), ("equal", i2, len(x), j2, len(y))]
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            out.append(("=", "".join(x[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(x[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(y[j1:j2])))
    return [(op, " ".join(t.splitlines()) if "\n" in t or "\r" in t else t) for op, t in out if t]


def before_after(text: str, s: Suggestion) -> tuple[str, str]:
    """The same widened stretch as :func:`diff_pieces`, as it stands and repaired."""
    pieces = diff_pieces(text, s)
    return ("".join(t for op, t in pieces if op != "+"), "".join(t for op, t in pieces if op != "-"))
