"""Property-based checks: random text through segmentation and rules never raises and keeps offsets exact."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtqa import rules
from mtqa.segment import segment_article
from mtqa.types import Article

# Text that looks a little like scraped news: words, punctuation, quotes, newlines, CJK, RTL, zero-width.
ALPHABET = st.sampled_from(
    list("abcXYZ .,;:!?\"'“”‘’()[]-—\n\t")
    + [
        "The ",
        "said ",
        "U.S. ",
        "Dr. ",
        "Home » ",
        "by admin\n",
        "See also ",
        "，",
        "。",
        "平壤",
        "\u200b",
        "\u202e",
        "Ã©",
        "&amp;",
        "\r\n",
    ]
)
TEXT = st.lists(ALPHABET, max_size=300).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_segments_and_findings_keep_exact_offsets(text):
    layout = segment_article(Article(id="p", text=text, input="<hypothesis>"))
    last_end = 0
    for seg in layout.segments:
        assert text[seg.start : seg.end] == seg.text and seg.text.strip() == seg.text and seg.text
        assert seg.start >= last_end  # segments are in order and never overlap
        last_end = seg.end
    body = [s for s in layout.segments if s.kind == "body"]
    spans = [(s.start, s.end) for s in body]
    found = rules.apply_sentence_rules(text, spans, [layout.paragraph_of[s.index] for s in body])
    for (a, z), fs in zip(spans, found, strict=True):
        for f in fs:
            assert a <= f.start < f.end <= z, (f, text[a:z])
    title = next(((s.start, s.end) for s in layout.segments if s.kind == "title"), None)
    rules.apply_article_rules(text, title, spans)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_arbitrary_unicode_is_segmented_without_error(text):
    layout = segment_article(Article(id="p", text=text, input="<hypothesis>"))
    for seg in layout.segments:
        assert text[seg.start : seg.end] == seg.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), lines=st.lists(st.binary(max_size=200), max_size=8))
def test_random_bytes_are_read_or_reported_never_raised(tmp_path, data, lines):
    from mtqa.io import read_inputs
    from mtqa.types import ReadError

    (tmp_path / "a.txt").write_bytes(data)
    (tmp_path / "b.jsonl").write_bytes(b"\n".join(lines))
    out = list(read_inputs([tmp_path / "a.txt", tmp_path / "b.jsonl"]))
    from_txt = [x for x in out if x.input == str(tmp_path / "a.txt")]
    assert len(from_txt) == 1  # the text file is either one article or one error, never lost
    jsonl_inputs = [x.input for x in out if x.input.startswith(str(tmp_path / "b.jsonl"))]
    assert len(jsonl_inputs) == sum(1 for raw in b"\n".join(lines).split(b"\n") if raw.strip())
    assert all(isinstance(x, ReadError) or x.text.strip() for x in out)
