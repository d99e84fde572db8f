"""Suggested repairs: the candidates of each kind of finding on hand-made text (offsets, replacements), their
ranking by the real language model, the plan ``mtqa fix`` applies, and ``mtqa fix`` on a folder.

Candidates do not depend on the model, so their tests run on the fake scorer; ranking and "never worse" use the
real one (fixtures ``pipeline`` and ``demo_results``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtqa import repair
from mtqa.lm.fake import FakeScorer
from mtqa.pipeline import Pipeline, sentence_contexts
from mtqa.repair.fix import Edit, apply, fix_plan, unified_diff
from mtqa.run import score_text
from mtqa.settings import Settings
from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment, Suggestion

MTQA = str(Path(sys.executable).parent / "mtqa")

FUSED = "Talks end\nThe minister said the talks had gone well He thanked the hosts for their hospitality."
FUSED_INTRO = (
    "Kim writes to Putin\nHe said that \"in order to safeguard Russia's sovereign rights and development "
    'The people of your country express their full support", state media said.'
)
LOOP = (
    "Banks\nThe regulator checked the Chinese bank's financial products, the Chinese bank's financial products, "
    "the Chinese bank's financial products, and found no problems."
)


@pytest.fixture(scope="module")
def fake() -> Pipeline:
    return Pipeline(Settings(model="fake", cache=False))


def _found(result: ArticleResult, code: str) -> Finding | ArticleFinding:
    [f] = [f for s in result.segments for f in s.findings if f.code == code] + [
        f for f in result.article_findings if f.code == code
    ]
    return f


def _repaired(result: ArticleResult, code: str) -> set[str]:
    """The article text repaired by each suggestion of the finding of ``code``."""
    return {apply(result.text, [s]) for s in _found(result, code).suggestions}


def _inside(result: ArticleResult, f: Finding) -> None:
    """Every suggestion lies in the finding's sentence and reaches the damage (a deletion may take the separator
    before the copy, or the first copy up to the second)."""
    seg = next(s for s in result.segments if f in s.findings)
    assert f.suggestions
    for s in f.suggestions:
        assert seg.start <= s.start <= s.end <= seg.end
        assert s.start <= f.end and f.start <= s.end


# ------------------------------------------------------------------------------------ candidates, by kind


def test_fused_sentence_candidates(fake) -> None:
    r = score_text(FUSED, pipeline=fake)
    f = _found(r, "fused-sentence")
    assert r.text[f.start : f.end] == "well He"
    assert {(s.start, s.end) for s in f.suggestions} == {(f.start, f.end)}  # the finding's own span
    assert {s.replacement for s in f.suggestions} == {"well. He", "well he"}  # no comma splice offered
    r = score_text(FUSED_INTRO, pipeline=fake)  # after an introductory clause the comma is a candidate
    assert {s.replacement for s in _found(r, "fused-sentence").suggestions} == {
        "development. The",
        "development, the",
        "development the",
    }


def test_missing_space_after_a_full_stop(fake) -> None:
    # split by the segmenter: the finding is the last word of the first sentence, and so is the suggestion
    r = score_text(
        "Prices rise\nHouse prices rose sharply in southern Seoul.The problem is a shortage of flats.", pipeline=fake
    )
    f = _found(r, "glued-words")
    assert r.text[f.start : f.end] == "Seoul."
    [s] = f.suggestions
    assert (s.start, s.end, s.replacement) == (f.start, f.end, "Seoul. ")
    assert s.score == 0.0  # the model reads the same two sentences either way
    assert "in southern Seoul. The problem" in apply(r.text, [s])
    # not split: a stray comma is a candidate to drop
    r = score_text(
        "Cases\nThe province recorded 165 new cases (including 63 community cases).,The highest number "
        "of cases is still in Vinh City.",
        pipeline=fake,
    )
    assert {t[t.index("community") : t.index("highest")] for t in _repaired(r, "glued-words")} == {
        "community cases). The ",
        "community cases)., The ",
    }


@pytest.mark.parametrize(
    ("text", "glued", "expected"),
    [
        (
            "Officials said theGovernment would build more flats in the city next year.",
            "theGovernment",
            {"the Government"},
        ),  # the case of a word that is not a function word stays; 'the' ends no sentence
        (
            "The leader spoke in Qom and saidIn particular he criticised the sanctions.",
            "saidIn",
            {"said In", "said. In", "said in"},
        ),
        ("The drama aired on JTBCSchlager night and drew record ratings.", "JTBCSchlager", {"JTBC Schlager"}),
        (
            "Moscow, May 10The heads of five regions of Russia resigned on Friday.",
            "10The",
            {"10 The", "10. The", "10 the"},
        ),
    ],
)
def test_glued_words_candidates(fake, text: str, glued: str, expected: set[str]) -> None:
    r = score_text("News\n" + text, pipeline=fake)
    f = _found(r, "glued-words")
    assert r.text[f.start : f.end] == glued
    assert {s.replacement for s in f.suggestions} == expected
    assert all((s.start, s.end) == (f.start, f.end) for s in f.suggestions)


@pytest.mark.parametrize(
    ("sentence", "doubled", "kept"),
    [
        ("Rescue teams from the the provincial fire brigade used boats.", "the the", "the"),
        (
            "Reservoirs upstream remained close to capacity, capacity and more rain is forecast.",
            "capacity, capacity",
            "capacity",
        ),
        (
            "The city will follow the policy of dynamic clearing unswervingly and unswervingly.",
            "unswervingly and unswervingly",
            "unswervingly",
        ),
        ("He praised the administration which Which has come a long way.", "which Which", "which"),
    ],
)
def test_doubled_word_keeps_one(fake, sentence: str, doubled: str, kept: str) -> None:
    r = score_text("News\n" + sentence, pipeline=fake)
    f = _found(r, "doubled-word")
    assert r.text[f.start : f.end] == doubled
    assert [(s.start, s.end, s.replacement) for s in f.suggestions] == [(f.start, f.end, kept)]
    assert apply(r.text, f.suggestions) == r.text.replace(doubled, kept)


def test_repeated_phrase_drops_the_copy_only_when_back_to_back(fake) -> None:
    r = score_text(
        "Floods\nAll departments must do a good job in flood control and rescue, flood control and rescue "
        "work, officials said.",
        pipeline=fake,
    )
    f = _found(r, "repeated-phrase")
    _inside(r, f)
    assert _repaired(r, "repeated-phrase") == {r.text.replace("rescue, flood control and rescue work", "rescue work")}
    r = score_text(
        "Pensions\nThe bank sells personal pension products in Shanghai and advertises personal pension "
        "products online.",
        pipeline=fake,
    )
    assert _found(r, "repeated-phrase").suggestions == []  # far apart: dropping one breaks the sentence


def test_repetition_loop_keeps_the_first_occurrence(fake) -> None:
    r = score_text(LOOP, pipeline=fake)
    f = _found(r, "repetition-loop")
    _inside(r, f)
    once = "The regulator checked the Chinese bank's financial products, and found no problems."
    assert "Banks\n" + once in _repaired(r, "repetition-loop")


@pytest.mark.parametrize(
    ("sentence", "damage", "decoded"),
    [
        ("New guesthouses and cafÃ©s have opened near the station.", "Ã©", "é"),
        ("The railway changed Laosâ€™ position in the region, he said.", "â€™", "\u2019"),
        ("The caf\\u00e9 near the station opened on Monday, its owner said.", "\\u00e9", "é"),
    ],
)
def test_mojibake_is_decoded(fake, sentence: str, damage: str, decoded: str) -> None:
    r = score_text("News\n" + sentence, pipeline=fake)
    f = _found(r, "mojibake")
    assert r.text[f.start : f.end] == damage
    assert [(s.start, s.end, s.replacement) for s in f.suggestions] == [(f.start, f.end, decoded)]


def test_lost_characters_get_no_suggestion(fake) -> None:
    r = score_text("News\nThe caf\ufffd near the station opened on Monday, its owner said.", pipeline=fake)
    assert _found(r, "mojibake").suggestions == []  # U+FFFD: the character is gone for good


@pytest.mark.parametrize(
    ("sentence", "entity", "replacement"),
    [
        ("Smith &amp; Sons opened a new shop on the high street on Monday.", "&amp;", "&"),
        ("The firm opened a new shop on&nbsp;Monday, a spokesman said.", "&nbsp;", " "),
        ("The firm opened a new shop on &nbsp; Monday, a spokesman said.", "&nbsp;", ""),  # no doubled space
        ("The firm&#8217;s new shop opened on Monday, a spokesman said.", "&#8217;", "\u2019"),
    ],
)
def test_stray_entity_is_decoded(fake, sentence: str, entity: str, replacement: str) -> None:
    r = score_text("News\n" + sentence, pipeline=fake)
    f = _found(r, "stray-entity")
    assert r.text[f.start : f.end] == entity
    assert [(s.start, s.end, s.replacement) for s in f.suggestions] == [(f.start, f.end, replacement)]


def test_inconsistent_name_suggests_the_majority_spelling_at_each_minority_place(fake) -> None:
    text = (
        "Kim writes to Putin\nNorth Korean leader Kim Jong Un sent a message to Putin.\nKim Jong-un praised "
        "Russia, state media said.\nIn the message, Kim Jong-un wished the Russian people success.\nKim Jong Un "
        "thanked them, and Kim Jong-un invited Putin to Pyongyang."
    )
    r = score_text(text, pipeline=fake)
    f = _found(r, "inconsistent-name")
    minority = [i for i in range(len(text)) if text.startswith("Kim Jong Un", i)]
    assert [(s.start, s.end, s.replacement) for s in f.suggestions] == [(i, i + 11, "Kim Jong-un") for i in minority]
    tie = score_text("Kim writes\nKim Jong-un sent a message to Putin.\nLater Kim Jong Un thanked him.", pipeline=fake)
    [s] = _found(tie, "inconsistent-name").suggestions  # a tie goes to the spelling the article uses first
    assert (tie.text[s.start : s.end], s.replacement) == ("Kim Jong Un", "Kim Jong-un")


def test_calque_gets_the_listed_wording(fake) -> None:
    r = score_text("Ties\nThe two countries will further deepen cooperation in trade, officials said.", pipeline=fake)
    f = _found(r, "calque")
    assert [(r.text[s.start : s.end], s.replacement) for s in f.suggestions] == [("further deepen", "deepen")]


def test_findings_without_a_mechanical_fix_get_none(fake) -> None:
    r = score_text("News\nThe minister said the plan, which he called bold (and new, would start soon.", pipeline=fake)
    assert [f.suggestions for s in r.segments for f in s.findings if f.code == "unbalanced-brackets"] == [[]]


# ----------------------------------------------------------------------------------- ranking (real model)


def _logprob(pipeline: Pipeline, texts: list[str], context: str) -> list[float]:
    return [f["lm_sum_logprob"] for f in pipeline.lm_step(texts, [context] * len(texts))]


def test_scores_are_the_log_prob_gain_of_the_repaired_sentence(pipeline) -> None:
    r = score_text(FUSED, pipeline=pipeline)
    f = _found(r, "fused-sentence")
    seg = next(s for s in r.segments if f in s.findings)
    context = sentence_contexts(r)[seg.index]
    assert context == "Talks end"  # the first sentence is scored after the title, and so are its repairs
    repaired = [apply(r.text, [s])[seg.start : seg.end + len(s.replacement) - (s.end - s.start)] for s in f.suggestions]
    original, *lps = _logprob(pipeline, [seg.text, *repaired], context)
    assert [s.score for s in f.suggestions] == pytest.approx([lp - original for lp in lps], abs=2e-3)
    assert [s.score for s in f.suggestions] == sorted((s.score for s in f.suggestions), reverse=True)


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [
        (FUSED, "fused-sentence", "well. He thanked"),
        (FUSED_INTRO, "fused-sentence", "development, the people"),
        (
            "Prices\nConsumer prices rose sharply in the capital in MarchThe central bank said it would act soon.",
            "glued-words",
            "in March. The central bank",
        ),
        (LOOP, "repetition-loop", "financial products, and found"),
    ],
)
def test_the_model_ranks_first_what_an_editor_would_write(pipeline, text: str, code: str, expected: str) -> None:
    r = score_text(text, pipeline=pipeline)
    top = _found(r, code).suggestions[0]
    assert expected in apply(r.text, [top])


def _segments_without_findings(result: ArticleResult, edits: list[Edit]) -> list[Segment]:
    touched = [(e.start, e.end) for e in edits]
    return [
        s
        for s in result.segments
        if not s.findings and not any(s.start <= a < s.end or s.start < b <= s.end for a, b in touched)
    ]


def _fix(pipeline: Pipeline, result: ArticleResult, min_gain: float = 0.0, min_margin: float = 0.0) -> list[Edit]:
    def score(texts: list[str], contexts: list[str]) -> list[float | None]:
        return [f.get("lm_sum_logprob") for f in pipeline.lm_step(texts, contexts, tally="repair")]

    return fix_plan(result, min_gain, min_margin, score, sentence_contexts(result))


def test_applied_repairs_never_make_a_sentence_read_worse(pipeline, demo_results) -> None:
    """Every sentence mtqa fix changes in the samples (every repair it may apply: no margin asked), and one with
    two repairs, reads at least as well to the model afterwards; the findings repaired are gone on a re-run."""
    two = score_text(
        "Floods\nRescue teams from the the provincial brigade said all departments should should go out to help.",
        pipeline=pipeline,
    )
    checked = 0
    for result in [*demo_results, two]:
        edits = _fix(pipeline, result)
        contexts = sentence_contexts(result)
        for seg in result.segments:
            mine = [e for e in edits if seg.start <= e.start < seg.end]
            if not mine:
                continue
            repaired = apply(result.text[: seg.end], mine)[seg.start :]
            original, after = _logprob(pipeline, [seg.text, repaired], contexts.get(seg.index, ""))
            assert after >= original - 1e-3, (result.id, seg.text, repaired)
            checked += 1
        if not edits:
            continue
        again = score_text(apply(result.text, edits), pipeline=pipeline)
        gone = {"doubled-word", "mojibake", "stray-entity", "repetition-loop", "inconsistent-name"}
        assert not [f.code for s in again.segments for f in s.findings if f.code in gone] and not [
            f.code for f in again.article_findings if f.code in gone
        ], result.id
    assert checked >= 8
    assert len(_fix(pipeline, two)) == 2  # both repairs of the one sentence, checked together


def test_a_combination_that_reads_worse_keeps_only_the_best_repair() -> None:
    """Two repairs that each help but read worse together: the weaker one is dropped (fake scores)."""
    text = "Title\nThe the cat sat on on the mat."
    seg = Segment(1, "body", text[6:], 6, len(text))
    a = Finding("doubled-word", "m", "minor", 6, 13, [Suggestion(6, 13, "The", 5.0)])
    b = Finding("doubled-word", "m", "minor", 22, 27, [Suggestion(22, 27, "on", 3.0)])
    seg.findings = [a, b]
    result = ArticleResult(id="x", input="x", text=text, segments=[Segment(0, "title", "Title", 0, 5), seg])

    def score(texts: list[str], contexts: list[str]) -> list[float | None]:
        return [-10.0 if t == seg.text else -12.0 for t in texts]  # the two together read worse

    edits = fix_plan(result, 0.0, 0.0, score, {})
    assert [(e.start, e.replacement) for e in edits] == [(6, "The")]
    assert fix_plan(result, 4.0, 0.0, score, {}) == edits  # 'on' (3.0) does not clear 4 nats anyway


def test_margin_and_codes_decide_what_is_applied() -> None:
    text = "Title\nThey met on Monday The talks went well, and the broad masses cheered."
    seg = Segment(1, "body", text[6:], 6, len(text))
    fused = Finding(
        "fused-sentence",
        "m",
        "major",
        23,
        33,
        [Suggestion(23, 33, "Monday. The", 4.0), Suggestion(23, 33, "Monday the", 3.0)],
    )
    calque = Finding("calque", "m", "minor", 56, 72, [Suggestion(56, 72, "the public", 9.0)])
    seg.findings = [fused, calque]
    result = ArticleResult(id="x", input="x", text=text, segments=[Segment(0, "title", "Title", 0, 5), seg])
    assert repair.fix.clears(fused, 0.0, 1.0) and not repair.fix.clears(fused, 0.0, 2.0)
    assert not repair.fix.clears(fused, 5.0, 0.0)
    groups = repair.fix.candidate_edits(result, 0.0, 0.5)
    assert [[e.code for e in g] for g in groups] == [["fused-sentence"]]  # calques are shown, never applied


def test_unified_diff() -> None:
    assert unified_diff("a", "same\n", "same\n") == ""
    diff = unified_diff("x/a", "one\ntwo the the\nthree", "one\ntwo the\nthree")
    assert diff.splitlines()[:3] == ["--- a/x/a", "+++ b/x/a", "@@ -1,3 +1,3 @@"]
    assert "-two the the\n+two the\n" in diff and diff.endswith(" three\n\\ No newline at end of file\n")


# ------------------------------------------------------------------------------------------------- mtqa fix


def _fix_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MTQA, "fix", *args, "--model", "fake", "--no-cache"], capture_output=True, text=True, timeout=600
    )


ARTICLES = {
    "a.txt": "Floods hit Zhuozhou\nBy Staff Writer | Updated 2 August 2023\nRescue teams from the the provincial "
    "brigade used boats.\nHouse prices rose in southern Seoul.The problem is supply, officials said.\n"
    "The rain stopped on Thursday, and water levels fell slowly across the region.\n",
    "nested/b.txt": "Cafes open near the station\nNew guesthouses and cafÃ©s have opened near the station.\nSmith "
    "&amp; Sons opened a shop there on Monday.\nVisitors said the new railway had changed the town "
    "completely.",
}


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    for name, text in ARTICLES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    return folder


def test_fix_writes_repaired_articles_and_diffs_and_touches_nothing_else(inputs: Path, fake) -> None:
    before = _tree(inputs)
    out = inputs.parent / "out"
    proc = _fix_cli(str(inputs), "--out", str(out), "--min-gain", "-1000", "--min-margin", "0")
    assert proc.returncode == 2, proc.stderr  # the binary file is an error row, as in mtqa score
    assert "binary.txt: binary file, not text" in proc.stderr and "3 articles, 2 changed" in proc.stderr
    assert _tree(inputs) == before  # inputs untouched, bytes and times
    assert sorted(p.name for p in inputs.parent.iterdir()) == ["in", "out"]  # nothing outside --out
    assert sorted(p.name for p in out.iterdir()) == ["a.diff", "a.txt", "b.diff", "b.txt", "fixes.jsonl"]

    rows = {r["id"]: r for r in map(json.loads, (out / "fixes.jsonl").read_text(encoding="utf-8").splitlines())}
    assert rows["binary"]["status"] == "error" and "applied" not in rows["binary"]
    for name, text in ARTICLES.items():
        stem = Path(name).stem
        row, fixed = rows[stem], (out / f"{stem}.txt").read_text(encoding="utf-8")
        edits = [Edit(e["start"], e["end"], e["after"], e["score"], e["code"], 0) for e in row["applied"]]
        assert all(text[e.start : e.end] == a["before"] for e, a in zip(edits, row["applied"], strict=True))
        assert fixed == apply(text, edits)  # exactly the listed repairs, nothing else
        assert (out / f"{stem}.diff").read_text(encoding="utf-8") == unified_diff(stem, text, fixed)
        # every sentence (and boilerplate line) without a finding is byte-identical, where the repairs put it
        original = score_text(text, pipeline=fake)
        for seg in _segments_without_findings(original, edits):
            shift = sum(len(e.replacement) - (e.end - e.start) for e in edits if e.end <= seg.start)
            assert fixed[seg.start + shift : seg.end + shift] == seg.text
    assert "Rescue teams from the provincial brigade" in (out / "a.txt").read_text(encoding="utf-8")
    assert "southern Seoul. The problem" in (out / "a.txt").read_text(encoding="utf-8")
    assert "cafés" in (out / "b.txt").read_text(encoding="utf-8") and "Smith & Sons" in (out / "b.txt").read_text()


def test_fix_dry_run_prints_the_diffs_and_writes_nothing(inputs: Path) -> None:
    before = _tree(inputs.parent)
    proc = _fix_cli(str(inputs / "a.txt"), "--dry-run", "--min-gain", "-1000", "--min-margin", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("--- a/a\n+++ b/a\n") and "+Rescue teams from the provincial" in proc.stdout
    assert "dry run: nothing written" in proc.stderr
    assert _tree(inputs.parent) == before


def test_fix_refuses_an_out_folder_that_overlaps_an_input(inputs: Path) -> None:
    before = _tree(inputs.parent)
    for out in (inputs / "fixed", inputs, inputs.parent):
        proc = _fix_cli(str(inputs), "--out", str(out))
        assert proc.returncode == 2 and "overlaps the input" in proc.stderr, proc.stderr
    proc = _fix_cli(str(inputs))
    assert proc.returncode == 2 and "--out" in proc.stderr
    assert _tree(inputs.parent) == before and not (inputs / "fixed").exists()


def test_fix_leaves_repairs_the_model_does_not_back_to_the_editor(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "strict"
    proc = _fix_cli(str(inputs / "a.txt"), "--out", str(out), "--min-gain", "1000")
    assert proc.returncode == 0, proc.stderr
    assert (out / "a.txt").read_text(encoding="utf-8") == ARTICLES["a.txt"] and (out / "a.diff").read_text() == ""
    assert "0 changed, 0 repairs applied" in proc.stderr


def test_candidates_are_scored_apart_from_sentences_and_cached(tmp_path: Path) -> None:
    """Candidates go through the run's scorer and score cache but are counted apart (run.json: repair_*); a re-run
    served from the cache gets the same suggestions without loading the model."""
    text = "Floods\nRescue teams from the the provincial brigade used boats.\nThe rain stopped on Thursday."
    first = Pipeline(Settings(model="fake", cache=str(tmp_path)))
    r1 = score_text(text, pipeline=first)
    counts = first.stats.counts
    assert counts["sentences_lm_scored"] == 2 and counts["repair_lm_scored"] == 1 and counts["suggestions"] == 1
    fresh = FakeScorer()  # a new process's scorer: nothing loaded yet
    again = Pipeline(Settings(model="fake", cache=str(tmp_path)), scorer=fresh)
    r2 = score_text(text, pipeline=again)
    assert not fresh.loaded and again.stats.counts["repair_cache_hits"] == 1
    assert _found(r2, "doubled-word").suggestions == _found(r1, "doubled-word").suggestions
