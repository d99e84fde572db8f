"""Site chrome on hand-made pages: menus, captions, comment sections, page headers and lines recurring in a corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtqa.chrome import FEATURES, RecurringLines, load_model, normalise, source_key
from mtqa.segment import segment_article
from mtqa.types import Article

DATA = Path(__file__).resolve().parent.parent / "data"

P1 = "The provincial government approved a new flood plan on Tuesday after three days of heavy rain."
P2 = "Residents in the lower districts were told to move valuables to higher floors, officials said."
P3 = "Schools in two towns stayed closed on Wednesday while engineers inspected the old river bridges."


def kinds(text: str, **kw) -> list[tuple[str, str]]:
    layout = segment_article(Article(id="a", text=text, input="t", **kw))
    for s in layout.segments:
        assert text[s.start : s.end] == s.text
    return [(s.kind, s.text) for s in layout.segments]


def test_a_run_of_menu_lines_between_paragraphs_is_chrome():
    menu = ["• Almaty", "• Astana", "• Shymkent", "• Karaganda", "• Aktobe", "• Taraz", "• Pavlodar", "• Semey"]
    text = "Flood plan approved after rain\n\n" + P1 + "\n\n" + "\n".join(menu) + "\n\n" + P2 + "\n"
    got = kinds(text)
    assert [t for k, t in got if k == "boilerplate"] == menu
    assert [k for k, t in got if t in (P1, P2)] == ["body", "body"]
    assert got[0] == ("title", "Flood plan approved after rain")


def test_comment_section_at_the_end_is_chrome_and_prose_before_it_is_not():
    text = (
        f"Flood plan approved after rain\n\n{P1}\n\n{P2}\n\n{P3}\n\n"
        "3 comments:\n\nAnonymous said...\n\nThis is the best plan the province has had in years, honestly.\n\n"
        "Lee Min said...\n\nWho will pay for the dikes when the money runs out next spring?\n"
    )
    got = kinds(text)
    assert [k for k, _ in got] == ["title", "body", "body", "body"] + ["boilerplate"] * 5


def test_caption_repeating_a_sentence_of_the_text_is_chrome():
    caption = "Residents in the lower districts move valuables to higher floors"
    lead = "Residents in the lower districts move valuables to higher floors as the river keeps rising, officials said."
    got = kinds(f"Flood plan approved after rain\n\n{caption}\n\n{lead}\n\n{P3}\n")
    assert ("boilerplate", caption) in got and ("body", lead) in got


def test_caption_inside_a_broken_sentence_is_chrome():
    text = (
        f"Flood plan approved after rain\n\n{P1}\n\n"
        "Engineers from the provincial water board began checking the old dikes along the\n\n"
        "Workers stack sandbags near a pumping station in Harbin.\n\n"
        "river on Wednesday morning, officials said.\n"
    )
    got = kinds(text)
    assert ("boilerplate", "Workers stack sandbags near a pumping station in Harbin.") in got
    assert ("body", "river on Wednesday morning, officials said.") in got
    # the two halves are linked as one sentence; nothing else is
    segs = segment_article(Article(id="a", text=text, input="t")).segments
    first = next(s for s in segs if s.text.startswith("Engineers"))
    second = next(s for s in segs if s.text.startswith("river"))
    assert second.continues == first.index
    assert [s.index for s in segs if s.continues is not None] == [second.index]


def test_a_sentence_broken_around_a_caption_and_its_credit_is_linked_across_both():
    text = (
        f"Flood plan approved after rain\n\n{P1}\n\n"
        "Engineers from the provincial water board began checking the old dikes along the\n\n"
        "Workers stack sandbags near a pumping station in Harbin\n\n"
        "Photo: Xinhua\n\n"
        "river on Wednesday morning, officials said.\n"
    )
    got = kinds(text)
    assert ("boilerplate", "Workers stack sandbags near a pumping station in Harbin") in got
    assert ("boilerplate", "Photo: Xinhua") in got
    segs = segment_article(Article(id="a", text=text, input="t")).segments
    first = next(s for s in segs if s.text.startswith("Engineers"))
    assert next(s for s in segs if s.text.startswith("river")).continues == first.index


def test_a_caption_between_two_whole_sentences_links_nothing():
    text = (
        f"Flood plan approved after rain\n\n{P1}\n\nWorkers stack sandbags near a pumping station in Harbin.\n\n{P2}\n"
    )
    assert all(s.continues is None for s in segment_article(Article(id="a", text=text, input="t")).segments)


def test_line_recurring_across_a_source_becomes_chrome_but_recurring_prose_stays_body():
    stories = [
        (P1, P2),
        (
            "A cargo ship ran aground near the port of Vladivostok early on Sunday, the coast guard said.",
            "No injuries were reported and the crew of 14 remained on board while tugs were sent.",
        ),
        (
            "The central bank kept its key rate unchanged at 7.5 percent for the third meeting in a row.",
            "Analysts had expected the decision after inflation slowed to 4.1 percent in March.",
        ),
    ]
    line = "Stories from the northern provinces, checked and updated through the night"
    shared = "The ministry said the investigation into the causes of the accident was continuing."
    articles = [
        Article(
            id=f"a{k}",
            text=f"Headline number {k} about the north\n\n{a}\n\n{line}\n\n{b}\n\n{shared}\n",
            input="t",
            source="Example Daily",
        )
        for k, (a, b) in enumerate(stories)
    ]
    # alone, the line reads as body: recurrence is what makes it chrome
    assert ("body", line) in [(s.kind, s.text) for s in segment_article(articles[0]).segments]
    counter = RecurringLines()
    for art in articles:
        counter.observe(art)
    for art in articles:
        annotated = counter.annotate(art)
        assert annotated.recurring_lines == frozenset({normalise(line)})  # the shared prose sentence is not counted
        got = [(s.kind, s.text) for s in segment_article(annotated).segments]
        assert ("boilerplate", line) in got and ("body", shared) in got


def test_recurrence_is_counted_per_source():
    line = "Stories from the northern provinces, checked and updated through the night"
    counter = RecurringLines(min_articles=2)
    a = Article(id="a", text=f"{P1}\n{line}\n", input="t", source="One")
    b = Article(id="b", text=f"{P2}\n{line}\n", input="t", url="https://www.two.example/x")
    c = Article(id="c", text=f"{P3}\n{line}\n", input="t", source="One")
    for art in (a, b, c):
        counter.observe(art)
    assert counter.recurring(a) == counter.recurring(c) == frozenset({normalise(line)})
    assert counter.recurring(b) == frozenset()
    assert source_key(b) == "two.example"


@pytest.mark.parametrize(
    "header",
    [
        "[ad_1]",
        "본문 바로가기",
        "Journalist",
        'Press "Enter" to skip to content',
        "https://example.com/images/2024/05/flood-photo-123.jpg",
        "Residents wade through floodwater in Harbin on Tuesday. (Photo: Xinhua)",
    ],
)
def test_chrome_first_line_is_never_the_title(header):
    text = f"{header}\n\n{P1} {P2}\n\n{P3}\n"
    layout = segment_article(Article(id="a", text=text, input="t"))
    assert layout.title is None
    assert layout.segments[0].kind == "boilerplate" and layout.segments[0].text == header


def test_site_name_and_page_title_above_the_headline_are_header_chrome():
    text = (
        "Harbin Evening News\n\n"
        "Flood plan approved after three days of rain – Harbin Evening News\n\n"
        "Flood plan approved after three days of rain\n\n"
        f"{P1} {P2}\n\n{P3}\n"
    )
    got = kinds(text)
    assert [k for k, _ in got[:3]] == ["boilerplate", "boilerplate", "title"]
    assert got[2][1] == "Flood plan approved after three days of rain"


def test_shipped_model_names_its_features_and_its_fit():
    doc = json.loads((DATA / "chrome.json").read_text(encoding="utf-8"))
    model = load_model()
    assert tuple(doc["features"]) == FEATURES == tuple(model.weights)
    assert 0 < model.threshold < 1
    fitted = doc["fitted"]
    assert fitted["command"].startswith("scripts/fit_chrome.py")
    for figures in (fitted["lines_in_sample"], fitted["lines_leave_one_case_out"]):
        assert 0 <= figures["precision"] <= 1 and 0 <= figures["recall"] <= 1


def test_the_copies_of_one_story_keep_their_headline():
    """Syndicated copies repeat a story's headline: it recurs in many articles but in one story, so it is not
    chrome; a line under every story of the source is."""
    footer = "Stories from the northern provinces, checked and updated through the night"
    headline = "Floods close the northern highway"
    copies = [
        Article(id=f"copy{k}", text=f"{headline}\n\n{P1}\n\n{P2}\n\n{footer}\n", input="t", source="Wire")
        for k in range(4)
    ]
    others = [
        Article(id=f"other{k}", text=f"Another headline {k}\n\n{p}\n\n{footer}\n", input="t", source="Wire")
        for k, p in enumerate((P2, P3))
    ]
    counter = RecurringLines()
    for art in [*copies, *others]:
        counter.observe(art)
    annotated = counter.annotate(copies[0])
    assert annotated.recurring_lines == frozenset({normalise(footer)})
    layout = segment_article(annotated)
    assert layout.title == headline and ("boilerplate", footer) in [(s.kind, s.text) for s in layout.segments]


def test_a_corpus_run_counts_recurring_lines_as_it_reads():
    """The run loop counts lines across the articles it reads (chunk by chunk), so a line under every story of
    a source is boilerplate in the reports without any setting."""
    from mtqa.run import score_articles
    from mtqa.settings import Settings

    footer = "Stories from the northern provinces, checked and updated through the night"
    stories = [(P1, P2), (P2, P3), (P3, P1)]
    articles = [
        Article(id=f"a{k}", text=f"Headline {k}\n\n{a}\n\n{footer}\n\n{b}\n", input="t", source="Daily")
        for k, (a, b) in enumerate(stories)
    ]
    results = score_articles(articles, Settings(model="fake", cache=False))
    for r in results:
        assert ("boilerplate", footer) in [(s.kind, s.text) for s in r.segments], r.id
