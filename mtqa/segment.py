"""Split an article into title, boilerplate lines and body sentences, with exact character offsets.

Lines are the unit of scraping debris (breadcrumbs, "See also" links, cookie banners), so each line
is classified first; only body lines are split into sentences, with ``sentencex`` (maintained,
offline, returns character offsets). A garbled run-on that hides a missing boundary stays one
sentence here: that is a finding for the rules, not a segmentation bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sentencex import get_sentence_boundaries

from mtqa.boilerplate import match_boilerplate
from mtqa.types import Article, Segment

#: A first line longer than this, or ending like a sentence, is body text rather than a headline.
MAX_TITLE_WORDS = 25
#: sentencex is fed at most this many characters at a time, so a huge line without breaks stays bounded.
SPLIT_CHUNK = 20_000

SEGMENT_VERSION = "1"

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


@dataclass(frozen=True)
class Layout:
    """The segments of an article and, for each body sentence, the line (paragraph) it lies in."""

    segments: list[Segment]
    paragraph_of: dict[int, tuple[int, int]]  # segment index -> (start, end) of its line
    title: str | None


def _lines(text: str):
    """(start, end) of each non-empty line, whitespace-trimmed."""
    pos = 0
    for raw in text.splitlines(keepends=True):
        start, end = pos, pos + len(raw)
        pos = end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            yield start, end


def looks_like_headline(line: str) -> bool:
    return len(line.split()) <= MAX_TITLE_WORDS and not _SENTENCE_END.search(line)


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        chunk_end = min(end, pos + SPLIT_CHUNK)
        if chunk_end < end:  # cut at the last space so no word is split across chunks
            cut = text.rfind(" ", pos + SPLIT_CHUNK // 2, chunk_end)
            chunk_end = cut + 1 if cut > 0 else chunk_end
        chunk = text[pos:chunk_end]
        for b in get_sentence_boundaries("en", chunk):
            a, z = pos + b["start_index"], pos + b["end_index"]
            while a < z and text[a].isspace():
                a += 1
            while z > a and text[z - 1].isspace():
                z -= 1
            if z > a:
                spans.append((a, z))
        pos = chunk_end
    return spans


def segment_article(article: Article) -> Layout:
    """Classify every line and split body lines into sentences.

    The title is the corpus's ``title`` when its line is found in the text; otherwise the first line
    that is not boilerplate, if it reads like a headline (short, no sentence-final punctuation).
    """
    text = article.text
    segments: list[Segment] = []
    paragraph_of: dict[int, tuple[int, int]] = {}
    title = article.title
    title_done = False
    for start, end in _lines(text):
        line = text[start:end]
        if match_boilerplate(line):
            segments.append(Segment(len(segments), "boilerplate", line, start, end))
            continue
        if not title_done:
            title_done = True
            if (title is not None and line == title.strip()) or (title is None and looks_like_headline(line)):
                title = line
                segments.append(Segment(len(segments), "title", line, start, end))
                continue
        for a, z in split_sentences(text, start, end):
            paragraph_of[len(segments)] = (start, end)
            segments.append(Segment(len(segments), "body", text[a:z], a, z))
    return Layout(segments, paragraph_of, title)


def signature() -> str:
    """The segmenter's version, sentencex's and the boilerplate patterns' hash: all change which segments exist."""
    from importlib.metadata import version

    from mtqa import datafiles

    return f"segment:{SEGMENT_VERSION}|sentencex:{version('sentencex')}|data:{datafiles.digest(['boilerplate.tsv'])}"
