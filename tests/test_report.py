"""Reports: the JSON contract, safe file names, HTML escaping/marking and the run summary."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import markupsafe
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtqa import report
from mtqa.policy import flagging_codes
from mtqa.report import SCHEMA, article_to_dict, files, safe_id, summary, summary_rows, write_article, write_reports
from mtqa.report.display import HISTOGRAM_BINS
from mtqa.report.summary import CorpusStats, write_summary_files
from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment, Suggestion

from .conftest import CONTRACT_KEYS, SEGMENT_KEYS

FINDING_KEYS = ["code", "message", "severity", "start", "end", "suggestions"]
SUGGESTION_KEYS = ["start", "end", "replacement", "score"]

XSS = '<script>alert("x")</script>'


def _at(text: str, needle: str, after: int = 0) -> tuple[int, int]:
    start = text.index(needle, after)
    return start, start + len(needle)


def make_result(article_id: str = "art-1", title: str | None = "Minister <b>visits</b> &amp; speaks") -> ArticleResult:
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
        Segment(0, "title", text[t[0] : t[1]], *t),
        Segment(
            1,
            "boilerplate",
            text[b[0] : b[1]],
            *b,
            findings=[Finding("boilerplate", "social sharing line", "minor", *b)],
        ),
        Segment(
            2,
            "body",
            text[s1[0] : s1[1]],
            *s1,
            score=np.float32(0.93),
            flagged=True,
            features={
                "lm_mean_logprob": np.float64(-5.1),
                "slor": np.nan,
                "n_tokens": np.int64(12),
                "break": {"start": brk[0], "end": brk[1], "text": "development The", "score": np.float32(0.8)},
                "window": {"start": brk[0], "end": brk[1], "text": "development The", "score": 0.7},
                "tokens": np.array([[brk[0], brk[0] + 11, 9.5], [brk[0] + 12, brk[1], 7.25]]),
            },
            findings=[
                # overlapping spans: "said development" and "development The"; codes that do not flag by
                # themselves (data/codes.tsv), so the language model's score is what flagged this sentence
                Finding("repeated-phrase", 'odd "repeat" <here>', "minor", *_at(text, "said development")),
                Finding(
                    "calque",
                    "capital letter mid-sentence",
                    "major",
                    *_at(text, "development The"),
                    suggestions=[
                        Suggestion(*brk, "development. The", np.float64(3.25)),
                        Suggestion(*brk, "development the", 1.0),
                    ],
                ),
            ],
        ),
        Segment(3, "body", text[s2[0] : s2[1]], *s2, score=0.35),
        Segment(
            4,
            "body",
            text[s3[0] : s3[1]],
            *s3,
            score=0.71,
            flagged=True,
            findings=[
                Finding(
                    "markup",
                    "HTML left in the text",
                    "major",
                    *script,
                    suggestions=[Suggestion(*script, "<b onmouseover=alert(2)>bold</b>", 1.5)],
                )
            ],
        ),
    ]
    return ArticleResult(
        id=article_id,
        input="corpus.jsonl:3",
        title=title,
        text=text,
        score=np.float64(0.88),
        verdict="fail",
        segments=segments,
        signature="scorer=test rules=1 cal=none",
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
    assert data["schema"] == SCHEMA == "mtqa.article/2"
    assert data["status"] == "ok" and data["verdict"] == "fail" and data["score"] == pytest.approx(0.88)
    assert (data["n_sentences"], data["n_flagged"]) == (3, 2)
    text = data["text"]
    assert text == result.text
    for seg in data["segments"]:
        assert list(seg) == SEGMENT_KEYS
        assert text[seg["start"] : seg["end"]] == seg["text"]
        for f in seg["findings"]:
            assert list(f) == FINDING_KEYS
            assert f["severity"] in ("minor", "major")
            assert text[f["start"] : f["end"]] in seg["text"]
            for sug in f["suggestions"]:
                assert list(sug) == SUGGESTION_KEYS and isinstance(sug["score"], float)
                assert seg["start"] <= sug["start"] <= sug["end"] <= seg["end"]
    assert data["segments"][1]["score"] is None
    assert data["reference"] is None and all(seg["reference"] is None for seg in data["segments"])  # none given
    feats = data["segments"][2]["features"]
    assert feats["slor"] is None  # NaN -> null
    assert isinstance(feats["n_tokens"], int) and isinstance(feats["break"]["score"], float)
    assert feats["tokens"][1] == [feats["break"]["start"] + 12, feats["break"]["end"], 7.25]
    brk = feats["break"]
    assert text[brk["start"] : brk["end"]] == brk["text"]
    assert data["article_findings"] == [
        {"code": "many_flagged", "message": "2 of 3 sentences flagged | `see`", "severity": "major", "suggestions": []}
    ]
    caps = data["segments"][2]["findings"][1]
    assert caps["suggestions"] == [
        {"start": brk["start"], "end": brk["end"], "replacement": "development. The", "score": 3.25},
        {"start": brk["start"], "end": brk["end"], "replacement": "development the", "score": 1.0},
    ]
    assert '<script>alert(\\"x\\")' in paths["json"].read_text(encoding="utf-8")  # raw text, not \\u003c


def test_json_suggestions_read_back_and_version_1_is_stale(tmp_path: Path) -> None:
    """--resume reads reports back: suggestions (sentence and article findings) survive the round trip, and a
    report of the previous contract (mtqa.article/1, no suggestions) is refused, so its article is scored again."""
    result = make_result()
    name = (result.text.index("Third"), result.text.index("Third") + len("Third"))
    result.article_findings.append(
        ArticleFinding(
            "inconsistent-name", "Name spelled in different ways", "minor", [Suggestion(*name, "Thurd", -0.5)]
        )
    )
    data = json.loads(report.contract.to_json(result))
    back = report.article_from_dict(data)
    assert [[f.suggestions for f in s.findings] for s in back.segments] == [
        [f.suggestions for f in s.findings] for s in result.segments
    ]
    assert back.article_findings[1].suggestions == [Suggestion(*name, "Thurd", -0.5)]
    assert article_to_dict(back) == data

    old = {**data, "schema": "mtqa.article/1"}
    with pytest.raises(ValueError, match="mtqa.article/2"):
        report.article_from_dict(old)
    writer = report.ReportWriter(tmp_path, result.signature)
    stem = writer.stem(result.id)
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / f"{stem}.json").write_text(json.dumps(old), encoding="utf-8")
    assert writer.finished(result.id, result.input) is None  # stale: scored again, never a crash
    (tmp_path / "articles" / f"{stem}.json").write_text(json.dumps(data), encoding="utf-8")
    assert writer.finished(result.id, result.input) is not None
    writer.abort()


def test_json_error_result_has_null_score_and_verdict() -> None:
    data = article_to_dict(error_result())
    assert list(data) == CONTRACT_KEYS
    assert data["status"] == "error" and data["error"].startswith("cannot decode")
    assert data["score"] is None and data["verdict"] is None
    assert data["segments"] == [] and data["n_sentences"] == 0


def test_json_survives_lone_surrogates(tmp_path: Path) -> None:
    """Text decoded with surrogateescape must not crash the writer and must read back unchanged."""
    text = "Bad byte \udcff here."
    result = ArticleResult(
        id="s",
        input="x",
        text=text,
        score=0.1,
        verdict="pass",
        segments=[Segment(0, "body", text, 0, len(text), score=0.1)],
    )
    paths = write_article(result, tmp_path, "s")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["text"] == text


# --------------------------------------------------------------------------- safe_id

NASTY_IDS = [
    "../../etc/passwd",
    "/abs/path",
    "a\x00b",
    "..",
    ".",
    "",
    "x" * 5000,
    "con",
    "CON.txt",
    "a/b",
    "a_b",
    "Ünïcödé/文章/記事",
    "...hidden",
    "a\\b",
    "C:\\Windows\\x",
    "A",
    "a",
    "id with spaces",
    "\udcffbad",
    "-rf",
    "~/x",
    "a" * 100,
    "a" * 101,
]


def test_safe_id_stays_inside_and_is_unique(tmp_path: Path) -> None:
    out = tmp_path / "out"
    taken: set[str] = set()
    stems = [safe_id(i, taken) for i in NASTY_IDS]
    assert len({s.lower() for s in stems}) == len(stems)  # unique even on case-insensitive disks
    for raw, stem in zip(NASTY_IDS, stems, strict=True):
        assert stem and stem not in (".", "..") and not stem.startswith(".")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", stem), stem
        assert len(stem) <= files.MAX_STEM + 4
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
    assert len(stem) <= files.MAX_STEM


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
    """Checks tag balance and rebuilds the article text (popovers left out), recording for every character
    the ids of the located spans whose <mark> covers it, and the text of every popover."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.in_article = 0
        self.in_pop = 0
        self.pops: dict[str, str] = {}
        self.lines: list[list[tuple[str, frozenset[str]]]] = []
        self.marks: list[set[str]] = []
        self.mark_starts: list[tuple[int, int]] = []  # (data-start, position in the rebuilt text)
        self.pos = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "div" and a.get("class") == "article":
            self.in_article = len(self.stack)
        elif self.in_article and tag == "p":
            if self.lines:
                self.pos += 1  # the line break between two lines
            self.lines.append([])
        elif tag == "span" and a.get("class") == "pop":
            self.in_pop = len(self.stack)
            self.pops[a["id"] or ""] = ""
        elif tag == "mark":
            self.marks.append(set((a.get("data-spans") or "").split()))
            if self.in_article:
                self.mark_starts.append((int(a.get("data-start") or -1), self.pos))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        if tag == "mark":
            self.marks.pop()
        if self.in_article == len(self.stack):
            self.in_article = 0
        if self.in_pop == len(self.stack):
            self.in_pop = 0
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.in_pop:
            key = list(self.pops)[-1]
            self.pops[key] += data
        elif self.in_article and self.stack[-1] != "div":
            ids = frozenset().union(*self.marks)
            self.lines[-1].extend((ch, ids) for ch in data)
            self.pos += len(data)

    def text(self) -> str:
        return "\n".join("".join(ch for ch, _ in line) for line in self.lines)

    def covered(self) -> list[frozenset[str]]:
        """The span ids covering each character of text()."""
        return [ids for line in self.lines for ids in [m for _, m in line] + [frozenset()]]


def check_html(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert not checker.errors, checker.errors
    assert checker.stack == [], checker.stack
    return checker


def expected_spans(result: ArticleResult) -> dict[str, tuple[int, int]]:
    """What the page must mark: every finding of a sentence or title, and the LM's break of a flagged one."""
    spans = {}
    for seg in result.segments:
        if seg.kind == "boilerplate":
            continue
        for k, f in enumerate(seg.findings):
            spans[f"s{seg.index}.f{k}"] = (f.start, f.end)
        brk = seg.features.get("break")
        flagged_by_lm = not flagging_codes(f.code for f in seg.findings)
        if seg.flagged and brk and flagged_by_lm and brk["score"] > 0:  # the break carries information
            spans[f"s{seg.index}.lm"] = (int(brk["start"]), int(brk["end"]))
    return spans


def test_html_escapes_and_marks() -> None:
    result = make_result()
    html = report.render_html(result)
    assert "<script>alert" not in html and "<b>visits" not in html
    assert "&lt;script&gt;alert(" in html
    assert "&amp;amp;" in html  # the literal "&amp;" of the article, escaped once more
    assert '<meta charset="utf-8">' in html and "<title>" in html
    assert not re.search(r"https?://|src=|<link|@import", html)  # self-contained
    assert "<script" not in html and "script-src 'none'" in html  # no script at all, and none may run

    checker = check_html(html)
    assert checker.text() == result.text  # the whole article, gaps included, line breaks kept
    covered = checker.covered()
    expected = expected_spans(result)
    assert set(expected) == {"s2.f0", "s2.f1", "s2.lm", "s4.f0"}
    for span_id, (start, end) in expected.items():
        inside = [i for i, ids in enumerate(covered) if span_id in ids]
        assert inside == list(range(start, end)), span_id  # marked exactly, nothing more
    assert not any(covered[result.segments[3].start : result.segments[3].end])  # clean sentence: no marks
    assert all(data_start == pos for data_start, pos in checker.mark_starts)  # data-start = article offset

    spans = {a["id"]: a for t, a in checker.tags if t == "span" and "id" in a and a["id"].startswith("s")}
    assert set(spans) == {f"s{s.index}" for s in result.segments}
    assert "boilerplate" in spans["s1"]["class"]
    assert "flagged" in spans["s2"]["class"] and spans["s2"]["data-score"] == "0.930"
    assert "tint" in spans["s3"]["class"] and "flagged" not in spans["s3"]["class"]
    assert 'href="#s2"' in html and 'href="#s4"' in html


def test_html_shows_the_top_suggestion_as_an_escaped_diff() -> None:
    """The best repair of a finding shows in its sentence's popover and in the side list as deleted and inserted
    text around the repair; article text in it stays text, and the article itself is left as it was."""
    result = make_result()
    html = report.render_html(result)
    checker = check_html(html)
    assert checker.text() == result.text  # the diff lives in the popover and side list, not in the article
    pop = checker.pops["why-s2"]
    assert "Suggested: said development. The plan" in pop and "+3.2 nats" in pop
    assert "development the" not in pop  # only the top suggestion
    assert html.count("<ins>.</ins>") == 2  # the inserted full stop: popover and side list
    # s4's repair replaces article markup with markup: both stay text, on both sides of the diff
    assert "<b onmouseover" not in html and "<script>alert" not in html
    assert not any(a.get("onmouseover") for _, a in checker.tags)
    fixes = read_fixes(html)
    assert (
        fixes
        == [
            ("said development The plan", "said development. The plan"),
            ('has <script>alert("x")</script> in', "has <b onmouseover=alert(2)>bold</b> in"),
        ]
        * 2
    )
    side = html[html.index('<nav class="side"') :]
    assert read_fixes(side) == fixes[2:]  # the side list too, s2 (0.93) before s4 (0.71)


class _Fixes(HTMLParser):
    """The text of every ``.fix`` span, as it stands (kept and deleted text) and repaired (kept and inserted)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.op = "="
        self.found: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag != "br"
            self.op = {"del": "-", "ins": "+"}.get(tag, "skip" if tag == "span" else self.op)
        elif tag == "span" and dict(attrs).get("class") == "fix":
            self.depth, self.op = 1, "="
            self.found.append(["", ""])

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            self.op = "="

    def handle_data(self, data: str) -> None:
        if self.depth and self.op != "skip":
            data = data.removeprefix("Suggested: ") if not any(self.found[-1]) else data
            if self.op in "=-":
                self.found[-1][0] += data
            if self.op in "=+":
                self.found[-1][1] += data


def read_fixes(html: str) -> list[tuple[str, str]]:
    parser = _Fixes()
    parser.feed(html)
    return [(before.strip(), after.strip()) for before, after in parser.found]


def test_html_overlapping_spans_carry_every_id() -> None:
    result = make_result()
    checker = check_html(report.render_html(result))
    both = [ids for ids in checker.covered() if {"s2.f0", "s2.f1", "s2.lm"} <= ids]
    # "development" is inside both findings ("said development", "development The") and the LM's break
    assert len(both) == len("development")


def test_html_tint_has_a_text_label_and_flagged_sentences_explain_themselves() -> None:
    """Colour is never alone: every tinted sentence has a label with its score; every flagged sentence is a
    tab stop described by a popover that names its findings, their spans and the LM evidence."""
    result = make_result()
    checker = check_html(report.render_html(result))
    spans = {a["id"]: a for t, a in checker.tags if t == "span" and a.get("id", "").startswith("s")}
    for seg in result.segments:
        a = spans[f"s{seg.index}"]
        tinted = "tint" in a["class"].split()
        assert tinted == (seg.flagged or (seg.score is not None and seg.score >= 0.3 and seg.kind != "boilerplate"))
        if tinted:
            assert re.fullmatch(r"(flagged · )?\d\.\d\d( \w+)*", a["data-label"]), a["data-label"]
            assert f"{float(seg.score):.2f}" in a["data-label"]
        if seg.flagged:
            assert a["tabindex"] == "0" and a["aria-describedby"] == f"why-s{seg.index}"
            pop = checker.pops[f"why-s{seg.index}"]
            for f in seg.findings:
                assert f.code in pop and f.message in pop and f"\u201c{result.text[f.start : f.end]}\u201d" in pop
    assert spans["s2"]["data-label"] == "flagged · 0.93 very likely"
    assert spans["s3"]["data-label"] == "0.35 possible" and "tabindex" in spans["s3"]  # tinted: a popover too
    assert "tabindex" not in spans["s1"] and "title" in spans["s1"]  # boilerplate: a plain tooltip
    pop = checker.pops["why-s2"]
    assert "score 0.930 (very likely garbled)" in pop
    assert "did not expect \u201cdevelopment The\u201d" in pop and "mean log-prob -5.10" in pop
    assert 'odd "repeat" <here>' in pop  # escaped in the HTML, the same text on screen

    result.segments[2].features["break"]["score"] = -2.0  # a break no more surprising than its words
    checker = check_html(report.render_html(result))
    assert "did not expect" not in checker.pops["why-s2"] and "least expected" not in checker.pops["why-s2"]
    assert not any("s2.lm" in ids for ids in checker.covered())  # no mark where it says nothing


def test_a_flagged_sentence_says_why_in_words_that_match_its_label() -> None:
    """Flagged by a rule with a low score: the popover names the rule and never calls the sentence unlikely to be
    garbled; the LM's break is not marked there (the rule's span is the evidence). Flagged by the score: says so."""
    result = make_result()
    by_rule = result.segments[4]  # flagged by its "markup" finding (not a registered code: treated as evidence)
    by_rule.score = 0.03
    by_rule.features = {"break": {"start": by_rule.start, "end": by_rule.start + 5, "text": "Third", "score": 3.0}}
    checker = check_html(report.render_html(result))
    pop = checker.pops["why-s4"]
    assert "flagged: markup" in pop and "score 0.030 (the language model alone would not flag it)" in pop
    assert "unlikely" not in pop and "did not expect" not in pop
    assert not any("s4.lm" in ids for ids in checker.covered())
    assert "flagged: the language model" in checker.pops["why-s2"]
    assert "Headline" not in checker.pops["why-s2"]


def test_html_side_list_is_worst_first_and_print_shows_findings_inline() -> None:
    html = report.render_html(make_result())
    checker = check_html(html)
    nav = [a["href"] for t, a in checker.tags if t == "a" and a.get("href", "").startswith("#s")]
    assert nav == ["#s2", "#s4"]  # 0.93 before 0.71
    print_css = html[html.index("@media print") :]
    assert re.search(r"\.side[^{]*\{ display: none", print_css)
    assert re.search(r"\.pop \{ display: inline-block; width: 100%;[^}]*position: static", print_css)


def with_reference(result: ArticleResult) -> ArticleResult:
    """make_result() as the reference-based checks will return it: figures per sentence and per article."""
    result.segments[2].reference = {
        "text": "The minister said the plan <is> good.",
        "chrf": 41.27,
        "chrfpp": 39.5,
        "ter": 62.5,
    }
    result.segments[3].reference = {"text": "The second sentence is fine.", "chrf": 88.0, "chrfpp": 86.1, "ter": 12.5}
    result.reference = {
        "bleu": 23.456,
        "chrf": 55.55,
        "ter": 48.0,
        "aligned": 2,
        "unaligned_mt": 1,
        "unaligned_ref": [],
        "signatures": {
            "bleu": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
            "chrf": "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
        },
    }
    return result


def test_html_shows_reference_figures_when_present() -> None:
    html = report.render_html(with_reference(make_result()))
    checker = check_html(html)
    assert checker.text() == make_result().text  # reference text is beside the article, not inside it
    header = html[html.index('id="reference-figures"') : html.index("</header>")]
    assert "BLEU 23.5 · chrF 55.5 · TER 48.0" in header
    assert "aligned sentences 2 · unaligned in the translation 1 · unaligned in the reference 0" in header
    assert "tok:13a|smooth:exp" in header and "nc:6|nw:0" in header
    pop = checker.pops["why-s2"]
    assert "The minister said the plan <is> good." in pop and "chrF 41.3 · chrF++ 39.5 · TER 62.5" in pop
    table = html[html.index('<table id="reference">') :]
    rows = re.findall(r"<tr(?: class=\"flagged\")?>\n(.*?)</tr>", table, re.S)
    assert len(rows) == 2 and "s2" in rows[0] and "&lt;is&gt;" in rows[0] and "41.3" in rows[0]
    assert "88.0" in rows[1] and "12.5" in rows[1]
    nav = html[html.index('<nav class="side"') :]
    assert "chrF 41.3" in nav  # next to the fluency score in the side list
    assert 'id="reference-figures"' not in report.render_html(make_result())  # absent without a reference


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.org/news/1?a=1&b=2", True),
        ("javascript:alert(1)", False),
        ('http://x.org/" onmouseover="alert(1)', False),
        (None, False),
    ],
)
def test_html_links_only_http_urls(url: str | None, linked: bool) -> None:
    result = make_result()
    result.url = url
    html = report.render_html(result)
    check_html(html)
    hrefs = [h for h in re.findall(r'href="([^"#][^"]*)"', html)]
    assert hrefs == (["https://example.org/news/1?a=1&amp;b=2"] if linked else [])
    assert 'onmouseover="' not in html
    if url:
        assert str(markupsafe.escape(url)) in html  # still shown, as text


def test_html_survives_bad_offsets_and_empty_articles() -> None:
    text = "One two three. Four five."
    result = ArticleResult(
        id="odd",
        input="x",
        text=text,
        score=0.5,
        verdict="review",
        segments=[
            Segment(
                0,
                "body",
                "One two three.",
                0,
                14,
                score=0.9,
                flagged=True,
                findings=[Finding("x", "beyond the sentence", "major", 10, 999)],
                features={"break": {"start": "bad"}, "window": None},
            ),
            Segment(1, "body", "overlap", 5, 20, score=0.2),  # overlaps segment 0
            Segment(2, "body", "out of range", 500, 600, score=0.1),
        ],
    )
    checker = check_html(report.render_html(result))
    assert checker.text() == text
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
    assert "`calque` (major): capital letter mid-sentence — “development The”" in md
    assert "<script>" not in md
    assert "`many_flagged` (major): 2 of 3 sentences flagged \\| \\`see\\`" in md
    assert (
        "     - fix: \u201csaid development The plan\u201d \u2192 \u201csaid development. The plan\u201d "
        "(language model +3.2 nats)" in md
    )
    assert "\u2192 \u201chas \\<b onmouseover=alert(2)\\>bold\\</b\\> in\u201d" in md  # escaped like article text
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
    assert [list(r) for r in rows] == [summary.SUMMARY_COLUMNS] * 4
    assert rows[1]["top_finding"].startswith("calque: ")  # major beats minor
    assert rows[0]["top_finding"] == "" and rows[2]["score"] is None
    assert [r["n_suggestions"] for r in rows] == [0, 2, 0, 2]  # the best repair of each finding that has one
    assert rows[1]["report"] == f"articles/{stems['bad-one']}.html"
    assert summary_rows(results)[0]["report"] == ""

    for df in (pd.read_parquet(paths["parquet"]), pd.read_csv(paths["csv"], keep_default_na=False)):
        assert list(df.columns) == summary.SUMMARY_COLUMNS
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


def _summary_results() -> list[ArticleResult]:
    good = make_result("good")
    good.score, good.verdict = 0.05, "pass"
    for seg in good.segments:
        seg.flagged, seg.findings = False, []
    good.article_findings = []
    return [good, make_result("bad-one"), error_result("<err>&id")]


def test_index_histograms_rule_counts_and_controls(tmp_path: Path) -> None:
    results = _summary_results()
    html = write_reports(results, tmp_path, "sig")["html"].read_text(encoding="utf-8")
    check_html(html)

    # histograms: one bar per bin, each titled with its range and count; the counts are the real scores
    for chart, noun, scores in (
        ("article-histogram", "article", [0.05, 0.88]),
        ("sentence-histogram", "sentence", [0.93, 0.35, 0.71] * 2),
    ):
        svg = html[html.index(f'<svg id="{chart}"') :]
        svg = svg[: svg.index("</svg>")]
        bars = re.findall(r"<rect class=\"bar\"[^>]*><title>([\d.]+)–([\d.]+): (\d+) \w+</title>", svg)
        assert len(bars) == HISTOGRAM_BINS
        counts = {(float(lo), float(hi)): int(n) for lo, hi, n in bars}
        assert sum(counts.values()) == len(scores)
        for score in scores:
            assert any(lo <= score < hi for (lo, hi), n in counts.items() if n), score
        assert f"{len(scores)} {noun}s by score" in svg
    assert "<img" not in html and "<canvas" not in html

    # per-rule counts: code, where it applies, findings, major, articles (the clean article adds nothing)
    rules = re.findall(
        r"<tr><td><code>([^<]+)</code></td><td>(\w+)</td><td class=\"num\">(\d+)</td>"
        r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td></tr>",
        html,
    )
    assert sorted(rules) == sorted(
        [
            ("calque", "sentence", "1", "1", "1"),
            ("markup", "sentence", "1", "1", "1"),
            ("repeated-phrase", "sentence", "1", "0", "1"),
            ("many_flagged", "article", "1", "1", "1"),
        ]
    )
    assert "boilerplate</code>" not in html  # boilerplate findings are not translation damage

    # sorting and filtering controls: a button in every header, a verdict select and a text filter
    head = html[html.index('<table id="articles">') : html.index("</thead>", html.index('<table id="articles">'))]
    assert head.count("<th ") == head.count('<button type="button"') == 7
    assert '<select id="verdict-filter">' in html and '<input id="text-filter" type="search"' in html
    assert re.findall(r'<tr data-verdict="(\w*)">', html) == ["fail", "pass"]


def test_index_script_is_the_only_one_allowed(tmp_path: Path) -> None:
    """The index's one script runs under a Content-Security-Policy that names its hash, so text injected
    into the page could not run even if escaping failed."""
    import base64
    import hashlib

    html = summary.render_index(summary_rows(_summary_results()), "sig")
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def write_summary(results: list[ArticleResult], out: Path, stems: dict[str, str], signature: str) -> dict[str, Path]:
    """The summary files of a list of results, written in one go (ReportWriter writes them as a run streams)."""
    return write_summary_files(summary_rows(results, stems), CorpusStats.of(results), out, signature)


def test_report_writer_streams_the_same_summary(tmp_path: Path) -> None:
    """ReportWriter keeps rows and running figures, not articles, and writes what write_summary writes."""
    results = _summary_results() + [make_result("late")]
    batch = write_summary(results, tmp_path / "batch", {r.id: safe_id(r.id) for r in results}, "sig")
    writer = report.ReportWriter(tmp_path / "stream", "sig")
    for r in results:
        writer.add(r)
    stream = writer.close()
    assert not any(
        isinstance(v, ArticleResult) or (isinstance(v, list) and v and isinstance(v[0], ArticleResult))
        for v in vars(writer).values()
    )
    assert writer.rows == summary_rows(results, writer.stems)
    assert writer.stats.sentence_counts == summary.CorpusStats.of(results).sentence_counts
    assert sum(writer.stats.sentence_counts) == 3 * 3  # three scored body sentences in each ok article
    assert stream["html"].read_text(encoding="utf-8") == batch["html"].read_text(encoding="utf-8")
