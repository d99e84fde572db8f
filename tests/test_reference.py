"""Reference-based checks: alignment with merges, additions and omissions, sacrebleu figures identical to
sacrebleu's own CLI, missing and foreign references, reports, the gate thresholds and ``--reference``.

The MT article is the bundled sample 05 (machine-translation damage); its trusted version,
``data/references/05-kim-putin-fused.txt``, says the same in fluent English, but says the sample's segment 4
in two sentences (a 1-2 step) and segments 10 and 11 in one (2-1), lacks segment 9 (an addition in the MT)
and has a sentence the MT lacks ("Peskov declined ...", an omission).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from mtqa import reference
from mtqa.gate import evaluate_gate
from mtqa.gate.junit import junit_xml
from mtqa.gate.sarif import sarif
from mtqa.io import read_inputs
from mtqa.report import article_from_dict, article_to_dict, render_markdown, summary_rows
from mtqa.run import score_articles, score_text
from mtqa.segment import segment_article
from mtqa.settings import ConfigError, Settings, load_settings

from .conftest import ROOT, SAMPLES

BIN = Path(sys.executable).parent
KIM = SAMPLES / "05-kim-putin-fused.txt"
KIM_REF = ROOT / "data" / "references" / "05-kim-putin-fused.txt"
ADDED = "The Korean Central News Agency did not say whether Kim had invited Putin to visit Pyongyang"
OMITTED = "Peskov declined to say whether Putin planned to travel to North Korea this year."
# The same story in Chinese: what a user passes by mistake when the source is at hand instead of a reference.
CHINESE = (
    "金正恩致电普京，表示愿与俄罗斯“携手并进”\n"
    "朝中社平壤6月12日电 朝鲜最高领导人金正恩12日致电俄罗斯总统普京，祝贺俄罗斯日，官方媒体周三报道。\n"
    "金正恩在贺电中向普京总统和俄罗斯人民表示热烈祝贺，他说，两国友谊经受住了反帝斗争的考验。\n"
    "他说，俄罗斯人民在建设强大国家的进程中取得了巨大成就，朝鲜人民对团结一致、捍卫国家主权、发展和尊严的俄罗斯人民表示"
    "全力支持和声援。\n"
    "贺电说，朝鲜将始终同俄罗斯站在一起，在建设强大国家和多极世界的道路上同俄罗斯人民携手并进。\n"
    "金正恩还表示，相信两国战略和传统关系将在去年在远东城市符拉迪沃斯托克举行的首脑会谈之后，发展到新的更高阶段。\n"
    "首尔分析人士说，贺电的语气比往年更加热情，一名首尔智库研究员说，平壤希望表明，它与莫斯科的关系已经超越了以弹药换取"
    "粮食和燃料的交易。\n"
)


def _kim(ref: str | None):
    article = next(read_inputs([KIM]))
    return replace(article, reference=ref)


@pytest.fixture(scope="module")
def kim_text() -> str:
    return KIM.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def ref_text() -> str:
    return KIM_REF.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compared(ref_text):
    """The sample's body sentences compared with its reference, without the language model."""
    body = [s for s in segment_article(_kim(None)).segments if s.kind == "body"]
    return body, reference.compare(body, ref_text)


@pytest.fixture(scope="module")
def scored(pipeline, ref_text):
    """The sample scored with its reference through the whole pipeline (real model)."""
    return score_articles([_kim(ref_text)], pipeline=pipeline)[0]


# --------------------------------------------------------------------------- alignment


def test_alignment_merges_and_gaps_on_news_sentences(compared, ref_text):
    body, found = compared
    refs = reference.reference_sentences(ref_text)
    steps = [([body[k].index for k in b.mt], list(b.ref)) for b in found.beads]
    assert steps == [
        ([3], [0]),
        ([4], [1, 2]),
        ([5], [3]),
        ([7], [4]),
        ([8], [5]),
        ([9], []),
        ([10, 11], [6]),
        ([12], [7]),
        ([13], [8]),
        ([], [9]),
        ([14], [10]),
    ]
    # the 1-2 step: one MT sentence, two reference sentences joined; its figures sit on that sentence
    one_two = found.segments[4]
    assert one_two["alignment"] == "1-2" and one_two["segments"] == [4]
    assert one_two["text"] == f"{refs[1].text} {refs[2].text}"
    assert ref_text[one_two["start"] : one_two["end"]] == f"{refs[1].text} {refs[2].text}"
    # the 2-1 step: both MT sentences carry the one reference sentence and the pair's figures
    assert found.segments[10] == found.segments[11]
    assert found.segments[10]["alignment"] == "2-1" and found.segments[10]["segments"] == [10, 11]
    assert found.segments[10]["text"] == refs[6].text
    assert set(found.segments) == {3, 4, 5, 7, 8, 10, 11, 12, 13, 14}


def test_addition_and_omission_have_exact_spans(compared, kim_text, ref_text):
    body, found = compared
    [added] = found.findings
    assert (added.code, added.severity) == ("reference-addition", "minor")
    sentence = next(s for s in body if s.text.startswith(ADDED))
    assert (added.start, added.end) == (sentence.start, sentence.end)
    assert kim_text[added.start : added.end] == sentence.text
    [omitted] = found.article_findings
    assert omitted.code == "reference-omission" and f"\u201c{OMITTED}\u201d" in omitted.message
    [gap] = found.summary["omitted"]
    assert ref_text[gap["start"] : gap["end"]] == OMITTED == gap["text"]
    assert gap["after"] == 13  # it would follow sample sentence 13 (the Kremlin's reply)
    summary = found.summary
    assert (summary["aligned"], summary["unaligned_mt"], summary["unaligned_ref"]) == (9, 1, 1)
    assert (summary["n_mt"], summary["n_ref"]) == (11, 11)


def test_alignment_step_costs():
    """On a hand-made similarity table: a merge needs to beat the 1-1 pair by the penalty, a pair below
    min_chrf is never aligned, and with nothing aligned every sentence is a gap."""
    cfg = reference.AlignSettings(min_chrf=20.0, merge_penalty=5.0, band=8)
    table = {(0, 1, 0, 1): 70.0, (1, 2, 1, 2): 50.0, (1, 2, 1, 3): 60.0, (1, 2, 2, 3): 10.0}

    def sim(a: range, b: range) -> float:
        return table.get((a.start, a.stop, b.start, b.stop), 0.0)

    # joined, reference 1+2 scores 60 against MT 1 (gain 60-20-5 = 35 > 50-20 = 30): a 1-2 step
    assert [(b.mt, b.ref) for b in reference.align(2, 3, sim, cfg)] == [((0,), (0,)), ((1,), (1, 2))]
    # with a larger penalty the merge no longer pays: MT 1 pairs with reference 1, reference 2 is a gap
    stricter = replace(cfg, merge_penalty=15.0)
    assert [(b.mt, b.ref) for b in reference.align(2, 3, sim, stricter)] == [((0,), (0,)), ((1,), (1,)), ((), (2,))]
    assert [(b.mt, b.ref) for b in reference.align(1, 1, lambda a, b: 19.0, cfg)] == [((), (0,)), ((0,), ())]


# --------------------------------------------------------------------------- figures against sacrebleu's CLI


def _cli(tmp_path: Path, pairs: list[tuple[str, str]], *args: str) -> list[float]:
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("".join(h + "\n" for h, _ in pairs), encoding="utf-8")
    ref.write_text("".join(r + "\n" for _, r in pairs), encoding="utf-8")
    proc = subprocess.run(
        [str(BIN / "sacrebleu"), str(ref), "-i", str(hyp), *args, "-b", "-w", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = proc.stdout.strip()
    return json.loads(out) if out.startswith("[") else [float(x) for x in out.split()]


def test_figures_are_sacrebleus_own(compared, tmp_path):
    body, found = compared
    pairs = found.pairs
    assert len(pairs) == 9
    bleu, chrf, ter = _cli(tmp_path, pairs, "-m", "bleu", "chrf", "ter")
    [chrfpp] = _cli(tmp_path, pairs, "-m", "chrf", "--chrf-word-order", "2")
    summary = found.summary
    assert (summary["bleu"], summary["chrf"], summary["chrfpp"], summary["ter"]) == (bleu, chrf, chrfpp, ter)
    # sentence level: the figures of each aligned pair, in order
    per_pair = [found.segments[body[b.mt[0]].index] for b in found.beads if b.aligned]
    assert [p["chrf"] for p in per_pair] == _cli(tmp_path, pairs, "-m", "chrf", "-sl")
    assert [p["chrfpp"] for p in per_pair] == _cli(tmp_path, pairs, "-m", "chrf", "--chrf-word-order", "2", "-sl")
    assert [p["ter"] for p in per_pair] == _cli(tmp_path, pairs, "-m", "ter", "-sl")
    sig = subprocess.run(
        [
            str(BIN / "sacrebleu"),
            str(tmp_path / "ref.txt"),
            "-i",
            str(tmp_path / "hyp.txt"),
            "-m",
            "bleu",
            "chrf",
            "ter",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    printed = {d["name"]: d["signature"] for d in json.loads(sig.stdout)}
    assert summary["signatures"]["bleu"] == printed["BLEU"]
    assert summary["signatures"]["chrf"] == printed["chrF2"]
    assert summary["signatures"]["ter"] == printed["TER"]
    assert "nw:2" in summary["signatures"]["chrfpp"]


# --------------------------------------------------------------------------- through the pipeline


def test_pipeline_attaches_reference_and_keeps_scores(scored, pipeline, kim_text):
    plain = score_text(kim_text, article_id="05-kim-putin-fused", pipeline=pipeline)
    assert plain.reference is None and all(s.reference is None for s in plain.segments)
    assert scored.reference["aligned"] == 9 and scored.reference["chrf"] > 80
    by_index = {s.index: s for s in scored.segments}
    for s in plain.segments:  # the reference never changes a garble score
        assert by_index[s.index].score == s.score
    added = next(s for s in scored.segments if s.text.startswith(ADDED))
    assert added.reference is None and added.flagged
    assert [f.code for f in added.findings] == ["reference-addition"]
    assert "reference-omission" in [f.code for f in scored.article_findings]
    assert scored.verdict == "fail"  # the fused sentence still fails it


@pytest.mark.parametrize("missing", [None, "", "  \n\t\n"])
def test_missing_or_empty_reference_changes_nothing(pipeline, kim_text, missing):
    plain = score_text(kim_text, article_id="kim", pipeline=pipeline)
    given = score_text(kim_text, article_id="kim", pipeline=pipeline, reference=missing)
    assert article_to_dict(given) == article_to_dict(plain)
    assert given.reference is None
    assert not any(f.code.startswith("reference-") for f in given.article_findings)


def test_reference_in_another_language_is_a_clear_finding(pipeline, kim_text):
    r = score_text(kim_text, article_id="kim", pipeline=pipeline, reference=CHINESE)
    [found] = [f for f in r.article_findings if f.code.startswith("reference-")]
    assert found.code == "reference-not-english" and "Chinese (zh)" in found.message
    assert "no reference-based figures" in found.message
    assert r.reference is None and all(s.reference is None for s in r.segments)
    assert not any(f.code == "reference-addition" for s in r.segments for f in s.findings)


def test_unrelated_reference_is_one_finding_with_whole_text_figures(pipeline, kim_text):
    other = (SAMPLES / "01-rate-decision-clean.txt").read_text(encoding="utf-8")
    r = score_text(kim_text, article_id="kim", pipeline=pipeline, reference=other)
    codes = [f.code for f in r.article_findings if f.code.startswith("reference-")]
    assert codes == ["reference-mismatch"]
    assert not any(f.code == "reference-addition" for s in r.segments for f in s.findings)
    assert r.reference["aligned"] == 0 and r.reference["chrf"] < 40  # the right reference: 87.7
    md = render_markdown(r)
    assert "**Reference:** BLEU" in md and "Compared with the reference" not in md


# --------------------------------------------------------------------------- reports


def test_json_round_trip_markdown_and_summary(scored, demo_results):
    d = article_to_dict(scored)
    assert d["reference"]["signatures"]["chrf"].startswith("nrefs:1|")
    seg = next(s for s in d["segments"] if s["index"] == 4)
    assert set(seg["reference"]) >= {"text", "chrf", "chrfpp", "ter"}
    back = json.loads(json.dumps(d, allow_nan=False))
    assert article_to_dict(article_from_dict(back)) == d  # what --resume reads back

    md = render_markdown(scored)
    assert "**Reference:** BLEU " in md and "possible omissions" in md
    assert "## Compared with the reference" in md
    four = md.index("- **s4**")
    assert md.index("He said the friendship between the two countries", four) > four
    assert md.index("*omitted?*") > md.index("- **s13**") and OMITTED in md

    rows = summary_rows([scored, demo_results[0]])
    assert rows[0]["chrf"] == scored.reference["chrf"] and rows[0]["bleu"] == scored.reference["bleu"]
    assert "chrf" not in rows[1]
    assert "chrf" not in summary_rows(demo_results)[0]


# --------------------------------------------------------------------------- the gate


def test_gate_thresholds_on_reference_figures(scored, tmp_path):
    assert not any(f.code.startswith("reference-") for f in evaluate_gate(scored, Settings()).failures)  # off
    cfg = Settings(min_sentence_chrf=80.0, min_chrf=90.0)
    outcome = evaluate_gate(scored, cfg)
    low = {s.index for s in scored.segments if s.reference and s.reference["chrf"] < 80.0}
    assert low and low != {s.index for s in scored.segments if s.reference}
    sentence_fails = [f for f in outcome.failures if f.code == "reference-sentence-chrf"]
    assert {f.segment for f in sentence_fails} == low
    for f in sentence_fails:
        seg = next(s for s in scored.segments if s.index == f.segment)
        assert (f.start, f.end) == (seg.start, seg.end) and f.severity == "major"
    [article_fail] = [f for f in outcome.failures if f.code == "reference-chrf"]
    assert article_fail.segment is None and f"{scored.reference['chrf']:.1f} < 90" in article_fail.message
    assert not any(f.code == "reference-chrf" for f in evaluate_gate(scored, Settings(min_chrf=50.0)).failures)

    junit = ET.fromstring(junit_xml([outcome])).find("testsuite/testcase/failure")
    assert "reference-sentence-chrf (major)" in junit.text and "reference-chrf (major)" in junit.text
    results = sarif([outcome])["runs"][0]["results"]
    text = scored.text
    located = [r for r in results if r["ruleId"] == "reference-sentence-chrf"]
    assert len(located) == len(low)
    for r in located:
        region = r["locations"][0]["physicalLocation"]["region"]
        seg = next(s for s in scored.segments if s.index == r["properties"]["segment"])
        assert text[region["charOffset"] : region["charOffset"] + region["charLength"]] == seg.text

    (tmp_path / "mtqa.toml").write_text("min_chrf = 40\nmin_sentence_chrf = 25.5\n")
    assert (load_settings(tmp_path).min_chrf, load_settings(tmp_path).min_sentence_chrf) == (40.0, 25.5)
    (tmp_path / "mtqa.toml").write_text("min_chrf = 140\n")
    with pytest.raises(ConfigError, match="'min_chrf' must be a chrF from 0 to 100"):
        load_settings(tmp_path)


# --------------------------------------------------------------------------- the command line


def _mtqa(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "mtqa"), *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_cli_reference_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = _mtqa("score", str(KIM), "--reference", str(KIM_REF), "--out", str(out), "--model", "fake")
    assert proc.returncode == 0, proc.stderr
    d = json.loads((out / "articles" / "05-kim-putin-fused.json").read_text(encoding="utf-8"))
    assert d["reference"]["aligned"] == 9 and d["reference"]["unaligned_ref"] == 1
    assert [s["index"] for s in d["segments"] if s["reference"]] == [3, 4, 5, 7, 8, 10, 11, 12, 13, 14]
    md = (out / "articles" / "05-kim-putin-fused.md").read_text(encoding="utf-8")
    assert "## Compared with the reference" in md and OMITTED in md
    csv = (out / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0].endswith(",bleu,chrf,ter") and csv[1].endswith(f",{d['reference']['ter']}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cli_reference_needs_exactly_one_article(tmp_path):
    proc = _mtqa("score", str(SAMPLES), "--reference", str(KIM_REF), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "--reference compares one article" in proc.stderr and "hold 8 articles" in proc.stderr
    proc = _mtqa("score", str(KIM), "--reference", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and f"cannot read --reference {tmp_path / 'nope.txt'}" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_check_thresholds_on_the_command_line(tmp_path):
    proc = _mtqa(
        "check",
        str(KIM),
        "--reference",
        str(KIM_REF),
        "--model",
        "fake",
        "--ignore-rule",
        "fused-sentence",
        "--ignore-rule",
        "addressee-leak",
        "--ignore-rule",
        "headline-damage",
        "--max-score",
        "1.0",
        "--min-sentence-chrf",
        "70",
        "--min-chrf",
        "95",
        "--json",
        "gate.json",
        "--junit",
        "junit.xml",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    [record] = json.loads((tmp_path / "gate.json").read_text(encoding="utf-8"))
    reasons = record["gate"]["reasons"]
    low = [s["index"] for s in record["segments"] if s["reference"] and s["reference"]["chrf"] < 70]
    failing = [int(r.split(":")[0].removeprefix("sentence ")) for r in reasons if "reference-sentence-chrf" in r]
    assert low == [13] and failing == low  # the Kremlin sentence, chrF 68.3 against its reference
    assert any(r.startswith("article: reference-chrf (major)") for r in reasons)
    assert "reference-chrf" in (tmp_path / "junit.xml").read_text(encoding="utf-8")
