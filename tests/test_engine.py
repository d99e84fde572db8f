"""The pipeline end to end on the bundled samples, with the real model."""

from __future__ import annotations

from mtqa.lm import get_scorer
from mtqa.pipeline import Pipeline, scorer_options
from mtqa.report import article_to_dict, render_html, render_markdown
from mtqa.run import score_text
from mtqa.settings import Settings

from .conftest import CONTRACT_KEYS, MISSION, SEGMENT_KEYS


def _by_id(results):
    return {r.id: r for r in results}


def test_every_sample_is_scored_with_exact_offsets(demo_results):
    assert len(demo_results) == 8 and all(r.status == "ok" for r in demo_results)
    for r in demo_results:
        kinds = {s.kind for s in r.segments}
        assert kinds == {"title", "body", "boilerplate"}
        for s in r.segments:
            assert r.text[s.start : s.end] == s.text
            for f in s.findings:
                assert s.start <= f.start < f.end <= s.end
            if s.kind == "body":
                assert 0.0 <= s.score <= 1.0 and s.features["n_tokens"] > 0
                b = s.features["break"]
                assert r.text[b["start"] : b["end"]] == b["text"]
                toks = s.features["tokens"]
                assert toks[0][0] >= s.start and toks[-1][1] == s.end
                # in order; byte-level tokens of one multi-byte character share that character's span
                assert all(a <= z and a <= b for (a, z, _), (b, _, _) in zip(toks, toks[1:], strict=False))
            elif s.kind == "title":
                assert 0.0 <= s.score <= 1.0  # the headline is scored and can be flagged like a sentence
            else:
                assert s.score is None and not s.flagged  # boilerplate is never scored as prose
        assert 0.0 <= r.score <= 1.0 and r.verdict in ("pass", "review", "fail")


def test_fused_sentence_in_sample_is_flagged_and_located(demo_results):
    r = _by_id(demo_results)["05-kim-putin-fused"]
    fused = next(s for s in r.segments if "development The people" in s.text)
    assert fused.flagged
    spans = {(f.code, r.text[f.start : f.end]) for f in fused.findings}
    assert ("fused-sentence", "development The") in spans
    assert ("repeated-phrase", "the people of your country") in spans
    assert r.verdict == "fail"
    title = next(s for s in r.segments if s.kind == "title")
    assert any(f.code == "headline-damage" for f in title.findings) and title.flagged


def test_clean_samples_pass_and_damaged_ones_do_not(demo_results):
    res = _by_id(demo_results)
    clean = [res[k] for k in res if k.endswith("-clean")]
    damaged = [res[k] for k in res if not k.endswith("-clean")]
    assert len(clean) == 3 and len(damaged) == 5
    assert all(r.verdict == "pass" and r.n_flagged == 0 for r in clean)
    assert all(r.verdict != "pass" and r.n_flagged >= 1 for r in damaged)
    # a major finding (fused clauses, untranslated text, mojibake) fails the article
    assert {r.id for r in damaged if r.verdict == "fail"} >= {
        "05-kim-putin-fused",
        "06-import-expo-untranslated",
        "08-railway-mojibake",
    }


def test_garbled_versions_score_worse_than_fluent_originals(pipeline):
    fluent = "The minister said the talks were productive and both sides agreed to meet again next month."
    damaged = [
        "The minister said the talks were productive and development The two sides agreed to meet again.",
        "Month the productive agreed said talks both minister again were sides meet and to the next.",
        "The minister said the talks were productive and the talks were productive and both sides agreed.",
        "The minister said talks productive and both sides agreed meet next month.",
    ]
    scored = pipeline.score_sentences([fluent, *damaged])
    base = scored[0][0]
    for text, (p, _, _) in zip(damaged, scored[1:], strict=True):
        assert p > base, text


def test_rare_names_do_not_sink_a_fluent_sentence(pipeline):
    """A sentence is judged inside its article: a fluent article's name-heavy sentence is not flagged."""
    names = "Kwon Jong-keun met Tshisekedi in Pyongyang on Tuesday to discuss trade with Zhangjiakou officials."
    text = (
        "Trade talks resume in the capital\n"
        "The minister met the president in the capital on Tuesday to discuss trade and security.\n"
        f"{names}\nBoth sides said the talks had been useful and agreed to meet again next month.\n"
        "Officials expect a first agreement on tariffs before the end of the year.\n"
    )
    r = score_text(text, pipeline=pipeline)
    seg = next(s for s in r.segments if s.text == names)
    assert seg.score < pipeline.settings.flag_threshold and not seg.flagged and r.verdict == "pass"


def test_the_model_loads_once_per_process(pipeline):
    again = Pipeline()
    assert again.scorer is pipeline.scorer is get_scorer(None, **scorer_options(Settings()))


def test_repeated_sentences_are_scored_once(pipeline):
    text = f"Kim vows to deepen ties\n{MISSION}\nThe statement was read on state television on Wednesday evening.\n"
    before = pipeline.stats.counts["sentences_lm_scored"]
    first = score_text(text, "copy-1", pipeline=pipeline)
    mid = pipeline.stats.counts["sentences_lm_scored"]
    second = score_text(text, "copy-2", pipeline=pipeline)
    assert mid > before and pipeline.stats.counts["sentences_lm_scored"] == mid
    assert [s.score for s in first.segments] == [s.score for s in second.segments]


def test_exact_copies_get_the_original_analysis_under_their_own_id(pipeline):
    """A syndicated copy (same text and title) is not analysed again: same report, its own id and input."""
    from mtqa.run import score_articles
    from mtqa.types import Article

    text = f"Kim vows to deepen ties\n{MISSION}\nThe statement was read on state television on Monday.\n"
    arts = [
        Article("wire", text, "feed.jsonl:1"),
        Article("copy", text, "feed.jsonl:2", url="https://b.example/1"),
        Article("retitled", text, "feed.jsonl:3", title="Another headline"),
    ]
    before = dict(pipeline.stats.counts)
    wire, copy, retitled = score_articles(arts, pipeline=pipeline)
    after = dict(pipeline.stats.counts)
    assert after.get("articles_copied", 0) - before.get("articles_copied", 0) == 1  # the retitled one is not a copy
    assert (copy.id, copy.input, copy.url) == ("copy", "feed.jsonl:2", "https://b.example/1")
    strip = {"id": None, "input": None}
    assert {**article_to_dict(copy), **strip} == {**article_to_dict(wire), **strip}
    assert retitled.title == "Another headline" and wire.title == "Kim vows to deepen ties"
    copy.segments[1].findings.append("edited")  # copies are independent objects
    assert "edited" not in wire.segments[1].findings
    later = score_text(text, "later-copy", pipeline=pipeline)  # a later chunk: still a copy
    assert pipeline.stats.counts["articles_copied"] == after["articles_copied"] + 1
    assert [s.score for s in later.segments] == [s.score for s in wire.segments]


def test_json_contract(demo_results):
    d = article_to_dict(demo_results[0])
    assert d["schema"] == "mtqa.article/2"
    assert list(d) == CONTRACT_KEYS  # real pipeline output, keys in contract order
    assert all(list(seg) == SEGMENT_KEYS for seg in d["segments"])
    assert [s["index"] for s in d["segments"]] == list(range(len(d["segments"])))


def test_persistent_cache_serves_a_rerun_with_identical_scores(lm, tmp_path):
    from mtqa.settings import Settings

    text = "Talks end\nThe two delegations met in Geneva on Monday. They agreed to meet again in March.\n"
    first_pipe = Pipeline(Settings(cache=str(tmp_path)), scorer=lm)
    first = score_text(text, pipeline=first_pipe)
    assert first_pipe.stats.counts["sentences_lm_scored"] == 3  # the title and two sentences
    again = Pipeline(Settings(cache=str(tmp_path)), scorer=lm)  # a new run: empty memory, warm cache
    second = score_text(text, pipeline=again)
    assert again.stats.counts["sentences_lm_scored"] == 0 and again.stats.counts["sentences_cache_hits"] == 3
    assert [s.features for s in first.segments] == [s.features for s in second.segments]


def test_a_rerun_served_from_the_cache_never_loads_the_model(lm, tmp_path):
    """The model loads when a sentence first needs it, so a warm re-run skips the load (~6 s) entirely."""
    from mtqa.lm import make_scorer
    from mtqa.settings import Settings

    text = "Talks end\nThe two delegations met in Geneva on Monday. They agreed to meet again in March.\n"
    first = score_text(text, pipeline=Pipeline(Settings(cache=str(tmp_path)), scorer=lm))
    fresh = make_scorer()  # a new process's model: same file, same signature, nothing loaded yet
    assert not fresh.loaded and fresh.signature == lm.signature
    again = Pipeline(Settings(cache=str(tmp_path)), scorer=fresh)
    second = score_text(text, pipeline=again)
    assert not fresh.loaded and again.stats.counts["sentences_cache_hits"] == 3
    assert article_to_dict(first) == article_to_dict(second)
    score_text(text + "A third sentence nobody has scored before appears here.\n", pipeline=again)
    assert fresh.loaded and again.stats.counts["sentences_lm_scored"] == 1


def test_context_conditions_the_sentence(lm):
    from mtqa.settings import Settings

    s = "He said the talks would resume in March."
    ctx = "Kim Jong-un met Vladimir Putin in Vladivostok on Wednesday."
    with_ctx = Pipeline(Settings(context_tokens=32, cache=False), scorer=lm).lm_step([s], [ctx])[0]
    no_ctx = Pipeline(Settings(context_tokens=0, cache=False), scorer=lm).lm_step([s], [ctx])[0]
    alone = Pipeline(Settings(context_tokens=32, cache=False), scorer=lm).lm_step([s])[0]
    assert no_ctx == alone  # context_tokens=0 ignores the context
    assert with_ctx["lm_mean_logprob"] != no_ctx["lm_mean_logprob"]
    assert [t[:2] for t in with_ctx["tokens"]] == [t[:2] for t in alone["tokens"]]  # same sentence tokens


BROKEN = (
    "Flood plan approved after rain\n\n"
    "The provincial government approved a new flood plan on Tuesday after three days of heavy rain.\n\n"
    "Engineers from the provincial water board began checking the old dikes along the\n\n"
    "Workers stack sandbags near a pumping station in Harbin.\n\n"
    "river on on Wednesday morning, officials said. Schools stayed closed.\n"
)


def _halves(result):
    first = next(s for s in result.segments if s.text.startswith("Engineers"))
    second = next(s for s in result.segments if s.text.startswith("river"))
    return first, second


def test_a_sentence_broken_around_a_caption_is_read_and_scored_whole(pipeline):
    r = score_text(BROKEN, pipeline=pipeline)
    first, second = _halves(r)
    caption = next(s for s in r.segments if s.text.startswith("Workers"))
    assert caption.kind == "boilerplate" and second.continues == first.index
    # one sentence: the LM read "... along the river on on Wednesday ..." after the sentence before it
    joined = f"{first.text} {second.text}"
    alone = pipeline.lm_step([joined], [r.segments[first.index - 1].text])[0]
    assert first.features["lm_sum_logprob"] == second.features["lm_sum_logprob"] == alone["lm_sum_logprob"]
    assert first.score == second.score < pipeline.settings.flag_threshold
    tokens = first.features["tokens"]
    assert any(b <= first.end for _, b, _ in tokens) and any(a >= second.start for a, _, _ in tokens)
    assert not any(first.end < a < second.start for a, _, _ in tokens)  # nothing of the caption was read
    # the rules see one sentence: no lowercase start at "river"; the doubled word is found in the part it is in
    assert [f.code for f in first.findings] == []
    found = [(f.code, BROKEN[f.start : f.end]) for f in second.findings]
    assert found == [("doubled-word", "on on")]
    assert all(second.start <= f.start < f.end <= second.end for f in second.findings)
    assert second.flagged and not first.flagged  # the finding's flag marks the part that holds it
    # the editor's reports say the flagged part is the rest of the sentence before the caption
    note = f"the rest of sentence {first.index}"
    assert note in render_markdown(r) and note in render_html(r)


def test_a_broken_sentence_is_one_unit_when_read_as_passages():
    from mtqa.pipeline import sentence_contexts

    pipe = Pipeline(Settings(model="fake", context="passage", cache=False))
    r = score_text(BROKEN, pipeline=pipe)
    first, second = _halves(r)
    assert second.continues == first.index and first.score == second.score is not None
    assert first.features == second.features
    contexts = sentence_contexts(r, pipe.settings)
    assert contexts[second.index].endswith(first.text)  # a repair of the second part is read after the first
