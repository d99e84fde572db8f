"""The flag policy on hand-made results: which findings flag, which only inform, and the verdicts they give."""

from __future__ import annotations

from mtqa import codes, policy
from mtqa.settings import Settings
from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment

TEXT = "Flood talks\nRain fell all week.The rivers rose. Officials met officials met again on Monday."


def _seg(index: int, kind: str, text: str, score: float | None, *found: tuple[str, str]) -> Segment:
    start = TEXT.index(text)
    seg = Segment(index, kind, text, start, start + len(text), score=score)
    for code, span in found:
        a = TEXT.index(span, start)
        seg.findings.append(codes.finding(code, a, a + len(span)))
    return seg


def _article(*segments: Segment, article_findings: tuple[ArticleFinding, ...] = ()) -> ArticleResult:
    res = ArticleResult(
        id="a", input="a.txt", text=TEXT, segments=list(segments), article_findings=list(article_findings)
    )
    for s in res.segments:
        s.flagged = policy.flags(s, Settings())
    res.score = max((s.score or 0.0) for s in segments if s.kind == "body")
    res.verdict = policy.verdict(res, Settings())
    return res


def test_evidence_of_broken_english_flags_and_remarks_do_not():
    glued = _seg(1, "body", "Rain fell all week.", 0.05, ("glued-words", "week."))
    repeat = _seg(2, "body", "Officials met officials met again on Monday.", 0.05, ("repeated-phrase", "officials met"))
    assert codes.get("glued-words").flags and not codes.get("repeated-phrase").flags
    assert policy.flags(glued, Settings()) and not policy.flags(repeat, Settings())
    assert not policy.flags(glued, Settings(ignore_rules=("glued-words",)))
    assert not policy.flags(glued, Settings(flag_severity="major"))  # glued-words is minor
    assert policy.flagging_codes(f.code for f in [*glued.findings, *repeat.findings]) == ["glued-words"]


def test_the_score_flags_at_the_threshold_and_verdicts_follow():
    clean = _article(
        _seg(0, "title", "Flood talks", 0.1),
        _seg(1, "body", "The rivers rose.", 0.2),
        _seg(2, "body", "Officials met officials met again on Monday.", 0.3, ("repeated-phrase", "officials met")),
    )
    assert clean.verdict == "pass" and clean.n_flagged == 0  # a remark alone does not send it to review
    likely = _article(_seg(1, "body", "The rivers rose.", 0.55))
    assert likely.segments[0].flagged and likely.verdict == "review"
    assert [p.code for p in policy.problems(likely, Settings(), "review")] == [policy.LM_CODE]
    certain = _article(_seg(1, "body", "The rivers rose.", 0.85))
    assert certain.verdict == "fail"
    fused = _article(_seg(1, "body", "Rain fell all week.", 0.05, ("fused-sentence", "all week")))
    assert fused.verdict == "fail"  # a major finding fails the article whatever the score


def test_a_damaged_headline_is_flagged_like_a_sentence():
    title = _seg(0, "title", "Flood talks", 0.2, ("headline-damage", "Flood talks"))
    res = _article(title, _seg(1, "body", "The rivers rose.", 0.1))
    assert title.flagged and res.verdict == "fail"
    assert [(p.code, p.segment.kind) for p in policy.problems(res, Settings())] == [("headline-damage", "title")]
    scored = _article(_seg(0, "title", "Flood talks", 0.9), _seg(1, "body", "The rivers rose.", 0.1))
    assert scored.segments[0].flagged and scored.verdict == "fail"  # the headline's own score counts


def test_article_findings_review_only_when_they_flag():
    name = codes.article_finding("inconsistent-name", "Name spelled in different ways: 'A B' and 'A-B'")
    assert _article(_seg(1, "body", "The rivers rose.", 0.1), article_findings=(name,)).verdict == "pass"
    encoding = codes.article_finding("input-encoding", "not valid UTF-8 (byte 3); decoded as cp1252")
    assert _article(_seg(1, "body", "The rivers rose.", 0.1), article_findings=(encoding,)).verdict == "review"


def test_an_unregistered_code_counts_as_evidence():
    seg = _seg(1, "body", "The rivers rose.", 0.1)
    seg.findings.append(Finding("from-a-plugin", "something", "minor", seg.start, seg.end))
    assert policy.flags(seg, Settings())


def test_a_headline_is_judged_from_its_own_threshold():
    """Headlines read less fluently than prose: their probability flags and reviews from title_threshold up."""
    between = _article(_seg(0, "title", "Flood talks", 0.6), _seg(1, "body", "The rivers rose.", 0.1))
    assert not between.segments[0].flagged and between.verdict == "pass"
    above = _article(_seg(0, "title", "Flood talks", 0.75), _seg(1, "body", "The rivers rose.", 0.1))
    assert above.segments[0].flagged and above.verdict == "review"
    assert Settings().title_threshold == 0.7
