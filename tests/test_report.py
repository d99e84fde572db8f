"""Reports: the JSON contract, safe file names, HTML escaping/marking and the run summary."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtqa import report
from mtqa.report import SCHEMA, article_to_dict, safe_id, summary_rows, write_article, write_summary
from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment

CONTRACT_KEYS = [
    "schema", "id", "title", "input", "status", "error", "score", "verdict", "n_sentences", "n_flagged",
    "signature", "text", "segments", "article_findings", "reference",
]
SEGMENT_KEYS = ["index", "kind", "text", "start", "end", "score", "flagged", "features", "findings", "reference"]
FINDING_KEYS = ["code", "message", "severity", "start", "end"]

XSS = '<script>alert("x")</script>'


def _at(text: str, needle: str, after: int = 0) -> tuple[int, int]:
    start = text.index(needle, after)
    return start, start + len(needle)


def make_result(
    article_id: str = "art-1", title: str | None = "Minister <b>visits</b> &amp; speaks"
) -> ArticleResult:
    """A hand-built result: title, boilerplate, an unclassified gap, flagged and clean sentences."""
    text = (
        f"Minister visits {XSS} &amp; speaks\n"
        "Share this article on Facebook\n"
        "The minister said development The plan is `good` | really. (unclassified note) "
        "Second sentence is fine.\n"
        f"Third one has {XSS} in it and breaks\n"
        "across lines here."
    )
    t = _at(text, text.split("\n")[0])
    b = _at(text, "Share this article on Facebook")
    s1 = _at(text, "The minister said development The plan is `good` | really.")
    s2 = _at(text, "Second sentence is fine.")
    s3 = (text.index("Third"), text.index("here.") + len("here."))
    brk = _at(text, "development The")
    script = _at(text, XSS, s3[0])
    segments = [
        Segment(0, "title", text[t[0]:t[1]], *t),
        Segment(1, "boilerplate", text[b[0]:b[1]], *b,
                findings=[Finding("boilerplate", "social sharing line", "minor", *b)]),
        Segment(
            2, "body", text[s1[0]:s1[1]], *s1, score=np.float32(0.93), flagged=True,
            features={
                "lm_mean_logprob": np.float64(-5.1), "slor": np.nan, "n_tokens": np.int64(12),
                "break": {"start": brk[0], "end": brk[1], "text": "development The", "score": np.float32(.8)},
                "window": {"start": brk[0], "end": brk[1], "text": "development The", "score": 0.7},
                "tokens": np.array([[brk[0], brk[0] + 11, 9.5], [brk[0] + 12, brk[1], 7.25]]),
            },
            findings=[
                # overlapping spans: "said development" and "development The"
                Finding("repeat", 'odd "repeat" <here>', "minor", *_at(text, "said development")),
                Finding("caps", "capital letter mid-sentence", "major", *_at(text, "development The")),
            ],
        ),
        Segment(3, "body", text[s2[0]:s2[1]], *s2, score=0.35),
        Segment(4, "body", text[s3[0]:s3[1]], *s3, score=0.71, flagged=True,
                findings=[Finding("markup", "HTML left in the text", "major", *script)]),
    ]
    return ArticleResult(
        id=article_id, input="corpus.jsonl:3", title=title, text=text, score=np.float64(0.88), verdict="fail",
        segments=segments, signature="scorer=test rules=1 cal=none",
        article_findings=[ArticleFinding("many_flagged", "2 of 3 sentences flagged | `see`", "major")],
    )


def error_result(article_id: str = "broken") -> ArticleResult:
    return ArticleResult(id=article_id, input="bad.html", status="error", error="cannot decode <utf-8> input")


# --------------------------------------------------------------------------- JSON


def test_json_round_trip(tmp_path: Path) -> None:
    result = make_result()
    paths = write_article(result, tmp_path, safe_id(result.id))
    assert set(paths) == {"json", "md", "html"} and all(p.is_file() for p in paths.values())

    def no_nan(name: str) -> None:
        raise AssertionError(f"non-JSON constant {name}")

    data = json.loads(paths["json"].read_text(encoding="utf-8"), parse_constant=no_nan)
    assert list(data) == CONTRACT_KEYS
    assert data == article_to_dict(result)
    assert data["schema"] == SCHEMA == "mtqa.article/1"
    assert data["status"] == "ok" and data["verdict"] == "fail" and data["score"] == pytest.approx(0.88)
    assert (data["n_sentences"], data["n_flagged"]) == (3, 2)
    text = data["text"]
    assert text == result.text
    for seg in data["segments"]:
        assert list(seg) == SEGMENT_KEYS
        assert text[seg["start"]:seg["end"]] == seg["text"]
        for f in seg["findings"]:
            assert list(f) == FINDING_KEYS
            assert f["severity"] in ("minor", "major")
            assert text[f["start"]:f["end"]] in seg["text"]
    assert data["segments"][1]["score"] is None
    assert data["reference"] is None and all(seg["reference"] is None for seg in data["segments"])  # none given
    feats = data["segments"][2]["features"]
    assert feats["slor"] is None  # NaN -> null
    assert isinstance(feats["n_tokens"], int) and isinstance(feats["break"]["score"], float)
    assert feats["tokens"][1] == [feats["break"]["start"] + 12, feats["break"]["end"], 7.25]
    brk = feats["break"]
    assert text[brk["start"]:brk["end"]] == brk["text"]
    assert data["article_findings"] == [
        {"code": "many_flagged", "message": "2 of 3 sentences flagged | `see`", "severity": "major"}
    ]
    assert '<script>alert(\\"x\\")' in paths["json"].read_text(encoding="utf-8")  # raw text, not \\u003c


def test_json_error_result_has_null_score_and_verdict() -> None:
    data = article_to_dict(error_result())
    assert list(data) == CONTRACT_KEYS
    assert data["status"] == "error" and data["error"].startswith("cannot decode")
    assert data["score"] is None and data["verdict"] is None
    assert data["segments"] == [] and data["n_sentences"] == 0


def test_json_survives_lone_surrogates(tmp_path: Path) -> None:
    """Text decoded with surrogateescape must not crash the writer and must read back unchanged."""
    text = "Bad byte \udcff here."
    result = ArticleResult(id="s", input="x", text=text, score=0.1, verdict="pass",
                           segments=[Segment(0, "body", text, 0, len(text), score=0.1)])
    paths = write_article(result, tmp_path, "s")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["text"] == text


# --------------------------------------------------------------------------- safe_id

NASTY_IDS = [
    "../../etc/passwd", "/abs/path", "a\x00b", "..", ".", "", "x" * 5000, "con", "CON.txt", "a/b", "a_b",
    "Ünïcödé/文章/記事", "...hidden", "a\\b", "C:\\Windows\\x", "A", "a", "id with spaces", "\udcffbad",
    "-rf", "~/x", "a" * 100, "a" * 101,
]


def test_safe_id_stays_inside_and_is_unique(tmp_path: Path) -> None:
    out = tmp_path / "out"
    taken: set[str] = set()
    stems = [safe_id(i, taken) for i in NASTY_IDS]
    assert len({s.lower() for s in stems}) == len(stems)  # unique even on case-insensitive disks
    for raw, stem in zip(NASTY_IDS, stems, strict=True):
        assert stem and stem not in (".", "..") and not stem.startswith(".")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", stem), stem
        assert len(stem) <= report.MAX_STEM + 4
        assert (out / "articles" / f"{stem}.html").resolve().is_relative_to(out.resolve())
        assert safe_id(raw) == safe_id(raw)  # deterministic
    assert safe_id("a/b") != safe_id("a_b") == "a_b"
    assert safe_id("con").lower() != "con"
    assert safe_id("plain-id_1.2") == "plain-id_1.2"

    for raw, stem in zip(NASTY_IDS, stems, strict=True):
        write_article(make_result(article_id=raw), out, stem)
    by_id = dict(zip(NASTY_IDS, stems, strict=True))
    write_summary([make_result(article_id=i) for i in NASTY_IDS], out, by_id, "s")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 3 * len(NASTY_IDS) + 3
    assert all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert not [p for p in written if p.name.startswith(".")]  # no temp files left behind


@given(st.text())
def test_safe_id_property(raw: str) -> None:
    stem = safe_id(raw)
    assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", stem)
    assert len(stem) <= report.MAX_STEM


def test_safe_id_taken_suffixes() -> None:
    taken: set[str] = set()
    assert [safe_id("x", taken) for _ in range(3)] == ["x", "x-2", "x-3"]
    assert safe_id("X", taken) == "X-4"


@pytest.mark.parametrize("stem", ["../x", "a/b", "..", ".", "", ".hidden", "a\x00b"])
def test_write_article_rejects_unsafe_stem(tmp_path: Path, stem: str) -> None:
    with pytest.raises(ValueError):
        write_article(make_result(), tmp_path, stem)
    assert not list(tmp_path.rglob("*.json"))


# --------------------------------------------------------------------------- HTML

VOID = {"meta", "input", "br", "hr", "img", "link", "wbr"}


class _Checker(HTMLParser):
    """Checks tag balance and rebuilds the article text, recording which characters are inside <mark>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.in_article = 0
        self.lines: list[list[tuple[str, bool]]] = []
        self.mark_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "div" and a.get("class") == "article":
            self.in_article = len(self.stack)
        elif self.in_article and tag == "p":
            self.lines.append([])
        elif tag == "mark":
            self.mark_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        if tag == "mark":
            self.mark_depth -= 1
        if self.in_article == len(self.stack):
            self.in_article = 0
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.in_article and self.stack[-1] != "div":
            self.lines[-1].extend((ch, self.mark_depth > 0) for ch in data)


def check_html(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.errors, checker.errors
    assert checker.stack == [], checker.stack
    return checker


def test_html_escapes_and_marks() -> None:
    result = make_result()
    html = report.render_html(result)
    assert "<script>alert" not in html and "<b>visits" not in html
    assert "&lt;script&gt;alert(" in html
    assert "&amp;amp;" in html  # the literal "&amp;" of the article, escaped once more
    assert '<meta charset="utf-8">' in html and "<title>" in html
    assert not re.search(r"https?://|src=|<link|@import", html)  # self-contained

    checker = check_html(html)
    rebuilt = "\n".join("".join(ch for ch, _ in line) for line in checker.lines)
    assert rebuilt == result.text  # the whole article, gaps included, line breaks kept
    marked = [m for line in checker.lines for _, m in line + [("\n", False)]]
    for seg in result.segments:
        if seg.flagged:
            for f in seg.findings:
                assert all(marked[f.start:f.end]), f
            brk = seg.features.get("break")
            if brk:
                assert all(marked[brk["start"]:brk["end"]])
    assert not any(marked[result.segments[3].start:result.segments[3].end])  # clean sentence: no marks

    spans = {a["id"]: a for t, a in checker.tags if t == "span" and "id" in a}
    assert set(spans) == {f"s{s.index}" for s in result.segments}
    assert "boilerplate" in spans["s1"]["class"]
    assert "flagged" in spans["s2"]["class"] and spans["s2"]["data-score"] == "0.930"
    assert "tint" in spans["s3"]["class"] and "flagged" not in spans["s3"]["class"]
    assert 'href="#s2"' in html and 'href="#s4"' in html


def test_html_overlapping_spans_get_union_of_titles() -> None:
    checker = check_html(report.render_html(make_result()))
    titles = [a.get("title", "") for t, a in checker.tags if t == "mark"]
    both = [t for t in titles if "repeat:" in t and "caps:" in t and "lm-break" in t]
    assert both, titles  # the "development" piece is covered by both findings and the LM break
    assert any('odd "repeat" <here>' in t for t in titles)  # attribute unescaped by the parser = raw message


def test_html_survives_bad_offsets_and_empty_articles() -> None:
    text = "One two three. Four five."
    result = ArticleResult(
        id="odd", input="x", text=text, score=0.5, verdict="review",
        segments=[
            Segment(0, "body", "One two three.", 0, 14, score=0.9, flagged=True,
                    findings=[Finding("x", "beyond the sentence", "major", 10, 999)],
                    features={"break": {"start": "bad"}, "window": None}),
            Segment(1, "body", "overlap", 5, 20, score=0.2),  # overlaps segment 0
            Segment(2, "body", "out of range", 500, 600, score=0.1),
        ],
    )
    checker = check_html(report.render_html(result))
    assert "".join(ch for line in checker.lines for ch, _ in line) == text
    check_html(report.render_html(ArticleResult(id="empty", input="x")))
    check_html(report.render_html(error_result()))
    assert "cannot decode &lt;utf-8&gt; input" in report.render_html(error_result())


# --------------------------------------------------------------------------- Markdown


def test_markdown_lists_flagged_worst_first_and_escapes() -> None:
    md = report.render_markdown(make_result())
    assert md.startswith("# Minister \\<b\\>visits\\</b\\> \\&amp; speaks\n")
    assert "**Verdict:** FAIL" in md and "0.880" in md
    assert md.index("**s2**") < md.index("**s4**")  # 0.93 before 0.71
    assert "> The minister said development The plan is \\`good\\` \\| really." in md
    assert "`caps` (major): capital letter mid-sentence — “development The”" in md
    assert "<script>" not in md
    assert "`many_flagged` (major): 2 of 3 sentences flagged \\| \\`see\\`" in md
    # every quoted sentence stays on one blockquote line inside its list item
    quotes = [line for line in md.splitlines() if line.lstrip().startswith(">")]
    assert len(quotes) == 2 and all(line.startswith("   > ") for line in quotes)


# --------------------------------------------------------------------------- summary


def test_summary_rows_and_files(tmp_path: Path) -> None:
    good = make_result("good")
    good.score, good.verdict = 0.05, "pass"
    for seg in good.segments:
        seg.flagged, seg.findings = False, []
    good.article_findings = []
    results = [good, make_result("bad-one"), error_result("<err>&id"), make_result("mid")]
    results[3].score, results[3].verdict = 0.5, "review"
    taken: set[str] = set()
    stems = {r.id: safe_id(r.id, taken) for r in results}
    for r in results:
        write_article(r, tmp_path, stems[r.id])
    paths = write_summary(results, tmp_path, stems, "sig=xyz")
    assert set(paths) == {"parquet", "csv", "html"}

    rows = summary_rows(results, stems)
    assert [list(r) for r in rows] == [report.SUMMARY_COLUMNS] * 4
    assert rows[1]["top_finding"].startswith("caps: ")  # major beats minor
    assert rows[0]["top_finding"] == "" and rows[2]["score"] is None
    assert rows[1]["report"] == f"articles/{stems['bad-one']}.html"
    assert summary_rows(results)[0]["report"] == ""

    for df in (pd.read_parquet(paths["parquet"]), pd.read_csv(paths["csv"], keep_default_na=False)):
        assert list(df.columns) == report.SUMMARY_COLUMNS
        assert list(df["id"]) == [r.id for r in results]
        assert list(df["status"]) == ["ok", "ok", "error", "ok"]
        assert list(df["n_flagged"]) == [0, 2, 0, 2]
    df = pd.read_parquet(paths["parquet"])
    assert pd.isna(df.loc[2, "score"]) and df.loc[2, "error"] == "cannot decode <utf-8> input"

    html = paths["html"].read_text(encoding="utf-8")
    check_html(html)
    for r in results:
        assert (r.id if r.id != "<err>&id" else "&lt;err&gt;&amp;id") in html
        assert (tmp_path / rows[results.index(r)]["report"]).is_file()
    assert "<err>" not in html
    needles = ("cannot decode", "<code>bad-one</code>", "<code>mid</code>", "<code>good</code>")
    order = [html.index(s) for s in needles]
    assert order == sorted(order)  # errors first, then worst score first
    assert "sig=xyz" in html
    assert not re.search(r"https?://|src=|<link", html)


def test_summary_with_no_results(tmp_path: Path) -> None:
    paths = write_summary([], tmp_path, {}, "sig")
    assert pd.read_parquet(paths["parquet"]).empty
    check_html(paths["html"].read_text(encoding="utf-8"))
