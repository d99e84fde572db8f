"""Tell site chrome (menus, bylines, captions, prompts, related links, comments) from article prose.

Each unit of an article (a line, or a hard-wrapped paragraph read as one: :mod:`mtqa.reflow`) is described
by a handful of evidence features that hold on any news site: its length, whether it ends like a sentence,
its share of function words, of capitalised words, of digits and symbols, of interface words ("share",
"subscribe", "comments"), of letters in another script than the article's, a bullet or list shape, a credit or
link shape, a known boilerplate pattern (data/boilerplate.tsv), whether it repeats another unit of the
article or a line that recurs across the articles of its source in a corpus run, and where it stands:
before the first or after the last prose paragraph, next to prose, inside a run of short lines (a menu). A
logistic model (data/chrome.json, fitted by scripts/fit_chrome.py on the real-world dev pages, with its
leave-one-case-out figure recorded there) turns them into a probability that the unit is chrome.

:class:`RecurringLines` counts lines across the articles of a run; :func:`mtqa.segment.segment_article`
takes the recurring ones from ``Article.recurring_lines``. Recurrence is evidence only for lines that do not
read as prose, so a story sentence repeated by syndicated near-copies never becomes chrome.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urlsplit

from mtqa import datafiles
from mtqa.boilerplate import match_boilerplate
from mtqa.reflow import Unit, is_list_item, layout_data
from mtqa.types import Article

_MODEL_NAME = "chrome.json"
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?…。！？｡][\"'”’»)\]]*$")
_PLAIN_PUNCT = set(".,;:!?'\"’‘“”()-–—…")


@lru_cache(maxsize=1)
def model_bytes() -> bytes:
    return datafiles.read_bytes(_MODEL_NAME)


@dataclass(frozen=True)
class ChromeModel:
    """Logistic model: ``p = 1 / (1 + exp(-(intercept + sum(weights[f] * x[f]))))``; chrome when ``p >= threshold``."""

    weights: dict[str, float]
    intercept: float
    threshold: float

    def probability(self, x: dict[str, float], drop: Sequence[str] = ()) -> float:
        z = self.intercept + sum(w * x[f] for f, w in self.weights.items() if f not in drop)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@lru_cache(maxsize=1)
def load_model() -> ChromeModel:
    d = json.loads(model_bytes())
    return ChromeModel(dict(d["weights"]), float(d["intercept"]), float(d["threshold"]))


@lru_cache(maxsize=1)
def _text_data() -> tuple[frozenset[str], frozenset[str], re.Pattern, re.Pattern, re.Pattern]:
    d = layout_data()["text"]
    return (
        frozenset(d["function_words"]),
        frozenset(d["interface_words"]),
        re.compile(d["credit"]),
        re.compile(d["link"]),
        re.compile(d["credit_tail"]),
    )


def _shingles(key: str) -> set[tuple[str, ...]]:
    """Word n-grams of a normalised line (``repeat_ngram`` words); none for lines under ``repeat_min_words``."""
    cfg = layout_data()["text"]
    n, words = cfg["repeat_ngram"], key.split()
    if len(words) < cfg["repeat_min_words"]:
        return set()
    return {tuple(words[k : k + n]) for k in range(len(words) - n + 1)}


def normalise(line: str) -> str:
    """Case-folded words of a line, single-spaced: the key for repeated and recurring lines."""
    return " ".join(w.casefold() for w in _WORD.findall(line))


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    """First word of the Unicode name of a letter: LATIN, CJK, HANGUL, HIRAGANA, CYRILLIC, ARABIC, ..."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "OTHER"
    head = name.split(" ", 1)[0]
    return "CJK" if head in ("CJK", "HIRAGANA", "KATAKANA", "FULLWIDTH", "HALFWIDTH") else head


def dominant_script(text: str) -> str:
    counts = Counter(_script(c) for c in text if c.isalpha())
    return counts.most_common(1)[0][0] if counts else "LATIN"


def is_foreign(line: str, script: str) -> bool:
    """Mostly written in another script than ``script`` (a Korean menu line in an English article)."""
    return foreign_share(line, script) >= layout_data()["text"]["foreign_line_share"]


def foreign_share(line: str, script: str) -> float:
    """Share of the letters of ``line`` written in another script than ``script``."""
    letters = [c for c in line if c.isalpha()]
    return sum(_script(c) != script for c in letters) / len(letters) if letters else 0.0


def is_prose(line: str) -> bool:
    """Reads as a paragraph of prose: several words, sentence-final punctuation, function words."""
    cfg = layout_data()["text"]
    words = _WORD.findall(line)
    if len(words) < cfg["prose_min_words"] or not _SENTENCE_END.search(line):
        return False
    function = _text_data()[0]
    return sum(w.lower() in function for w in words) >= cfg["prose_min_function_share"] * len(words)


def _sentence_like(line: str, words: list[str], function: frozenset[str]) -> bool:
    """A grammatical-looking sentence however short: a capital, three words or more, a function word, a final
    full stop, question or exclamation mark."""
    return (
        len(words) >= 3
        and words[0][0].isupper()
        and bool(_SENTENCE_END.search(line))
        and any(w.lower() in function for w in words)
    )


def line_features(line: str, script: str) -> dict[str, float]:
    """The features of one unit that need nothing but its own text (``script``: the article's script)."""
    function, interface, credit, link, credit_tail = _text_data()
    words = _WORD.findall(line)
    n = len(words)
    alpha = [w for w in words if w[0].isalpha()]
    later = alpha[1:] if len(alpha) > 1 else alpha
    chars = [c for c in line if not c.isspace()]
    digits = sum(c.isdigit() for c in chars)
    symbols = sum(not c.isalnum() and c not in _PLAIN_PUNCT for c in chars)
    return {
        "log_words": math.log1p(n),
        "sentence_end": float(bool(_SENTENCE_END.search(line))),
        "function_share": sum(w.lower() in function for w in words) / n if n else 0.0,
        "capital_share": sum(w[0].isupper() for w in later) / len(later) if later else 0.0,
        "digit_share": digits / len(chars) if chars else 0.0,
        "symbol_share": symbols / len(chars) if chars else 0.0,
        "interface_share": sum(w.lower() in interface for w in words) / n if n else 0.0,
        "foreign_script": foreign_share(line, script),
        "list_item": float(is_list_item(line)),
        "credit": float(bool(credit.search(line))),
        "credit_tail": float(bool(credit_tail.search(line))),
        "link": float(bool(link.search(line))),
        "pattern": float(match_boilerplate(line) is not None),
        "no_letters": float(not any(c.isalpha() for c in line)),
        "sentence_like": float(_sentence_like(line, words, function)),
    }


def unit_features(text: str, units: Sequence[Unit], recurring: frozenset[str] = frozenset()) -> list[dict[str, float]]:
    """Features of every unit of an article, own text and context (position, neighbours, repeats)."""
    script = dominant_script(text)
    flat = [" ".join(text[u.start : u.end].split()) for u in units]
    feats = [line_features(t, script) for t in flat]
    prose = [is_prose(t) for t in flat]
    first = next((i for i, p in enumerate(prose) if p), len(units))
    last = max((i for i, p in enumerate(prose) if p), default=-1)
    keys = [normalise(t) for t in flat]
    seen: set[str] = set()
    run_len = [0] * len(units)
    listy = [not p and not f["sentence_like"] for p, f in zip(prose, feats, strict=True)]
    i = 0
    while i < len(units):  # blocks of adjacent units that are not sentences, no blank line between (menus, links)
        j = i + 1
        while j < len(units) and listy[i] and listy[j] and not units[j].lines[0].blank_before:
            j += 1
        for k in range(i, j):
            run_len[k] = j - i
        i = j
    shingles: Counter[tuple[str, ...]] = Counter()  # word 4-grams of the prose units, for captions that repeat them
    unit_shingles = [_shingles(k) for k in keys]
    for k, sh in enumerate(unit_shingles):
        if prose[k]:
            shingles.update(sh)
    for i, f in enumerate(feats):
        key = keys[i]
        repeated = bool(key) and key in seen
        seen.add(key)
        own = unit_shingles[i]
        # share of this unit's 4-grams that also occur in another (prose) unit: a caption or pull quote
        contained = sum(shingles[g] > (1 if prose[i] else 0) for g in own) / len(own) if own else 0.0
        f["repeated"] = float(repeated and not prose[i])
        f["contained"] = contained
        f["recurring"] = float(not prose[i] and key in recurring)
        f["before_prose"] = float(i < first)
        # after the text's end: only where there is text (in an article without prose, nothing is "after" it)
        f["after_prose"] = float(0 <= last < i and not f["sentence_like"])
        f["next_prose"] = float(i + 1 < len(units) and prose[i + 1])
        f["prev_prose"] = float(i > 0 and prose[i - 1])
        f["log_run"] = math.log1p(run_len[i]) if listy[i] else 0.0
        f["prose"] = float(prose[i])
    return feats


#: The features the logistic model weighs. Four more are computed and decide by rule in mtqa.segment, because
#: they are precise by construction or too rare on the dev pages to fit a weight: ``pattern`` (a row of
#: data/boilerplate.tsv matches the whole line), ``credit_tail`` (the line ends with a photo credit: a caption),
#: ``contained`` (share of a unit's word n-grams found in another prose paragraph) and ``recurring`` (a non-prose
#: line that recurs across the articles of its source). ``prev_prose``, ``before_prose`` and ``prose`` are kept
#: for the record: leaving them out of the model raised its leave-one-case-out precision.
FEATURES: tuple[str, ...] = (
    "log_words",
    "sentence_end",
    "function_share",
    "capital_share",
    "digit_share",
    "symbol_share",
    "interface_share",
    "list_item",
    "credit",
    "link",
    "no_letters",
    "repeated",
    "sentence_like",
    "after_prose",
    "next_prose",
    "log_run",
)


# -- recurring lines across a corpus run ---------------------------------------------------------------------


def source_key(article: Article) -> str:
    """The source articles are grouped by: its ``source``, else its URL's host, else one group for the run."""
    if article.source:
        return article.source.strip().casefold()
    if article.url:
        host = urlsplit(article.url).hostname or ""
        return host.casefold().removeprefix("www.")
    return ""


class RecurringLines:
    """Counts, per source, in how many different stories of a run each short non-prose line occurs.

    ``observe(article)`` once per article as it is read; ``recurring(article)`` is the set of normalised lines
    of that article seen in at least ``min_articles`` stories of its source so far (the C4/datatrove
    repeated-line signal). Only lines that do not read as prose and have at most ``max_words`` words are
    counted, and a line counts once per story (articles with the same first prose paragraph): a headline that
    the syndicated copies of one story repeat is not chrome, a newsletter prompt under every story is. Memory is
    bounded by ``max_lines`` distinct lines per source (the least counted are dropped when it is reached).
    """

    def __init__(self, min_articles: int | None = None, max_words: int | None = None, max_lines: int = 50_000):
        cfg = json.loads(model_bytes()).get("recurring", {})
        self.min_articles = int(min_articles if min_articles is not None else cfg.get("min_articles", 3))
        self.max_words = int(max_words if max_words is not None else cfg.get("max_words", 20))
        self.max_lines = max_lines
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)
        self._seen: dict[str, set[tuple[str, str]]] = defaultdict(set)  # (line, story) pairs counted

    def _lines(self, article: Article) -> tuple[set[str], str]:
        """The article's candidate lines and its story key (its first prose line, normalised)."""
        keys, story = set(), ""
        for raw in article.text.splitlines():
            line = " ".join(raw.split())
            if not line:
                continue
            if is_prose(line):
                story = story or normalise(line)
                continue
            key = normalise(line)
            if key and len(key.split()) <= self.max_words:
                keys.add(key)
        return keys, story or normalise(article.text[:500])

    def observe(self, article: Article) -> None:
        source = source_key(article)
        counts, seen = self._counts[source], self._seen[source]
        keys, story = self._lines(article)
        for key in keys:
            if (key, story) not in seen:
                seen.add((key, story))
                counts[key] += 1
        if len(counts) > self.max_lines:
            for key, _ in counts.most_common()[self.max_lines // 2 :]:
                del counts[key]
            self._seen[source] = {pair for pair in seen if pair[0] in counts}

    def recurring(self, article: Article) -> frozenset[str]:
        counts = self._counts.get(source_key(article))
        if not counts:
            return frozenset()
        return frozenset(k for k in self._lines(article)[0] if counts[k] >= self.min_articles)

    def annotate(self, article: Article) -> Article:
        """``article`` with ``recurring_lines`` set from the counts so far."""
        return replace(article, recurring_lines=self.recurring(article))
