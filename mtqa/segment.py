"""Split an article into title, boilerplate (site chrome) and body sentences, with exact character offsets.

The steps, each explained in docs/segmentation.md:

1. lines are grouped into units, reading hard-wrapped paragraphs as running text (:mod:`mtqa.reflow`);
2. each unit is scored as chrome or not from general evidence (:mod:`mtqa.chrome`, coefficients in
   data/chrome.json; the regex patterns of data/boilerplate.tsv are one input);
3. the headline is the first heading-shaped unit before the text that is not chrome (a short site name
   followed by another heading, or a page title that is a later heading plus a site name, is passed over);
   heading-shaped units before it and copies of it after it are chrome; when nothing reads as a headline
   there is no title;
4. body units are split into sentences with ``sentencex`` (maintained, offline, character offsets), over a
   copy of the text whose line breaks inside a unit are spaces, so a sentence can run over a wrapped line
   break while its offsets still index the original text. A dot inside a domain-like name ("URA.RU") is
   never a boundary; a fragment without letters or digits ("." left by the scrape) is not a sentence.

A garbled run-on that hides a missing boundary stays one sentence here: that is a finding for the rules,
not a segmentation bug. Chrome is kind "boilerplate" in the contract and never scored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version

from sentencex import get_sentence_boundaries

from mtqa import datafiles
from mtqa.boilerplate import match_boilerplate
from mtqa.chrome import (
    ChromeModel,
    dominant_script,
    is_foreign,
    is_prose,
    load_model,
    normalise,
    unit_features,
)
from mtqa.reflow import (
    Unit,
    ends_sentence,
    is_list_item,
    layout_data,
    reflow,
    starts_lower,
    text_lines,
)
from mtqa.types import Article, Segment

#: Version of the segmentation logic; bump it when a change moves segments without a data file changing.
SEGMENT_VERSION = 3  # 3: a sentence broken around a caption is linked (Segment.continues)
#: sentencex is fed at most this many characters at a time, so a huge line without breaks stays bounded.
SPLIT_CHUNK = 20_000

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
_LINE_BREAK = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class Layout:
    """The segments of an article and, for each body sentence, the paragraph (unit) it lies in."""

    segments: list[Segment]
    paragraph_of: dict[int, tuple[int, int]]  # segment index -> (start, end) of its paragraph
    title: str | None


def signature() -> str:
    """What decides segmentation: this module's version, sentencex's, and a hash of every data file it reads
    (the layout lexicons and thresholds, the chrome model, the boilerplate patterns)."""
    data = datafiles.digest(["layout.json", "chrome.json", "boilerplate.tsv"])
    return f"segment:{SEGMENT_VERSION}|sentencex:{version('sentencex')}|data:{data}"


@lru_cache(maxsize=1)
def _domain_suffixes() -> frozenset[str]:
    return frozenset(layout_data()["segment"]["domain_suffixes"])


@lru_cache(maxsize=1)
def _list_marker() -> re.Pattern:
    return re.compile(layout_data()["segment"]["list_marker"])


def _domain_dot(text: str, dot: int) -> bool:
    """``text[dot]`` is the dot of a domain-like name ("URA.RU", "Yonhap.co.kr"), not a sentence end."""
    m = re.match(r"[A-Za-z]{2,6}(?![^\W\d_])", text[dot + 1 : dot + 8])
    before = re.search(r"[A-Za-z]+$", text[max(0, dot - 30) : dot])
    if not m or not before or m.group(0).lower() not in _domain_suffixes():
        return False
    suffix = m.group(0)
    return suffix.islower() or (suffix.isupper() and before.group(0).isupper())


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, trimmed of surrounding whitespace.

    Line breaks inside the range are read as spaces (a unit may be a reflowed paragraph); a split at the
    dot of a domain-like name is undone.
    """
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        chunk_end = min(end, pos + SPLIT_CHUNK)
        if chunk_end < end:  # cut at the last space so no word is split across chunks
            cut = text.rfind(" ", pos + SPLIT_CHUNK // 2, chunk_end)
            chunk_end = cut + 1 if cut > 0 else chunk_end
        chunk = _LINE_BREAK.sub(" ", text[pos:chunk_end])  # same length: offsets are unchanged
        for b in get_sentence_boundaries("en", chunk):
            a, z = pos + b["start_index"], pos + b["end_index"]
            while a < z and text[a].isspace():
                a += 1
            while z > a and text[z - 1].isspace():
                z -= 1
            if z > a:
                if spans and spans[-1][1] == a and text[a - 1] == "." and _domain_dot(text, a - 1):
                    spans[-1] = (spans[-1][0], z)
                else:
                    spans.append((a, z))
        pos = chunk_end
    return spans


def _sentences_in(line: str) -> int:
    return len(split_sentences(line, 0, len(line)))


def _alpha_words(line: str) -> list[str]:
    return [w for w in _WORD.findall(line) if sum(c.isalpha() for c in w) >= 2]


_FULL_STOP = re.compile(r"(?<!\.)\.[\"'”’)\]]*$")


def _headline_shaped(line: str) -> bool:
    """Could be a headline: a few words, at most two sentences, no list item, no lead-in ending in a colon."""
    cfg = layout_data()["segment"]
    words = _WORD.findall(line)
    if len(_alpha_words(line)) < 2 or len(words) > cfg["max_title_words"] or is_list_item(line):
        return False
    if line.endswith(":") and len(words) > cfg["max_colon_title_words"]:
        return False
    if re.search(r"\.[\"'”’)\]]*$", line) and not line.endswith("..") and len(words) > cfg["max_full_stop_title_words"]:
        return False
    return _sentences_in(line) <= 2


class _Heads:
    """Which units could be the headline, computed lazily (only the units above the text are ever asked)."""

    def __init__(self, flat: list[str], chrome: list[bool], foreign: list[bool]):
        self.flat, self.chrome, self.foreign = flat, chrome, foreign
        words = [len(_WORD.findall(t)) for t in flat]
        self.words = words
        # longest non-chrome unit after each unit, for the full-stop rule
        self.longest_after = [0] * (len(flat) + 1)
        for i in range(len(flat) - 1, -1, -1):
            self.longest_after[i] = max(self.longest_after[i + 1], 0 if chrome[i] else words[i])
        self._shaped: dict[int, bool] = {}

    def candidate(self, i: int) -> bool:
        """Shaped like a headline; one ending with a full stop only above a longer paragraph (a one-sentence lead
        would otherwise pass for one)."""
        if i not in self._shaped:
            self._shaped[i] = _headline_shaped(self.flat[i])
        if not self._shaped[i]:
            return False
        return not _FULL_STOP.search(self.flat[i]) or self.longest_after[i + 1] > self.words[i]

    def lead(self) -> list[int]:
        """Indexes of the units above the text: everything before the first unit that is neither chrome, nor a
        headline candidate, nor in another script."""
        for i in range(len(self.flat)):
            if not self.chrome[i] and not self.foreign[i] and not self.candidate(i):
                return list(range(i))
        return list(range(len(self.flat)))


def _choose_title(heads: _Heads, given: str | None, fallback: list[float | None]) -> int | None:
    """Index of the headline unit, or None.

    The first headline candidate above the text that is not chrome, passing over a short site or section name,
    a page title that is a later heading plus the site's name, and a heading cut off with an ellipsis when a
    heading follows them. When every candidate above the text is chrome, the one least likely to be chrome
    (``fallback``: its probability, None where the evidence is not the model's alone) if it is below the
    ``title_fallback_max`` probability. A unit in another script than the article's is a headline only with
    ``foreign_title_min_letters`` letters or more (a source-language headline, not a skip link or a menu).
    A corpus title (``given``) is the unit above or at the start of the text that reads the same, if any."""
    flat, chrome = heads.flat, heads.chrome
    lead = heads.lead()
    if given is not None:
        key = normalise(given)
        return next((i for i in [*lead, len(lead)] if i < len(flat) and key and normalise(flat[i]) == key), None)
    cfg = layout_data()["segment"]
    min_letters = cfg["foreign_title_min_letters"]
    lead = [i for i in lead if not heads.foreign[i] or sum(c.isalpha() for c in flat[i]) >= min_letters]
    found = [i for i in lead if not chrome[i] and heads.candidate(i)]
    scored = [(p, i) for i in lead if chrome[i] and (p := fallback[i]) is not None and heads.candidate(i)]
    if found and _FULL_STOP.search(flat[found[0]]):
        # a one-sentence unit is a headline only when no heading-shaped line above it could be: a title of three
        # words or more that only the model took for chrome ("Floods hit Zhuozhou" above a byline) comes first
        above = [
            (p, i)
            for p, i in scored
            if i < found[0]
            and not _FULL_STOP.search(flat[i])
            and len(_alpha_words(flat[i])) >= cfg["min_title_over_lead_words"]
        ]
        if above:
            return min(above)[1]
    keys = {i: normalise(flat[i]) for i in found}
    for n, i in enumerate(found):
        later = found[n + 1 :]
        if not later:
            return i
        if any(keys[j] and keys[i].startswith(keys[j] + " ") for j in later):
            continue  # a page title: a later heading plus the site's name
        if len(_alpha_words(flat[i])) < cfg["min_lead_title_words"]:
            continue  # a site or section name above the headline
        if flat[i].endswith(("...", "…")):
            continue  # a teaser cut short
        return i
    if found:
        return found[0]
    if scored and min(scored)[0] < cfg["title_fallback_max"]:
        return min(scored)[1]
    return None


def _comment_section(text: str, units: list[Unit], flat: list[str]) -> int:
    """Index of the unit that opens the comment section (a comment header after some prose, in the second half
    of the text), or ``len(units)`` when there is none."""
    names = set(layout_data()["segment"]["comment_section_patterns"])
    seen_prose = False
    for i, (u, t) in enumerate(zip(units, flat, strict=True)):
        if seen_prose and 2 * u.start >= len(text) and match_boilerplate(t) in names:
            return i
        seen_prose = seen_prose or is_prose(t)
    return len(units)


def _interruption(flat: list[str], chrome: list[bool], fixed: list[bool], i: int) -> int | None:
    """Where a sentence broken at unit ``i`` goes on, or None: the body unit before ``i`` stops without
    sentence-final punctuation, ``i`` does not start in lower case, and after it, past at most
    ``max_interruption_units`` units in all that are chrome already (a credit line, an ad label), a unit goes
    on in lower case (a caption or an ad the scrape put mid-sentence). ``fixed``: units a pattern or a rule
    made chrome, which never continue a sentence."""
    if i == 0 or chrome[i - 1] or starts_lower(flat[i]):
        return None
    before = flat[i - 1]
    if len(_WORD.findall(before)) < 5 or ends_sentence(before):
        return None
    k, last = i + 1, min(len(flat), i + layout_data()["segment"]["max_interruption_units"])
    while k < last and chrome[k] and not starts_lower(flat[k]):
        k += 1
    if k >= len(flat) or fixed[k] or not starts_lower(flat[k]):
        return None
    return k


def classify_units(
    article: Article, model: ChromeModel | None = None
) -> tuple[list[Unit], list[bool], int | None, set[int]]:
    """The article's units, whether each is chrome, the index of the headline unit (or None), and the units whose
    first sentence finishes the last sentence of the body unit before the chrome just above them (a sentence the
    scrape broke around a caption: see :func:`_interruption`).

    Chrome: a boilerplate pattern matches it; or it ends with a photo credit (a caption); or the model's
    probability reaches its threshold; or a non-prose unit repeats most of a prose paragraph
    (a caption, a pull quote: ``repeat_share``); or a non-prose line recurs across the source's articles; or the
    unit interrupts a sentence; or it lies in the comment section; or it stands above the headline (the page
    header) or repeats it. ``model`` replaces the shipped chrome model (scripts/fit_chrome.py uses it for
    leave-one-case-out)."""
    text = article.text
    script = dominant_script(text)

    def barrier(line: str) -> bool:
        return match_boilerplate(line) is not None or is_foreign(line, script)

    units = reflow(text, text_lines(text), barrier, _sentences_in)
    if not units:
        return units, [], None, set()
    feats = unit_features(text, units, article.recurring_lines)
    model = model or load_model()
    repeat = layout_data()["segment"]["repeat_share"]
    flat = [" ".join(text[u.start : u.end].split()) for u in units]
    prob = [model.probability(f) for f in feats]
    by_model = [p >= model.threshold for p in prob]
    by_rule = [bool(f["pattern"] or f["credit_tail"] or f["recurring"]) for f in feats]
    # the title is chosen before the repeat rule: a headline repeated in the lead is still the headline
    foreign = [is_foreign(t, script) for t in flat]
    only_model = [
        p if not (f["pattern"] or f["credit_tail"] or f["repeated"] or f["recurring"] or g) else None
        for p, f, g in zip(prob, feats, foreign, strict=True)
    ]
    heads = _Heads(flat, [m or r for m, r in zip(by_model, by_rule, strict=True)], foreign)
    title = _choose_title(heads, article.title, only_model)
    chrome = [
        m or r or (not f["prose"] and f["contained"] >= repeat)
        for m, r, f in zip(by_model, by_rule, feats, strict=True)
    ]
    fixed = [r or (not f["prose"] and f["contained"] >= repeat) for r, f in zip(by_rule, feats, strict=True)]
    resumes: dict[int, int] = {}  # unit where a broken sentence goes on -> the unit where it began
    for i in range(len(units)):
        k = _interruption(flat, chrome, fixed, i)
        if k is not None:  # the units between are chrome, the sentence goes on after them
            chrome[i:k] = [True] * (k - i)
            chrome[k] = False
            resumes[k] = i - 1
    for i in range(_comment_section(text, units, flat), len(units)):
        chrome[i] = True
    for i in heads.lead():  # a skip link or menu line in another script above the text
        chrome[i] = chrome[i] or (foreign[i] and i != title)
    if title is not None:
        chrome[title] = False
        for i in range(title):  # everything above the headline is page header
            chrome[i] = chrome[i] or not is_prose(flat[i])
        key = normalise(flat[title])
        for i in range(title + 1, len(units)):
            chrome[i] = chrome[i] or normalise(flat[i]) == key
    if all(c or i == title for i, c in enumerate(chrome)):
        # the model never leaves an article without text: in a page this short its evidence (position, runs) is
        # void, so the units it alone made chrome and that end like sentences stay body
        for i, f in enumerate(feats):
            if i != title and by_model[i] and not fixed[i] and f["sentence_end"]:
                chrome[i] = False
    resumed = {
        k for k, b in resumes.items() if not chrome[k] and not chrome[b] and b != title and all(chrome[b + 1 : k])
    }
    return units, chrome, title, resumed


def segment_article(article: Article, model: ChromeModel | None = None) -> Layout:
    """Classify every unit and split body units into sentences.

    The title is the corpus's ``title`` when a unit before the text equals it; otherwise the headline found
    by :func:`classify_units`, or none.
    """
    text = article.text
    units, chrome, title_index, resumes = classify_units(article, model)
    segments: list[Segment] = []
    paragraph_of: dict[int, tuple[int, int]] = {}
    title = article.title

    def add(kind: str, a: int, z: int, continues: int | None = None) -> None:
        segments.append(Segment(len(segments), kind, text[a:z], a, z, continues))  # type: ignore[arg-type]

    for i, unit in enumerate(units):
        if i == title_index:
            add("title", unit.start, unit.end)
            title = text[unit.start : unit.end] if article.title is None else article.title
            continue
        if chrome[i]:
            for ln in unit.lines:
                add("boilerplate", ln.start, ln.end)
            continue
        start = unit.start
        marker = _list_marker().match(text, start, unit.end)
        if marker and marker.end() < unit.end:  # a bullet is layout, not part of the sentence
            add("boilerplate", start, start + len(marker.group(0).rstrip()))
            start = marker.end()
        spans = split_sentences(text, start, unit.end)
        # the first sentence of a unit that resumes a sentence broken by the chrome above finishes that sentence
        last_body = next((s.index for s in reversed(segments) if s.kind == "body"), None)
        continues = last_body if i in resumes else None
        for a, z in _attach_fragments(text, spans):
            if any(c.isalnum() for c in text[a:z]):
                paragraph_of[len(segments)] = (unit.start, unit.end)
                add("body", a, z, continues)
                continues = None
            else:
                add("boilerplate", a, z)
    return Layout(segments, paragraph_of, title)


@dataclass(frozen=True)
class Reading:
    """A title or body sentence as the rules and the language model read it: its segments (two when the scrape
    broke the sentence around chrome, each pointing into the article text), and ``text``, the article text from
    its first segment's start to its last one's end with the chrome between them blanked by spaces: the same
    length, so an offset ``k`` into ``text`` is the article offset ``start + k``."""

    parts: tuple[Segment, ...]
    text: str

    @property
    def start(self) -> int:
        return self.parts[0].start

    @property
    def end(self) -> int:
        return self.parts[-1].end


def readings(text: str, segments: Sequence[Segment]) -> list[Reading]:
    """``segments`` (title and body sentences, in text order) grouped into the sentences they are read as: a
    segment that ``continues`` another one of the list is read with it."""
    groups: list[list[Segment]] = []
    where: dict[int, int] = {}
    for seg in segments:
        k = where.get(seg.continues) if seg.continues is not None else None
        if k is None:
            where[seg.index] = len(groups)
            groups.append([seg])
        else:
            where[seg.index] = k
            groups[k].append(seg)
    return [Reading(tuple(g), blank_gaps(text, g)[g[0].start : g[-1].end]) for g in groups]


def blank_gaps(text: str, segments: Sequence[Segment]) -> str:
    """``text`` with what lies between the parts of each broken sentence among ``segments`` (the chrome the
    scrape put inside it) replaced by spaces, so the sentence reads whole; offsets do not move."""
    by_index = {s.index: s for s in segments}
    gaps = [(by_index[s.continues].end, s.start) for s in segments if s.continues in by_index]
    if not gaps:
        return text
    out, pos = [], 0
    for a, z in sorted(gaps):
        out += [text[pos:a], " " * (z - a)]
        pos = z
    return "".join([*out, text[pos:]])


def _attach_fragments(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A span without a letter or digit ("!", ".") joins the sentence it touches without a space (before or
    after it); one that touches none stays apart (and becomes boilerplate)."""

    def bare(span: tuple[int, int]) -> bool:
        return not any(c.isalnum() for c in text[span[0] : span[1]])

    out: list[tuple[int, int]] = []
    for a, z in spans:
        if out and out[-1][1] == a and (bare((a, z)) or bare(out[-1])):
            out[-1] = (out[-1][0], z)
        else:
            out.append((a, z))
    return out
