"""Read hard-wrapped text as running text: group the lines of an article into units (paragraphs).

Re-posts, newsletters and some scrapes put one visual line on each text line, so a sentence runs over
several lines; read line by line, every line would be a sentence fragment. A line break is read as a wrap
(the two lines join into one unit) only on evidence that the sentence goes on:

* strong evidence: the next line starts in lower case or with closing punctuation (``)``, ``,``, ``;``), or
  the line ends on a comma, an open bracket or a word that cannot end a sentence ("the", "of", "and");
* inside an evidently wrapped block (a run of lines without blank lines that has strong evidence somewhere
  and where most lines stop short of a sentence end),
  any break after a line without sentence-final punctuation, except after the article's first line when the
  next one starts a new capitalised line (a headline standing on top of wrapped text); in a document where
  several blocks are wrapped, the same for any line about as long as the wrapped lines;
* a multi-sentence prose line that stops in a lower-case word without final punctuation, followed by prose
  (a sentence broken by the scrape).

Across a blank line it takes two signals, or closing punctuation at the start of the next line, so a
sentence broken around a stray line ("... avoid the stairwell (" / "under the window" / "), but ...") is
read as one. Lines are never joined to or from a bullet or list item, a line without letters, a known
boilerplate line, or a line mostly in another script. Offsets never change: a unit spans the original text,
line breaks included.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from mtqa import datafiles

_DATA_NAME = "layout.json"


@dataclass(frozen=True)
class Line:
    """A non-blank line, trimmed: ``text[start:end]``; ``number`` counts every line from 0, blank ones too."""

    start: int
    end: int
    number: int
    blank_before: bool  # a blank line separates it from the previous non-blank line (False for the first)


@dataclass(frozen=True)
class Unit:
    """Consecutive lines read as one paragraph: ``text[start:end]`` (may hold line breaks)."""

    lines: tuple[Line, ...]

    @property
    def start(self) -> int:
        return self.lines[0].start

    @property
    def end(self) -> int:
        return self.lines[-1].end


@lru_cache(maxsize=1)
def layout_data() -> dict:
    """The lexicons and thresholds of data/layout.json (shared with mtqa.chrome and mtqa.segment)."""
    return json.loads(layout_data_bytes())


@lru_cache(maxsize=1)
def layout_data_bytes() -> bytes:
    return datafiles.read_bytes(_DATA_NAME)


def text_lines(text: str) -> list[Line]:
    """The non-blank lines of ``text``, whitespace-trimmed, with exact offsets."""
    out: list[Line] = []
    pos = 0
    blank = False
    for number, raw in enumerate(text.splitlines(keepends=True)):
        start, end = pos, pos + len(raw)
        pos = end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(Line(start, end, number, blank and bool(out)))
            blank = False
        else:
            blank = True
    return out


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_CLOSERS = "\"'”’»)]}"


@lru_cache(maxsize=1)
def _lexicon() -> tuple[frozenset[str], re.Pattern, re.Pattern, re.Pattern]:
    d = layout_data()["reflow"]
    return (
        frozenset(w.lower() for w in d["open_end_words"]),
        re.compile(d["terminal"]),
        re.compile(d["list_item"]),
        re.compile(d["open_end_punct"]),
    )


def ends_sentence(line: str) -> bool:
    """The line ends like a finished sentence (., !, ?, …, :, ;, CJK full stops), closing quotes allowed."""
    return bool(_lexicon()[1].search(line))


def is_list_item(line: str) -> bool:
    """A bullet, dash or numbered item: never joined to the line before it."""
    return bool(_lexicon()[2].match(line))


def starts_lower(line: str) -> bool:
    """The first letter (after opening quotes or brackets) is lower case: the line goes on with a sentence."""
    s = line.lstrip(_CLOSERS[:-3] + "“‘«(")
    return bool(s) and s[0].isalpha() and s[0].islower()


def _starts_closing(line: str) -> bool:
    return bool(line) and line[0] in ",;)]}"


def _ends_open(line: str) -> bool:
    """Ends on a comma, open bracket, dash or hyphen after a word, or a word that cannot end a sentence."""
    open_words, _, _, open_punct = _lexicon()
    if open_punct.search(line):
        return True
    words = _WORD.findall(line[-40:])
    # in lower case only: a title-case heading may end on "Within" or "About"
    return bool(words) and len(_WORD.findall(line)) >= 2 and words[-1] in open_words


def _has_letters(line: str) -> bool:
    return any(c.isalpha() for c in line)


def strong_continuation(a: str, b: str) -> bool:
    """Evidence on its own that line ``b`` continues the sentence of line ``a``."""
    return not ends_sentence(a) and (starts_lower(b) or _starts_closing(b) or _ends_open(a))


def _prose_line(line: str) -> bool:
    """Long enough to be a paragraph of prose rather than a heading or a menu item."""
    return len(_WORD.findall(line)) >= layout_data()["reflow"]["prose_line_words"]


def reflow(
    text: str, lines: Sequence[Line], barrier: Callable[[str], bool], sentences: Callable[[str], int]
) -> list[Unit]:
    """Group ``lines`` into units. ``barrier(line_text)`` marks lines never joined (known boilerplate,
    another script); ``sentences(line_text)`` counts the sentences of a line (for the broken-prose rule)."""
    if not lines:
        return []
    body = [text[ln.start : ln.end] for ln in lines]
    fixed = [barrier(t) or not _has_letters(t) for t in body]
    first_free = next((i for i, f in enumerate(fixed) if not f), None)

    def joinable(i: int) -> bool:  # may line i-1 and line i be read as one at all?
        return not (fixed[i] or fixed[i - 1] or is_list_item(body[i]) or ends_sentence(body[i - 1]))

    # blocks: runs of lines without a blank line between them; a block is wrapped when it has strong evidence
    block_of = [0] * len(lines)
    for i in range(1, len(lines)):
        block_of[i] = block_of[i - 1] + lines[i].blank_before
    strong = [
        i
        for i in range(1, len(lines))
        if not lines[i].blank_before and joinable(i) and strong_continuation(body[i - 1], body[i])
    ]
    # a block is wrapped when it has strong evidence and most of its lines stop short of a sentence end (a
    # paragraph-per-line text with one odd break is not)
    cfg = layout_data()["reflow"]
    lines_in: Counter[int] = Counter(block_of)
    open_in: Counter[int] = Counter(block_of[i] for i in range(len(lines)) if not ends_sentence(body[i]))
    wrapped_blocks = {b for b in (block_of[i] for i in strong) if open_in[b] >= cfg["wrapped_open_share"] * lines_in[b]}
    # a document wrapped throughout: a long line without final punctuation continues, whatever its block
    widths = sorted(len(body[i - 1]) for i in strong if block_of[i] in wrapped_blocks)
    wrap_width = widths[len(widths) // 2] if len(wrapped_blocks) >= cfg["wrapped_document_blocks"] else None
    units: list[list[Line]] = [[lines[0]]]
    for i in range(1, len(lines)):
        a, b = body[i - 1], body[i]
        if not joinable(i):
            join = False
        elif lines[i].blank_before:
            join = _starts_closing(b) or (_ends_open(a) and starts_lower(b))
        elif strong_continuation(a, b) or len(units[-1]) > 1:
            join = True
        elif block_of[i] in wrapped_blocks:
            join = i - 1 != first_free  # a headline on top of wrapped text stays a line of its own
        elif wrap_width is not None and len(a) >= cfg["wrapped_line_share"] * wrap_width:
            join = i - 1 != first_free
        else:  # a prose line that stops mid-clause, in a lower-case word, and prose going on
            last = _WORD.findall(a[-40:])
            join = bool(last) and last[-1].islower() and _prose_line(a) and _prose_line(b) and sentences(a) >= 2
        if join:
            units[-1].append(lines[i])
        else:
            units.append([lines[i]])
    return [Unit(tuple(u)) for u in units]
