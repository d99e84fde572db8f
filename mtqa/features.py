"""Sentence features derived from the language model's per-token scores.

Raw surprisal alone flags names: "Kwon" costs the model as much as a real break. So besides the
plain log-probabilities, each word's LM cost is compared with its unigram cost (wordfreq, which ships
its data, floored for unknown words): a frequent word the model did not expect ("development *The*
people") stands out, a rare name the model also found rare does not. That comparison is SLOR for the
whole sentence, and the located ``break`` for the word where fluency fails.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

from mtqa.lm import TokenScores

#: Frequency given to words wordfreq does not know (zipf 1.0): names are treated as rare, not impossible.
UNIGRAM_FLOOR = 1e-8
WINDOW = 3  # tokens in the worst-window feature
FEATURES_VERSION = "1"


def signature() -> str:
    """The features' version and wordfreq's (its unigram frequencies enter SLOR and the located break)."""
    from importlib.metadata import version

    return f"features:{FEATURES_VERSION}|wordfreq:{version('wordfreq')}"


_WORD = re.compile(r"[^\W_]+(?:['’\-.][^\W_]+)*")


@lru_cache(maxsize=200_000)
def unigram_surprisal(word: str) -> float:
    """-ln P_unigram(word), from wordfreq's English list with a floor for unknown words."""
    from wordfreq import word_frequency

    return -math.log(max(word_frequency(word, "en"), UNIGRAM_FLOOR))


def _words(sentence: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(sentence)]


def _span(sentence: str, offset: int, start: int, end: int, score: float) -> dict:
    """A located span in article offsets; token offsets carry their leading space, trimmed here."""
    while start < end and sentence[start].isspace():
        start += 1
    return {"start": offset + start, "end": offset + end, "text": sentence[start:end], "score": round(score, 3)}


def lm_features(sentence: str, scores: TokenScores, offset: int = 0) -> dict:
    """Features of one sentence; spans are shifted by ``offset`` (the sentence's start in the article)."""
    lp = scores.logprob.astype(np.float64)
    n = len(lp)
    if n == 0:
        return {"n_tokens": 0}
    surprisal = -lp
    # Token -> word: a token belongs to the word that contains its last character.
    words = _words(sentence)
    word_cost = np.zeros(len(words))
    onset_cost = np.full(len(words), np.nan)  # surprisal of the word's first token
    w = 0
    for t, (a, b) in enumerate(scores.offsets):
        while w < len(words) and words[w][1] < b:
            w += 1
        if w < len(words) and words[w][0] < b <= words[w][1] and b > a:
            word_cost[w] += surprisal[t]
            if np.isnan(onset_cost[w]):
                onset_cost[w] = surprisal[t]
    uni = np.array([unigram_surprisal(sentence[a:b]) for a, b in words]) if words else np.zeros(0)
    excess = word_cost - uni  # LM cost beyond what the word's rarity explains
    # For locating the break only the onset counts: once a rare name has started, spelling it out costs
    # the model subword after subword, which says nothing about fluency ("Tshisekedi" is 5 tokens).
    onset_excess = np.nan_to_num(onset_cost - uni, nan=-np.inf)

    feats: dict = {
        "n_tokens": n,
        "n_words": len(words),
        "lm_sum_logprob": round(float(lp.sum()), 4),
        "lm_mean_logprob": round(float(lp.mean()), 4),
        "lm_min_logprob": round(float(lp.min()), 4),
        "slor": round(float((lp.sum() + uni.sum()) / n), 4),
        "mean_entropy": round(float(scores.entropy.mean()), 4),
        "max_surprisal_minus_entropy": round(float((surprisal - scores.entropy).max()), 4),
    }
    # Worst window of WINDOW tokens, relative to the sentence's own median surprisal.
    rel = surprisal - np.median(surprisal)
    k = min(WINDOW, n)
    sums = np.convolve(rel, np.ones(k), mode="valid")
    i = int(sums.argmax())
    feats["window"] = _span(sentence, offset, scores.offsets[i][0], scores.offsets[i + k - 1][1], float(sums[i]))
    # Located break: the word (not the first) whose onset most exceeds its unigram cost, with the word
    # before it, since a break sits between two words ("development The").
    if len(words) >= 2:
        j = int(onset_excess[1:].argmax()) + 1
        feats["break"] = _span(sentence, offset, words[j - 1][0], words[j][1], float(onset_excess[j]))
        feats["max_onset_excess"] = round(float(onset_excess[j]), 4)
        j = int(excess[1:].argmax()) + 1
        feats["max_word_excess"] = round(float(excess[j]), 4)
        feats["mean_word_excess"] = round(float(excess[1:].mean()), 4)
    else:
        feats["max_word_excess"] = feats["max_onset_excess"] = 0.0
        feats["mean_word_excess"] = 0.0
    feats["tokens"] = [
        [offset + a, offset + b, round(float(s), 2)] for (a, b), s in zip(scores.offsets, surprisal, strict=True)
    ]
    return feats
