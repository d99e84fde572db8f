"""Line classification and sentence splitting: exact offsets on scraped-style text."""

from __future__ import annotations

from mtqa.segment import segment_article, signature, split_sentences
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
    assert [s.kind for s in segs] == [
        "boilerplate",
        "boilerplate",
        "title",
        "body",
        "body",
        "body",
        "boilerplate",
        "body",
        "boilerplate",
        "boilerplate",
    ]
    for s in segs:
        assert SCRAPED[s.start : s.end] == s.text and s.text == s.text.strip()
    assert layout.title == "Seoul and Tokyo agree to resume talks"
    body = [s.text for s in segs if s.kind == "body"]
    assert body[0] == "SEOUL — The U.S. envoy met Dr. Kwon Jong-keun on Monday."  # no split at U.S. or Dr.
    assert body[1].startswith("He said the talks, which began in Jan. 2023,")
    # a sentence that merely mentions cookies and privacy stays body
    assert body[3].startswith("The new privacy law")
    # each body sentence knows its paragraph (line) for rules that look across sentences
    first_para = layout.paragraph_of[3]
    assert SCRAPED[first_para[0] : first_para[1]].startswith("SEOUL") and first_para[1] >= segs[5].end


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


# --- reflow: hard-wrapped text is read as running text ---------------------------------------------------

WRAPPED = (
    "Officials approve flood plan after three days of rain\n"
    "The provincial government approved a new flood plan on\n"
    "Tuesday after three days of heavy rain, officials said, and\n"
    "work on the dikes will begin next month. Residents in the lower\n"
    "districts were told to move valuables to higher floors.\n"
    "Schools in two towns stayed closed while engineers inspected\n"
    "the bridges over the Songhua River.\n"
)


def test_hard_wrapped_paragraph_is_reflowed_with_exact_offsets():
    layout = segment_article(Article(id="w", text=WRAPPED, input="t"))
    assert layout.title == "Officials approve flood plan after three days of rain"
    body = [s for s in layout.segments if s.kind == "body"]
    assert [s.text.replace("\n", " ") for s in body] == [
        "The provincial government approved a new flood plan on Tuesday after three days of heavy rain, officials "
        "said, and work on the dikes will begin next month.",
        "Residents in the lower districts were told to move valuables to higher floors.",
        "Schools in two towns stayed closed while engineers inspected the bridges over the Songhua River.",
    ]
    for s in body:
        assert WRAPPED[s.start : s.end] == s.text and "\n" in s.text  # every sentence spans a wrapped line break
    # a line ending a sentence ends the paragraph: two reflowed paragraphs
    paragraphs = [WRAPPED[ps:pe] for ps, pe in (layout.paragraph_of[s.index] for s in body)]
    assert paragraphs[0] == paragraphs[1] and paragraphs[0].startswith("The provincial")
    assert paragraphs[0].endswith("higher floors.") and paragraphs[2] == body[2].text


def test_separate_lines_are_not_joined():
    text = "Flood plan approved\n\nThe plan was approved on Tuesday.\nSchools stayed closed.\n• Harbin\n• Daqing\n"
    layout = segment_article(Article(id="s", text=text, input="t"))
    assert all("\n" not in s.text for s in layout.segments)


def test_sentence_broken_around_a_stray_line_is_joined():
    text = (
        "Flood plan approved after rain\n\n"
        "The first two councillors managed to avoid the stairwell (\n\nunder the ground floor window\n\n"
        "), but the third fell, the deputy mayor said.\n"
    )
    layout = segment_article(Article(id="b", text=text, input="t"))
    body = [s for s in layout.segments if s.kind == "body"]
    assert len(body) == 1 and body[0].text.startswith("The first two") and body[0].text.endswith("mayor said.")


# --- sentence boundaries -------------------------------------------------------------------------------


def test_domain_names_stay_whole_and_a_glued_boundary_is_split():
    text = (
        "The agency told URA.RU and INTERFAX.RU that the fire was out, Yonhap.co.kr reported on Monday.\n\n"
        "The delegation arrived in Seoul.The problem of the border talks was not new, officials said.\n"
    )
    layout = segment_article(Article(id="d", text=text, input="t"))
    body = [s for s in layout.segments if s.kind == "body"]
    assert body[0].text == (
        "The agency told URA.RU and INTERFAX.RU that the fire was out, Yonhap.co.kr reported on Monday."
    )
    assert [s.text for s in body[1:]] == [
        "The delegation arrived in Seoul.",
        "The problem of the border talks was not new, officials said.",
    ]
    assert text[body[1].end] == "T"  # the glued letter follows the first sentence's end


def test_punctuation_only_fragments_are_not_body_sentences():
    text = (
        "Flood plan approved after rain\n\n"
        "The provincial government approved a new flood plan on Tuesday after three days of heavy rain.\n\n.\n\n"
        "Residents were told to move valuables to higher floors, officials said.\n\n#.\n\n"
        "Schools in two towns stayed closed while engineers inspected the bridges.\n\n/.\n"
    )
    layout = segment_article(Article(id="f", text=text, input="t"))
    assert {s.text for s in layout.segments if s.kind == "boilerplate"} == {".", "#.", "/."}
    assert all(any(c.isalnum() for c in s.text) for s in layout.segments if s.kind == "body")


def test_no_title_when_nothing_reads_as_a_headline():
    text = (
        "The provincial government approved a new flood plan on Tuesday after three days of heavy rain, "
        "and work on the dikes will begin next month, officials said.\n\n"
        "Residents were told to move valuables to higher floors.\n"
    )
    layout = segment_article(Article(id="n", text=text, input="t"))
    assert layout.title is None and all(s.kind == "body" for s in layout.segments)


def test_signature_names_version_library_and_data():
    """The segmenter names its version and sentencex's; that editing any of its data files changes it is checked
    for every shipped data file in test_signature.py."""
    from importlib.metadata import version

    from mtqa.segment import SEGMENT_VERSION

    sig = signature()
    assert sig.startswith(f"segment:{SEGMENT_VERSION}|") and f"sentencex:{version('sentencex')}" in sig


def test_a_bullet_before_a_sentence_is_layout_not_part_of_it():
    text = (
        "Vaccination schedule for the city\n\n"
        "The city will send vaccination tickets to every resident over 12 from next week, officials said.\n\n"
        "〇 People who are 60 years old or older can book from July 10.\n\n"
        "・Appointments for younger people open in August.\n"
    )
    segs = segment_article(Article(id="l", text=text, input="t")).segments
    got = [(s.kind, s.text) for s in segs]
    assert got[-4:] == [
        ("boilerplate", "〇"),
        ("body", "People who are 60 years old or older can book from July 10."),
        ("boilerplate", "・"),
        ("body", "Appointments for younger people open in August."),
    ]
    assert all(text[s.start : s.end] == s.text for s in segs)


def test_a_short_item_keeps_its_sentences():
    # a feed item: headline and one short sentence; position evidence is void in a page this short
    for given in ("Port reopens", None):
        layout = segment_article(Article(id="p", text="Port reopens\nThe port reopened.", input="t", title=given))
        assert [(s.kind, s.text) for s in layout.segments] == [
            ("title", "Port reopens"),
            ("body", "The port reopened."),
        ]


def test_a_short_headline_above_a_byline_beats_a_one_sentence_lead():
    """The usual layout: headline, byline, a short first paragraph. The one-sentence lead ends with a full stop,
    so it is a headline only when nothing above it could be one."""
    text = (
        "Floods hit Zhuozhou\nBy Staff Writer | Updated 2 August 2023\nRescue teams used boats.\n"
        "House prices rose in southern Seoul. The problem is supply, officials said.\n"
    )
    layout = segment_article(Article(id="a", text=text, input="a.txt"))
    kinds = [(s.kind, s.text) for s in layout.segments]
    assert layout.title == "Floods hit Zhuozhou" and ("body", "Rescue teams used boats.") in kinds
    assert ("boilerplate", "By Staff Writer | Updated 2 August 2023") in kinds
