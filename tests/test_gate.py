"""The CI gate without the model: config, fingerprints, baseline, evaluation, outputs, and the new inputs."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import xml.etree.ElementTree as ET

import pytest

from mtqa import gate
from mtqa.gate import baseline, evaluate_gate, fingerprint
from mtqa.gate.github import github_annotations
from mtqa.gate.junit import junit_xml
from mtqa.gate.records import json_record
from mtqa.gate.sarif import sarif
from mtqa.io import html_fragment_to_text, read_inputs
from mtqa.settings import ConfigError, Settings, load_settings
from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment

TITLE = "Kim vows to deepen ties"
S1 = "He said development The people support it."
S2 = "Officials said the port reopened on Monday <script>x</script>\x01."
S3 = "The message said the DPRK will stand together with your country."


def _result(
    article_id: str = "kim", scores=(0.1, 0.2, 0.1), findings=None, article_findings=(), input_: str = "feeds/kim.txt"
) -> ArticleResult:
    """An article with a title and three body sentences; ``findings`` maps body number -> [(code, sev, span)]."""
    text = "\n".join([TITLE, S1, S2, S3])
    segs, pos = [], 0
    for i, line in enumerate([TITLE, S1, S2, S3]):
        kind = "title" if i == 0 else "body"
        segs.append(Segment(i, kind, line, pos, pos + len(line), score=None if i == 0 else scores[i - 1]))
        pos += len(line) + 1
    for n, found in (findings or {}).items():
        seg = segs[n]
        for code, sev, span in found:
            a = seg.text.index(span) + seg.start
            seg.findings.append(Finding(code, f"message of {code}", sev, a, a + len(span)))
        seg.flagged = True
    for seg in segs[1:]:
        seg.flagged = seg.flagged or seg.score >= 0.5
    res = ArticleResult(
        id=article_id,
        input=input_,
        text=text,
        segments=segs,
        score=max(scores),
        article_findings=[ArticleFinding(c, f"message of {c}", s) for c, s in article_findings],
    )
    res.verdict = "fail" if any(f.severity == "major" for s in segs for f in s.findings) else "pass"
    return res


DAMAGED = {
    1: [("fused-sentence", "major", "development The"), ("doubled-word", "minor", "said")],
    3: [("addressee-leak", "major", "your country")],
}


# --------------------------------------------------------------------------- fingerprints and evaluation


def test_fingerprint_is_stable_and_whitespace_insensitive():
    fp = fingerprint("kim", "He  said\n development", "fused-sentence")
    raw = b"kim\x00He said development\x00fused-sentence"
    assert fp == hashlib.sha256(raw).hexdigest()[:16]
    assert fp == fingerprint("kim", " He said development ", "fused-sentence")
    assert fp != fingerprint("kim2", "He said development", "fused-sentence")
    assert fp != fingerprint("kim", "He said development", "run-on")


def test_major_findings_fail_and_minor_ones_count_only_when_asked():
    res = _result(findings=DAMAGED)
    out = evaluate_gate(res, Settings(), set())
    assert not out.passed and not out.unreadable
    assert [(f.code, f.segment, res.text[f.start : f.end]) for f in out.failures] == [
        ("fused-sentence", 1, "development The"),
        ("addressee-leak", 3, "your country"),
    ]
    assert out.failures[0].fingerprint == fingerprint("kim", S1, "fused-sentence")
    assert out.failures[0].sentence == S1 and "development The" in out.reasons[0]
    minor = evaluate_gate(res, Settings(fail_severity="minor"), set())
    assert "doubled-word" in [f.code for f in minor.failures]
    ignored = evaluate_gate(res, Settings(ignore_rules=["fused-sentence", "addressee-leak"]), set())
    assert ignored.passed and ignored.failures == [] and ignored.reasons == []
    assert evaluate_gate(_result(), Settings(), set()).passed


def test_lm_score_failures_and_review_mode():
    res = _result(scores=(0.1, 0.85, 0.6))
    res.segments[2].features = {"break": {"start": res.segments[2].start + 8, "end": res.segments[2].start + 12}}
    out = evaluate_gate(res, Settings(), set())
    assert [(f.code, f.segment, f.severity) for f in out.failures] == [("lm-score", 2, "major")]
    assert res.text[out.failures[0].start : out.failures[0].end] == S2[8:12]  # the located break
    assert evaluate_gate(res, Settings(fail_threshold=0.9), set()).passed
    assert evaluate_gate(res, Settings(ignore_rules=["lm-score"]), set()).passed
    review = evaluate_gate(res, Settings(fail_on="review"), set())
    assert [(f.segment, f.severity) for f in review.failures] == [(2, "major"), (3, "minor")]
    # review mode counts minor findings too; a sentence with a counted rule finding gets no extra lm-score
    res = _result(scores=(0.9, 0.1, 0.1), findings={1: [("doubled-word", "minor", "said")]})
    assert [f.code for f in evaluate_gate(res, Settings(), set()).failures] == ["lm-score"]
    assert [f.code for f in evaluate_gate(res, Settings(fail_on="review"), set()).failures] == ["doubled-word"]


def test_flagged_share_and_article_findings():
    res = _result(
        findings={0: [("headline-damage", "major", TITLE)], 1: [("doubled-word", "minor", "He said")]},
        scores=(0.1, 0.6, 0.1),
        article_findings=[("inconsistent-name", "minor")],
    )
    out = evaluate_gate(res, Settings(max_flagged_share=0.5), set())
    assert [(f.code, f.segment) for f in out.failures] == [("headline-damage", 0)]
    assert out.failures[0].start == 0 and out.failures[0].end == len(TITLE)
    assert any("67% of sentences flagged" in r for r in out.reasons)
    out = evaluate_gate(res, Settings(max_flagged_share=0.5, ignore_rules=["doubled-word", "headline-damage"]), set())
    assert out.passed  # 1 of 3 flagged once doubled-word is ignored
    minor = evaluate_gate(res, Settings(fail_severity="minor"), set())
    name = next(f for f in minor.failures if f.code == "inconsistent-name")
    assert name.segment is None and name.start is None
    assert name.fingerprint == fingerprint("kim", "message of inconsistent-name", "inconsistent-name")


def test_baseline_suppresses_exactly_what_it_recorded(tmp_path):
    res = _result(findings=DAMAGED)
    path = tmp_path / "baseline.json"
    assert baseline.write_baseline(path, [evaluate_gate(res)]) == 2
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["fingerprints"] == sorted(data["fingerprints"])
    known = baseline.load_baseline(path)
    out = evaluate_gate(res, Settings(), known)
    assert out.passed and out.suppressed == 2
    # a new damaged sentence (and the same damage in another article) still fails
    res2 = _result(findings={**DAMAGED, 2: [("untranslated", "major", "Monday")]})
    out = evaluate_gate(res2, Settings(), known)
    assert [f.code for f in out.failures] == ["untranslated"] and out.suppressed == 2
    other = _result("other", findings=DAMAGED)
    assert len(evaluate_gate(other, Settings(), known).failures) == 2
    path.write_text('{"version": 2, "fingerprints": []}')
    with pytest.raises(ConfigError, match="not an mtqa baseline"):
        baseline.load_baseline(path)
    path.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        baseline.load_baseline(path)


# --------------------------------------------------------------------------- outputs


def _pairs():
    bad = _result("bad\x02<id>", findings=DAMAGED)
    good = _result("good", input_="corpus.jsonl:1")
    err = ArticleResult(id="corpus.jsonl:2", input="corpus.jsonl:2", status="error", error="malformed JSON: <x>")
    return [(r, evaluate_gate(r, Settings(), set())) for r in (bad, good, err)]


def test_exit_codes_and_summary():
    pairs = _pairs()
    outcomes = [o for _, o in pairs]
    assert gate.exit_code(outcomes) == 2
    assert gate.exit_code(outcomes[:2]) == 1
    assert gate.exit_code(outcomes[1:2]) == 0
    text = gate.summary_text(outcomes)
    assert text.startswith("mtqa check: 3 articles: 1 passed, 1 failed, 1 unreadable")
    assert "FAIL bad\x02<id> (feeds/kim.txt)" in text and f'sentence 1: "{S1}"' in text
    assert 'fused-sentence (major): message of fused-sentence: "development The"' in text
    assert "ERROR corpus.jsonl:2: malformed JSON" in text


def test_junit_parses_and_strips_forbidden_characters():
    raw = junit_xml([o for _, o in _pairs()])
    assert b"\x01" not in raw and b"\x02" not in raw
    root = ET.fromstring(raw)
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "mtqa"
    assert (suites[0].get("tests"), suites[0].get("failures"), suites[0].get("errors")) == ("3", "1", "1")
    cases = suites[0].findall("testcase")
    assert [(c.get("name"), c.get("classname")) for c in cases] == [
        ("bad<id>", "feeds/kim.txt"),
        ("good", "corpus.jsonl:1"),
        ("corpus.jsonl:2", "corpus.jsonl:2"),
    ]
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("type") == "fused-sentence"
    assert "development The" in failure.get("message") and S1 in failure.text and "your country" in failure.text
    assert cases[1].find("failure") is None and cases[1].find("error") is None
    error = cases[2].find("error")
    assert error is not None and "malformed JSON: <x>" in error.get("message")
    # article text with markup survives as text
    res = _result(findings={2: [("stray-entity", "major", "<script>x</script>")]})
    case = ET.fromstring(junit_xml([evaluate_gate(res, Settings(), set())]))[0][0]
    assert "<script>x</script>" in case.find("failure").text


def test_sarif_and_github_annotations():
    pairs = _pairs()
    log = sarif([o for _, o in pairs])
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "mtqa" and driver["version"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert {"fused-sentence", "addressee-leak", "headline-damage", "lm-score"} <= set(rule_ids)
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["fused-sentence", "addressee-leak"]
    first = results[0]
    assert first["level"] == "error" and rule_ids[first["ruleIndex"]] == "fused-sentence"
    phys = first["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "feeds/kim.txt"
    region = phys["region"]
    text = pairs[0][0].text
    assert text[region["charOffset"] : region["charOffset"] + region["charLength"]] == "development The"
    assert first["partialFingerprints"]["mtqaFingerprint/v1"] == pairs[0][1].failures[0].fingerprint
    assert run["invocations"][0]["executionSuccessful"] is False
    json.dumps(log)
    assert gate.input_path("corpus.jsonl:17") == "corpus.jsonl" and gate.input_path("f.xml#item3") == "f.xml"

    lines = github_annotations([o for _, o in pairs])
    assert lines[0] == (
        "::error file=feeds/kim.txt,line=2,title=mtqa fused-sentence::"
        "message of fused-sentence: development The (article bad\x02<id>)"
    )
    assert lines[-1] == "::error file=corpus.jsonl,title=mtqa unreadable input::corpus.jsonl:2: malformed JSON: <x>"
    assert all("\n" not in line for line in lines)
    records = [json_record(r, o) for r, o in pairs]
    assert records[0]["schema"] == "mtqa.article/2" and records[0]["gate"]["passed"] is False
    assert records[1]["gate"] == {"passed": True, "reasons": []}


# --------------------------------------------------------------------------- inputs

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>http://example.com/</link><description>d</description>
<item><title>Kim &amp; Putin meet in Vladivostok</title><link>http://example.com/1</link><guid>urn:wire:1</guid>
<description>&lt;p&gt;The leaders met on Monday.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;They agreed
 to meet &lt;b&gt;again&lt;/b&gt;.&lt;br&gt;No date was set.&lt;/p&gt;
&lt;p&gt;Again.&lt;/p&gt;&lt;p&gt;Again.&lt;/p&gt;</description>
</item>
<item><title>Port reopens</title><link>http://example.com/2</link><description>The port reopened.</description></item>
<item><title>Headline only</title></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><id>urn:feed</id><updated>2024-06-12T00:00:00Z</updated>
<entry><title>Rates on hold</title><id>urn:atom:1</id><link href="http://example.com/a1"/>
<updated>2024-06-12T00:00:00Z</updated><summary>short summary</summary>
<content type="html">&lt;p&gt;The bank kept rates at 3.5 percent.&lt;/p&gt;
&lt;p&gt;Markets were calm.&lt;/p&gt;</content></entry>
<entry><title>No id</title><updated>2024-06-12T00:00:00Z</updated><summary>Plain summary text.</summary></entry>
</feed>
"""


def test_rss_atom_html_and_bad_feeds(tmp_path):
    (tmp_path / "wire.rss").write_text(RSS, encoding="utf-8")
    (tmp_path / "wire.atom").write_text(ATOM, encoding="utf-8")
    (tmp_path / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url>x</url></urlset>')
    (tmp_path / "broken.xml").write_text("not <<< xml at all")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Flood relief reaches villages</title></head><body><nav>Home | World</nav><article>"
        "<h1>Flood relief reaches villages</h1><p>Relief supplies reached the flooded villages on Tuesday, "
        "officials said, after roads were cleared by army engineers working through the night.</p>"
        "<p>More than two thousand families received food, water and blankets, the provincial government "
        "said in a statement.</p></article></body></html>",
        encoding="utf-8",
    )
    items = {(x.input.rsplit("/", 1)[-1]): x for x in read_inputs([tmp_path])}
    page = items["page.html"]
    assert page.text.startswith("Flood relief reaches villages\n") and "two thousand families" in page.text

    first = items["wire.rss#item1"]
    assert first.id == "urn:wire:1" and first.url == "http://example.com/1"
    assert first.title == "Kim & Putin meet in Vladivostok"
    assert first.text == (
        "Kim & Putin meet in Vladivostok\nThe leaders met on Monday.\nThey agreed to meet again.\n"
        "No date was set.\nAgain.\nAgain."
    )
    assert items["wire.rss#item2"].text == "Port reopens\nThe port reopened."
    assert items["wire.rss#item3"].message == "feed item has no content or summary"

    atom = items["wire.atom#item1"]
    assert (atom.id, atom.url) == ("urn:atom:1", "http://example.com/a1")
    assert atom.text == "Rates on hold\nThe bank kept rates at 3.5 percent.\nMarkets were calm."  # content wins
    assert items["wire.atom#item2"].id == "wire.atom#2"
    assert items["wire.atom#item2"].text == "No id\nPlain summary text."

    assert items["sitemap.xml"].message == "not an RSS or Atom feed"
    assert "not a readable RSS or Atom feed" in items["broken.xml"].message
    assert len(items) == 8  # nothing dropped: 1 page, 3 + 2 feed items, 2 unreadable feeds


def test_stdin_jsonl(monkeypatch):
    data = b'{"id": "a", "text": "Rain is expected."}\n\n{broken\n{"text": "No id here."}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    got = list(read_inputs(["-", "-"]))
    assert [(type(x).__name__, x.input) for x in got] == [
        ("Article", "<stdin>:1"),
        ("ReadError", "<stdin>:3"),
        ("Article", "<stdin>:4"),
        ("ReadError", "<stdin>"),
    ]
    assert got[0].id == "a" and got[2].id == "stdin-4" and "malformed JSON" in got[1].message


def test_html_fragment_to_text():
    assert html_fragment_to_text("<p>One.</p><p>One.</p><div>Two <i>and</i>\n three</div>x<br/>y") == (
        "One.\nOne.\nTwo and three\nx\ny"
    )
    assert html_fragment_to_text("Plain &amp; simple") == "Plain & simple"
    assert html_fragment_to_text("   ") == ""
    assert html_fragment_to_text("<style>p{}</style><!-- c --><p>Kept</p>") == "Kept"


def test_findings_made_outside_the_rules_can_be_ignored(tmp_path):
    from mtqa import codes

    known = codes.registry()
    assert known["not-english"].severity == "major" and known["input-encoding"].severity == "minor"
    assert known["not-english"].producer == "langid" and known["input-encoding"].producer == "io"
    cfg = load_settings(tmp_path, overrides={"ignore_rules": ["not-english", "input-encoding"]})
    assert cfg.ignore_rules == ("not-english", "input-encoding")
