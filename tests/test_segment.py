"""Line classification and sentence splitting: exact offsets on scraped-style text."""

from __future__ import annotations

from mtqa.segment import segment_article, split_sentences
from mtqa.types import Article

SCRAPED = (
    "Home » World » Asia\n"
    "by admin\n"
    "Seoul and Tokyo agree to resume talks\n"
    "\n"
    "SEOUL — The U.S. envoy met Dr. Kwon Jong-keun on Monday.  He said the talks, which began in Jan. 2023,"
    " would resume. Officials did not comment.\n"
    "See also North Korea fires missile into sea\n"
    "The new privacy law requires websites to ask before setting cookies, the regulator said.\n"
    "This site uses Akismet to reduce spam. Learn how your comment data is processed.\n"
    "Leave a Comment\n"
)


def test_kinds_and_offsets():
    layout = segment_article(Article(id="a", text=SCRAPED, input="t"))
    segs = layout.segments
    assert [s.kind for s in segs] == ["boilerplate", "boilerplate", "title", "body", "body", "body",
                                      "boilerplate", "body", "boilerplate", "boilerplate"]
    for s in segs:
        assert SCRAPED[s.start:s.end] == s.text and s.text == s.text.strip()
    assert layout.title == "Seoul and Tokyo agree to resume talks"
    body = [s.text for s in segs if s.kind == "body"]
    assert body[0] == "SEOUL — The U.S. envoy met Dr. Kwon Jong-keun on Monday."  # no split at U.S. or Dr.
    assert body[1].startswith("He said the talks, which began in Jan. 2023,")
    # a sentence that merely mentions cookies and privacy stays body
    assert body[3].startswith("The new privacy law")
    # each body sentence knows its paragraph (line) for rules that look across sentences
    first_para = layout.paragraph_of[3]
    assert SCRAPED[first_para[0]:first_para[1]].startswith("SEOUL") and first_para[1] >= segs[5].end


def test_corpus_title_given_and_first_line_prose():
    text = "The talks began on Monday in Seoul, officials said.\nThey ended on Tuesday.\n"
    layout = segment_article(Article(id="a", text=text, input="t"))
    assert [s.kind for s in layout.segments] == ["body", "body"]  # prose first line is not a headline
    layout = segment_article(Article(id="a", text="Talks end\n" + text, input="t", title="Talks end"))
    assert layout.segments[0].kind == "title" and layout.title == "Talks end"


def test_long_line_without_punctuation_is_bounded():
    text = "word " * 30_000  # 150,000 characters, one line, no sentence end
    spans = split_sentences(text, 0, len(text.rstrip()))
    assert spans and all(text[a:b].strip() == text[a:b] for a, b in spans)
    assert sum(len(text[a:b].split()) for a, b in spans) == 30_000  # no word lost or split
