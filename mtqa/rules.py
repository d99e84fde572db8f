"""Deterministic rules that catch machine-translation damage.

Each rule is a small class behind one interface, in the spirit of sacrebleu's metrics: a stable ``code``,
a ``severity``, a one-line ``message`` for editors and a ``version`` that goes into the run signature.
Sentence rules look at one sentence (with its paragraph for quote state); article rules look at the whole
article. Every sentence finding points at the damaged text itself, in article offsets.

The rules are meant to be precise rather than eager: fluent professional news prose must not trigger
any of them. Word lists and thresholds live in ``data/rules/`` so they can be tuned without code changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from mtqa.types import ArticleFinding, Finding, Severity

# --------------------------------------------------------------------------------------------- data files


def _read_text(name: str) -> str:
    return (files("mtqa.data") / "rules" / name).read_text(encoding="utf-8")


def _read_list(name: str) -> list[str]:
    """Entries of a one-per-line data file; blank lines and lines starting with '#' are comments."""
    lines = (line.strip() for line in _read_text(name).splitlines())
    return [s for s in lines if s and not s.startswith("#")]


@dataclass(frozen=True)
class Calque:
    """One row of ``calques.tsv``: the literal translation, a fluent alternative and why it is listed."""

    phrase: str
    suggestion: str
    source: str


def _read_calques() -> list[Calque]:
    rows = []
    for line in _read_list("calques.tsv"):
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"calques.tsv: expected phrase<TAB>suggestion<TAB>source, got {line!r}")
        rows.append(Calque(*parts))
    return rows


_THRESHOLDS: dict = json.loads(_read_text("thresholds.json"))
#: run-on: a sentence needs at least this many words ...
RUN_ON_MIN_WORDS: int = int(_THRESHOLDS["run_on_min_words"])
#: ... and fewer clause breaks (, ; : dashes brackets) per word than this.
RUN_ON_MAX_BREAKS_PER_WORD: float = float(_THRESHOLDS["run_on_max_breaks_per_word"])
#: repeated-phrase: shortest repeated word sequence reported.
REPEATED_PHRASE_MIN_WORDS: int = int(_THRESHOLDS["repeated_phrase_min_words"])
#: repeated-phrase: distinct non-stopwords the sequence must contain ("year on year" has one).
REPEATED_PHRASE_MIN_CONTENT_WORDS: int = int(_THRESHOLDS["repeated_phrase_min_content_words"])

FUNCTION_WORDS: frozenset[str] = frozenset(_read_list("function_words.txt"))
STOPWORDS: frozenset[str] = frozenset(w.lower() for w in _read_list("stopwords.txt"))
DOUBLED_WORD_ALLOW: frozenset[str] = frozenset(w.lower() for w in _read_list("doubled_word_allow.txt"))
LOWERCASE_START_ALLOW: frozenset[str] = frozenset(w.lower() for w in _read_list("lowercase_start_allow.txt"))
GLUED_WORDS_ALLOW: frozenset[str] = frozenset(w.lower() for w in _read_list("glued_words_allow.txt"))
ADDRESSEE_PHRASES: tuple[str, ...] = tuple(_read_list("addressee_phrases.txt"))
CALQUES: tuple[Calque, ...] = tuple(_read_calques())

# ------------------------------------------------------------------------------------ shared regex parts

_SPACE = r"[ \t\u00a0]"  # horizontal space only: a newline inside a span is a layout break, not a fusion
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff"  # ASCII and Latin-1 lowercase letters
_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019.\-][^\W_]+)*")  # "Russia's", "3.5", "COVID-19" are one word
_QUOTE_CHARS = "\"'\u201c\u201d\u2018\u2019"


def _alternation(phrases: list[str] | tuple[str, ...], joiner: str = r"\s+") -> str:
    """Regex alternation of phrases, longest first so that 'the broad masses' beats 'the masses'."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(joiner.join(re.escape(w) for w in p.split()) for p in ordered)


def _normalise_phrase(s: str) -> str:
    return " ".join(re.sub(f"[{_QUOTE_CHARS}]", " ", s).lower().split())


# ------------------------------------------------------------------------------------ quotes and brackets

_NEXT_OPENS_QUOTE = re.compile(r'\s*["\u201c]')


@lru_cache(maxsize=256)
def _scan_quotes(text: str, start: int, end: int) -> tuple[tuple[bool, ...], tuple[int, ...]]:
    """Walk the double quotes of ``text[start:end]``; return (in-quote mask, unmatched quote offsets).

    Straight quotes toggle; curly ones say which way they go. News style reopens a quotation at the
    start of each paragraph it continues into, so a quote at the start of a line while one is open
    continues it, and a quote left open at the end is fine when the next paragraph opens one.
    """
    mask = [False] * (end - start)
    opened: list[int] = []
    unmatched: list[int] = []
    line_start = True
    for i in range(start, end):
        c = text[i]
        is_quote = c in '"\u201c\u201d'
        if c == '"':
            if opened and line_start:
                pass  # continuation of a quote from the previous paragraph
            elif opened:
                opened.pop()
            else:
                opened.append(i)
        elif c == "\u201c":
            if not (opened and line_start):
                opened.append(i)
        elif c == "\u201d":
            if opened:
                opened.pop()
            else:
                unmatched.append(i)
        mask[i - start] = is_quote or bool(opened)
        if c == "\n":
            line_start = True
        elif not c.isspace():
            line_start = False
    if opened and not _NEXT_OPENS_QUOTE.match(text, end):
        unmatched.extend(opened)
    return tuple(mask), tuple(sorted(unmatched))


def quote_mask(text: str, start: int, end: int) -> list[bool]:
    """Per-character flags for ``text[start:end]``: True inside a double quotation (marks included).

    Pass a whole paragraph: quotations often run over several sentences.
    """
    return list(_scan_quotes(text, start, end)[0])


_BRACKET_OPEN = {")": "(", "]": "["}


def _is_emoticon(text: str, i: int, start: int) -> bool:
    """':)', ';(' and ':-)' are not brackets."""
    j = i - 1
    if j >= start and text[j] == "-":
        j -= 1
    return j >= start and text[j] in ":;"


def _is_list_marker(text: str, i: int, start: int) -> bool:
    """'1)' or 'b)' at the start of a line or after a space: an enumeration, not a closing bracket."""
    j = i
    while j > start and j > i - 3 and text[j - 1].isalnum():
        j -= 1
    return 1 <= i - j <= 2 and (j == start or text[j - 1].isspace())


@lru_cache(maxsize=256)
def _scan_brackets(text: str, start: int, end: int) -> tuple[int, ...]:
    """Offsets of ( ) [ ] without a partner in ``text[start:end]``."""
    stack: list[int] = []
    unmatched: list[int] = []
    for i in range(start, end):
        c = text[i]
        if c in "([":
            if not _is_emoticon(text, i, start):
                stack.append(i)
        elif c in ")]":
            if stack and text[stack[-1]] == _BRACKET_OPEN[c]:
                stack.pop()
            elif _is_emoticon(text, i, start) or (not stack and c == ")" and _is_list_marker(text, i, start)):
                continue
            else:
                unmatched.append(i)
    return tuple(sorted(unmatched + stack))


def _line_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The newline-delimited line holding ``text[start:end]``: the paragraph when none is given."""
    line_end = text.find("\n", end)
    return text.rfind("\n", 0, start) + 1, len(text) if line_end < 0 else line_end


# ------------------------------------------------------------------------------------------- interfaces


@dataclass(frozen=True)
class SentenceContext:
    """One sentence of an article, as a sentence rule sees it."""

    text: str  # the whole article text
    start: int  # sentence start offset in text
    end: int  # sentence end offset (text[start:end] is the sentence)
    in_quote: list[bool] | None = None  # per-char flag for the sentence, computed over the paragraph
    paragraph: tuple[int, int] | None = None  # the paragraph holding the sentence; None: its line

    @property
    def sentence(self) -> str:
        return self.text[self.start : self.end]

    def paragraph_span(self) -> tuple[int, int]:
        if self.paragraph is not None:
            return self.paragraph
        return _line_around(self.text, self.start, self.end)

    def quote_flags(self) -> list[bool]:
        """``in_quote`` if the caller computed it, else computed here over the paragraph."""
        if self.in_quote is not None:
            return self.in_quote
        ps, pe = self.paragraph_span()
        return list(_scan_quotes(self.text, ps, pe)[0][self.start - ps : self.end - ps])


class SentenceRule:
    """Base class of the sentence rules: subclasses set the attributes and implement ``find``."""

    code: str = ""
    severity: Severity = "minor"
    message: str = ""
    version: str = "1"

    def find(self, ctx: SentenceContext) -> list[Finding]:
        """Findings with article offsets inside [ctx.start, ctx.end], each pointing at the damage."""
        raise NotImplementedError

    def _at(self, start: int, end: int, message: str | None = None) -> Finding:
        return Finding(self.code, message or self.message, self.severity, start, end)


class ArticleRule:
    """Base class of the article rules: problems of the article as a whole."""

    code: str = ""
    severity: Severity = "minor"
    message: str = ""
    version: str = "1"

    def find(
        self, text: str, title: tuple[int, int] | None, sentences: list[tuple[int, int]]
    ) -> list[ArticleFinding]:
        raise NotImplementedError


# -------------------------------------------------------------------------------------- sentence rules


class FusedSentence(SentenceRule):
    """A missing sentence boundary: 'development The people', 'agreed He said'.

    Needs a lowercase word, plain spaces, a capitalised function word from ``function_words.txt`` and a
    lowercase word after it. The last condition keeps out names and titles ('told The New York Times',
    'Vice Premier He Lifeng', 'the Belt and Road Initiative').
    """

    code = "fused-sentence"
    severity: Severity = "major"
    message = "Two sentences run together: a sentence boundary seems to be missing"
    _re = re.compile(
        rf"(?<![\w.'\u2019\"\u201c:@#/])[{_LOWER}]{{2,}}{_SPACE}+"
        rf"(?:{_alternation(sorted(FUNCTION_WORDS))})(?={_SPACE}+[{_LOWER}])"
    )

    def find(self, ctx: SentenceContext) -> list[Finding]:
        return [self._at(m.start(), m.end()) for m in self._re.finditer(ctx.text, ctx.start, ctx.end)]


def _words_and_keys(ctx: SentenceContext) -> tuple[list[re.Match[str]], list[str]]:
    """The sentence's words and their lowercase forms, for the repetition rules."""
    words = list(_WORD_RE.finditer(ctx.text, ctx.start, ctx.end))
    return words, [m.group().lower() for m in words]


class RepeatedPhrase(SentenceRule):
    """The same word sequence twice in one sentence, as when MT re-translates a clause.

    Reports the second occurrence of each maximal repeat of REPEATED_PHRASE_MIN_WORDS+ words that does
    not overlap the first ('flood control and rescue, flood control and rescue work' counts), and that has
    enough content words with at least one in lowercase: repeated names ('the United States') and filler
    ('percent of the') are normal in news.
    """

    code = "repeated-phrase"
    # minor, measured: on MQM dev, segments it fires on are garbled at the base rate (~10%); repeating a
    # noun phrase ("personal pension products ... personal pension products") is clumsy, not broken.
    severity: Severity = "minor"
    version = "2"
    message = "The same phrase appears twice in this sentence"

    def find(self, ctx: SentenceContext) -> list[Finding]:
        words, keys = _words_and_keys(ctx)
        n = REPEATED_PHRASE_MIN_WORDS
        first_seen: dict[tuple[str, ...], list[int]] = {}
        candidates: list[tuple[int, int, int]] = []  # (length, first index, second index)
        for i in range(len(keys) - n + 1):
            gram = tuple(keys[i : i + n])
            for j in first_seen.get(gram, [])[-8:]:  # the latest few suffice; bounds pathological input
                if j > 0 and keys[j - 1] == keys[i - 1]:
                    continue  # not left-maximal: the pair starting one word earlier covers it
                length = n
                while i + length < len(keys) and keys[j + length] == keys[i + length] and j + length < i:
                    length += 1
                if j + length <= i:  # the occurrences may touch but not overlap
                    candidates.append((length, j, i))
            first_seen.setdefault(gram, []).append(i)
        found: list[Finding] = []
        taken: set[int] = set()
        for length, _j, i in sorted(candidates, key=lambda c: (-c[0], c[2])):
            span = range(i, i + length)
            if taken.intersection(span) or not self._meaningful(words[i : i + length]):
                continue
            taken.update(span)
            found.append(self._at(words[i].start(), words[i + length - 1].end()))
        return sorted(found, key=lambda f: f.start)

    @staticmethod
    def _meaningful(words: list[re.Match[str]]) -> bool:
        content = [m.group() for m in words if m.group().lower() not in STOPWORDS]
        distinct = {w.lower() for w in content}
        has_lower = any(w[0].islower() and w.isalpha() for w in content)
        return len(distinct) >= REPEATED_PHRASE_MIN_CONTENT_WORDS and has_lower


class RepetitionLoop(SentenceRule):
    """The same phrase three or more times in one sentence: the degenerate loop MT systems fall into
    ("the Chinese bank's financial products, the Chinese bank's financial products, ..."). The span runs
    from the second occurrence to the end of the last."""

    code = "repetition-loop"
    severity: Severity = "major"
    message = "The same phrase repeats over and over: the translation is stuck in a loop"

    def find(self, ctx: SentenceContext) -> list[Finding]:
        words, keys = _words_and_keys(ctx)
        n = REPEATED_PHRASE_MIN_WORDS
        starts: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(keys) - n + 1):
            seen = starts.setdefault(tuple(keys[i:i + n]), [])
            if not seen or seen[-1] + n <= i:  # non-overlapping occurrences only
                seen.append(i)
        loops = [(occ[1], occ[-1]) for gram, occ in starts.items()
                 if len(occ) >= 3 and RepeatedPhrase._meaningful(words[occ[0]:occ[0] + n])]
        if not loops:
            return []
        first = min(a for a, _ in loops)
        last = max(b for _, b in loops)
        return [self._at(words[first].start(), words[last + n - 1].end())]


class DoubledWord(SentenceRule):
    """A word typed twice: 'to to', 'the the', and outside quotes 'capacity, capacity'.

    'had had' and 'that that' are English (allowlist); capitalised pairs are names ('Lang Lang').
    Also catches Chinese reduplication rendered word for word ('consolidated and consolidated',
    'unswervingly and unswervingly'): adverbs in -ly anywhere, long -ed/-ing forms outside quotes,
    since 'we waited and waited' is fluent.
    """

    code = "doubled-word"
    severity: Severity = "minor"
    message = "Word repeated twice in a row"
    _re = re.compile(rf"(?<![\w'\u2019-])([^\W\d_]+)(,?){_SPACE}+(\1)(?![\w'\u2019-])", re.IGNORECASE)
    _and_re = re.compile(r"(?<![\w'\u2019-])([a-z]+(?:ly|ed|ing))\s+and\s+\1(?![\w'\u2019-])")

    def find(self, ctx: SentenceContext) -> list[Finding]:
        found = []
        flags: list[bool] | None = None
        for m in self._re.finditer(ctx.text, ctx.start, ctx.end):
            first, comma, second = m.group(1), m.group(2), m.group(3)
            if first.lower() in DOUBLED_WORD_ALLOW:
                continue
            if first[0].isupper() and second[0].isupper() and first.lower() not in STOPWORDS:
                continue  # a name such as "Lang Lang" or "Bora Bora"
            if comma:
                flags = flags if flags is not None else ctx.quote_flags()
                if flags[m.start() - ctx.start]:
                    continue  # "very, very important," she said
            found.append(self._at(m.start(), m.end()))
        for m in self._and_re.finditer(ctx.text, ctx.start, ctx.end):
            word = m.group(1)
            if word.endswith("ly"):
                if len(word) < 6:
                    continue
            else:
                flags = flags if flags is not None else ctx.quote_flags()
                if len(word) < 10 or flags[m.start() - ctx.start]:
                    continue
            message = f"'{word}' repeated around 'and': a literal reduplication"
            found.append(self._at(m.start(), m.end(), message))
        return sorted(found, key=lambda f: f.start)


class LowercaseStart(SentenceRule):
    """A sentence that starts in lowercase: a fragment or a lost boundary.

    Skipped after an ellipsis, after a comma, colon or semicolon (the segmenter split inside a sentence),
    after an abbreviation such as 'U.S.' or 'Mr.', and for camel-case or allowlisted first words.
    """

    code = "lowercase-start"
    severity: Severity = "minor"
    message = "Sentence starts with a lowercase letter"
    _first = re.compile(rf"[\s{_QUOTE_CHARS}(\[\u2014\u2013\-\u2022*]*(\S+)")
    _before_ok = re.compile(
        r"(?:\.\.\.|\u2026|[,;:]|\b(?:[A-Za-z]\.){2,}|\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep|St"
        r"|Jr|Sr|No|Nos|vs|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Inc|Ltd|Co|Corp)\.)"
        rf"[\s{_QUOTE_CHARS})\]]*$"
    )

    def find(self, ctx: SentenceContext) -> list[Finding]:
        m = self._first.match(ctx.text, ctx.start, ctx.end)
        if not m:
            return []
        token = m.group(1)
        if token.startswith(("...", "\u2026")) or not token[0].islower():
            return []
        word = re.match(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*", token)
        if word is None:
            return []
        stem = re.sub(r"['\u2019]s$", "", word.group())
        if any(ch.isupper() for ch in stem) or stem.lower() in LOWERCASE_START_ALLOW:
            return []  # iPhone, eBay, mRNA; 'de Blasio'
        if any(ch in token for ch in "@/") or re.search(r"\w\.\w", token):
            return []  # a domain name, e-mail address or URL
        if self._before_ok.search(ctx.text, max(0, ctx.start - 20), ctx.start):
            return []
        start = m.start(1)
        return [self._at(start, start + len(word.group()))]


class UnbalancedQuotes(SentenceRule):
    """A double quotation mark without its partner, judged over the whole paragraph.

    A quotation may open in one sentence and close in a later one; the finding marks the orphan mark.
    """

    code = "unbalanced-quotes"
    severity: Severity = "minor"
    message = "Quotation mark without a matching opening or closing mark"

    def find(self, ctx: SentenceContext) -> list[Finding]:
        if not _WORD_RE.search(ctx.text, ctx.start, ctx.end):
            return []  # a lone quote mark split off as its own unit has nothing to judge
        ps, pe = ctx.paragraph_span()
        _mask, unmatched = _scan_quotes(ctx.text, ps, pe)
        return [self._at(i, i + 1) for i in unmatched if ctx.start <= i < ctx.end]


class UnbalancedBrackets(SentenceRule):
    """A ( or [ without its partner. Judged over the paragraph, so a parenthesis holding two sentences
    is fine; list markers '1)' and emoticons ':)' are not brackets."""

    code = "unbalanced-brackets"
    severity: Severity = "minor"
    message = "Bracket without a matching opening or closing bracket"

    def find(self, ctx: SentenceContext) -> list[Finding]:
        ps, pe = ctx.paragraph_span()
        return [self._at(i, i + 1) for i in _scan_brackets(ctx.text, ps, pe) if ctx.start <= i < ctx.end]


_NON_LATIN = (
    "\u0400-\u052f"  # Cyrillic
    "\u0530-\u058f"  # Armenian
    "\u0590-\u05ff"  # Hebrew
    "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc"  # Arabic
    "\u0900-\u0dff"  # Indic scripts
    "\u0e00-\u0eff"  # Thai, Lao
    "\u0f00-\u0fff\u1000-\u109f"  # Tibetan, Myanmar
    "\u10a0-\u10ff"  # Georgian
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"  # Hangul
    "\u1780-\u17ff\u1800-\u18af"  # Khmer, Mongolian
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3000-\u303f"  # CJK symbols and punctuation: 、。「」 and the ideographic space
    "\u3040-\u30ff\u31f0-\u31ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"  # Han
    "\uff01-\uff60\uff61-\uff9f\uffe0-\uffe6"  # full-width forms: ，：；？！（）＂ and half-width kana
)
_GREEK = "\u0370-\u03ff\u1f00-\u1fff"


class Untranslated(SentenceRule):
    """Text left in the source script (CJK, Cyrillic, Arabic...) or full-width punctuation ('，' '。').

    Curly quotes are English and are not reported. A parenthesised gloss after an English word,
    'Xi Jinping (习近平)', is house style in some outlets and is skipped; lone Greek letters ('α') too.
    """

    code = "untranslated"
    severity: Severity = "major"
    message = "Untranslated text or full-width punctuation in English prose"
    _re = re.compile(rf"[{_NON_LATIN}]+(?:[ \t]+[{_NON_LATIN}]+)*|[{_GREEK}]{{3,}}(?:[ \t]+[{_GREEK}]+)*")
    _gloss_before = re.compile(r"[A-Za-z][.'\u2019]?\s*\($")

    def find(self, ctx: SentenceContext) -> list[Finding]:
        found = []
        for m in self._re.finditer(ctx.text, ctx.start, ctx.end):
            s, e = m.span()
            is_gloss = (
                e < ctx.end
                and ctx.text[e] == ")"
                and self._gloss_before.search(ctx.text, max(ctx.start, s - 40), s) is not None
            )
            if not is_gloss:
                found.append(self._at(s, e))
        return found


class RunOn(SentenceRule):
    """A very long sentence with hardly any commas: MT often strings clauses together without breaks."""

    code = "run-on"
    severity: Severity = "minor"
    # thresholds (data/rules/thresholds.json) chosen on MQM dev: 60+ words and < 0.08 breaks per word fires on
    # 66 dev segments with precision 0.27 (base rate 0.11) and on none judged clean (scripts/rule_precision.py)
    version = "2"
    message = "Very long sentence with few commas; it may be several sentences run together"
    _breaks = re.compile(r"[,;:(\u2014\u2013]|\s-\s")

    def find(self, ctx: SentenceContext) -> list[Finding]:
        n_words = sum(1 for _ in _WORD_RE.finditer(ctx.text, ctx.start, ctx.end))
        if n_words < RUN_ON_MIN_WORDS:
            return []
        n_breaks = sum(1 for _ in self._breaks.finditer(ctx.text, ctx.start, ctx.end))
        if n_breaks / n_words >= RUN_ON_MAX_BREAKS_PER_WORD:
            return []
        s, e = ctx.start, ctx.end
        while s < e and ctx.text[s].isspace():
            s += 1
        while e > s and ctx.text[e - 1].isspace():
            e -= 1
        return [self._at(s, e, f"Very long sentence ({n_words} words, {n_breaks} commas or other breaks)")]


# UTF-8 read as Windows-1252 turns one accented letter into two characters: a lead (Ã Â Ä Å Ð Ñ) and
# a symbol from the C1/Latin-1 range or one of the characters cp1252 puts there.
_CP1252_TAIL = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018\u2019"
    "\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)


class Mojibake(SentenceRule):
    """Encoding damage: 'Ã©' for 'é', 'â€™' for '’', 'Â ' before a space, literal '\\u00e9', U+FFFD."""

    code = "mojibake"
    severity: Severity = "major"
    message = "Garbled characters from a text-encoding error"
    _re = re.compile(
        "(?:"
        rf"\u00e2\u20ac[{_CP1252_TAIL}]?"  # â€™ â€œ â€” (the third byte is sometimes lost)
        rf"|[\u00c3\u00c2\u00c4\u00c5\u00d0\u00d1][{_CP1252_TAIL}]"  # Ã© Ã¨ Â° Ð¿
        r"|\u00c2(?=[\s!-/:-@\[-`{-~]|$)"  # Â before a space or ASCII punctuation
        r"|\u00ef\u00bb\u00bf"  # a byte-order mark read as cp1252
        r"|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}"  # escapes printed literally
        r"|\ufffd"  # the replacement character
        ")+"
    )

    def find(self, ctx: SentenceContext) -> list[Finding]:
        return [self._at(m.start(), m.end()) for m in self._re.finditer(ctx.text, ctx.start, ctx.end)]


class StrayEntity(SentenceRule):
    """An HTML entity printed literally ('&amp;', '&nbsp;', '&#8217;'): scraping damage."""

    code = "stray-entity"
    severity: Severity = "minor"
    message = "HTML entity left in the text"
    _re = re.compile(
        r"&(?:#[0-9]{2,7};|#[xX][0-9a-fA-F]{2,6};"
        r"|(?:amp|nbsp|quot|apos|lt|gt|rsquo|lsquo|rdquo|ldquo|ndash|mdash|hellip|eacute|copy|reg|trade"
        r"|middot|bull|laquo|raquo|deg|euro|pound|yen);"
        r"|(?:amp|nbsp|quot)(?![A-Za-z0-9;]))"
    )

    def find(self, ctx: SentenceContext) -> list[Finding]:
        return [self._at(m.start(), m.end()) for m in self._re.finditer(ctx.text, ctx.start, ctx.end)]


class GluedWords(SentenceRule):
    """Two words with the space lost: 'theGovernment', 'saidMonday', 'ChinaThe'.

    Only tokens starting with two or more lowercase letters are inspected, plus a capitalised word glued
    to a sentence-starting word; camel-case brands (YouTube, JinkoSolar) start in uppercase and iPhone-like
    ones with a single lowercase letter. Allowlisted names, Mc/Mac names, URLs and handles are skipped.
    """

    code = "glued-words"
    severity: Severity = "minor"
    message = "Two words run together without a space"
    _token = re.compile(r"\S+")
    _lower_glue = re.compile(r"(?<![A-Za-z])[a-z]{2,}[A-Z][a-z]+")
    _upper_glue = re.compile(
        r"(?<![A-Za-z])[A-Z][a-z]+(?:The|This|These|Those|They|Their|There|However)(?![a-z])"
    )
    _edge = "\"'\u201c\u201d\u2018\u2019()[]{},.;:!?\u2026"
    _join = re.compile(r"[a-z][A-Z]")  # both patterns need this; most sentences have none
    _code = re.compile(r"[@#/_:\\=&%\d]|\w\.\w")
    _possessive = re.compile(r"['\u2019]s$")

    def find(self, ctx: SentenceContext) -> list[Finding]:
        if not self._join.search(ctx.text, ctx.start, ctx.end):
            return []
        found = []
        for t in self._token.finditer(ctx.text, ctx.start, ctx.end):
            raw = t.group()
            core = raw.strip(self._edge)
            if not core or not self._join.search(core) or self._code.search(core):
                continue  # no join, or URLs, handles, file names, codes
            offset = t.start() + raw.find(core)
            stem = self._possessive.sub("", core)
            if stem.lower() in GLUED_WORDS_ALLOW or stem.startswith(("Mc", "Mac")):
                continue
            m = self._lower_glue.search(core) or self._upper_glue.search(core)
            if m is None:
                continue
            # the whole alphabetic run holding the join, e.g. 'theGovernment' in 'theGovernment's'
            s, e = m.start(), m.end()
            while e < len(core) and core[e].isalpha():
                e += 1
            found.append(self._at(offset + s, offset + e))
        return found


class AddresseeLeak(SentenceRule):
    """'your country', 'you all' in reporting outside quotes: MT of a letter or speech kept its
    second person. Inside quotation marks such phrases are normal."""

    code = "addressee-leak"
    severity: Severity = "major"
    message = "Second-person phrase outside quotes: the report addresses someone it should only quote"
    _re = re.compile(rf"(?<![\w-])(?:{_alternation(ADDRESSEE_PHRASES)})(?![\w-])", re.IGNORECASE)

    def find(self, ctx: SentenceContext) -> list[Finding]:
        flags: list[bool] | None = None
        found = []
        for m in self._re.finditer(ctx.text, ctx.start, ctx.end):
            flags = flags if flags is not None else ctx.quote_flags()
            if not flags[m.start() - ctx.start]:
                found.append(self._at(m.start(), m.end()))
        return found


_CALQUE_BY_PHRASE = {_normalise_phrase(c.phrase): c for c in CALQUES}
_CALQUE_JOINER = rf"[\s{_QUOTE_CHARS}]+"  # tolerate quotes between words: 'to "hand in hand"'
_CALQUE_RE = re.compile(
    rf"(?<![\w-])(?:{_alternation([c.phrase for c in CALQUES], joiner=_CALQUE_JOINER)})(?![\w-])",
    re.IGNORECASE,
)


class CalqueRule(SentenceRule):
    """Literal translations typical of Chinese-to-English news ('further deepen', 'the broad masses'),
    listed with a fluent alternative and a source in ``calques.tsv``."""

    code = "calque"
    severity: Severity = "minor"
    message = "Literal translation (calque) that reads unnaturally in English"

    def find(self, ctx: SentenceContext) -> list[Finding]:
        found = []
        for m in _CALQUE_RE.finditer(ctx.text, ctx.start, ctx.end):
            row = _CALQUE_BY_PHRASE.get(_normalise_phrase(m.group()))
            hint = f" (consider: {row.suggestion})" if row else ""
            found.append(self._at(m.start(), m.end(), f"Literal translation '{m.group()}'{hint}"))
        return found


# --------------------------------------------------------------------------------------- article rules

_NAME_TOKEN = re.compile(r"(?<![\w-])[A-Z][a-z]+(?:-[A-Za-z][a-z]*)*(?![\w-])")


def _name_runs(text: str, start: int, end: int) -> list[list[str]]:
    """Runs of capitalised words joined by single spaces ('President Xi Jinping', 'Kim Jong-un')."""
    runs: list[list[str]] = []
    last_end = -1
    for m in _NAME_TOKEN.finditer(text, start, end):
        if runs and m.start() == last_end + 1 and text[last_end] == " ":
            runs[-1].append(m.group())
        else:
            runs.append([m.group()])
        last_end = m.end()
    return [r for r in runs if len(r) >= 2]


def _name_key(surface: str) -> str:
    return re.sub(r"[\s-]", "", surface).lower()


def _one_edit_apart(a: str, b: str) -> bool:
    """True when b is a with exactly one letter inserted, deleted or replaced."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i + 1 :] if len(a) == len(b) else a[i:] == b[i + 1 :]


_FINAL_N_OR_S = re.compile(r"[ns]\b")


def _demonym_or_plural_variant(a: str, b: str) -> bool:
    """'South Korean President' vs 'South Korea President': a final -n or -s, not a misspelling."""
    return _FINAL_N_OR_S.sub("", a.lower()) == _FINAL_N_OR_S.sub("", b.lower())


class InconsistentName(ArticleRule):
    """One name spelled two ways ('Kim Jong-un' and 'Kim Jong Un'): hyphens, spaces and case removed,
    multi-word capitalised names that then agree but were written differently are reported.

    Endings of capitalised runs ('Xi Jinping' of 'President Xi Jinping') of NEAR_NAME_MIN_CHARS+
    letters that differ by one letter are reported too ('Viengsavanh Phommachanh' and 'Vieng Savanh
    Phommachan'), unless the difference is a final -n or -s ('Korea'/'Korean'). Title-case headlines
    capitalise after hyphens ('Kim Jong-Un'), so a title form that differs from a body form only in
    case is not counted.
    """

    code = "inconsistent-name"
    severity: Severity = "minor"
    message = "The same name is spelled in different ways"
    #: near-identical spellings are compared only for names at least this long (letters, no spaces)
    NEAR_NAME_MIN_CHARS = 14

    def find(
        self, text: str, title: tuple[int, int] | None, sentences: list[tuple[int, int]]
    ) -> list[ArticleFinding]:
        forms: dict[str, list[str]] = {}  # key -> surfaces in order of first appearance
        run_ends: dict[str, str] = {}  # key -> first surface of each run ending of 2+ words
        body_lower: set[str] = set()
        # body first, so a title form can be compared with every body form
        spans = [(s, e, False) for s, e in sentences] + ([(title[0], title[1], True)] if title else [])
        for s, e, is_title in spans:
            for run in _name_runs(text, s, e):
                for i in range(len(run) - 1):
                    run_ends.setdefault(_name_key(" ".join(run[i:])), " ".join(run[i:]))
                for i in range(len(run)):
                    for j in range(i + 2, len(run) + 1):
                        surface = " ".join(run[i:j])
                        if is_title and surface.lower() in body_lower:
                            continue
                        if not is_title:
                            body_lower.add(surface.lower())
                        seen = forms.setdefault(_name_key(surface), [])
                        if surface not in seen:
                            seen.append(surface)
        # shortest names first; 'President Kim Jong Un' is not reported again after 'Kim Jong Un'
        found: list[ArticleFinding] = []
        reported: list[str] = []
        for key in sorted(forms, key=len):
            surfaces = forms[key]
            if len(surfaces) < 2 or any(r in key for r in reported):
                continue
            reported.append(key)
            found.append(self._finding(surfaces))
        long_runs = [(k, v) for k, v in run_ends.items() if len(k) >= self.NEAR_NAME_MIN_CHARS]
        for n, (key_a, form_a) in enumerate(long_runs):
            for key_b, form_b in long_runs[n + 1 :]:
                if (
                    _one_edit_apart(key_a, key_b)
                    and not _demonym_or_plural_variant(form_a, form_b)
                    and not any(r in key_a or r in key_b for r in reported)
                ):
                    reported += [key_a, key_b]
                    found.append(self._finding([form_a, form_b]))
        return found

    def _finding(self, surfaces: list[str]) -> ArticleFinding:
        listed = " and ".join(f"'{f}'" for f in surfaces)
        return ArticleFinding(self.code, f"Name spelled in different ways: {listed}", self.severity)


class HeadlineDamage(ArticleRule):
    """A title that is not a well-formed headline: a non-verb used as a verb ('vows to "hand in hand"
    with Putin'), a fused sentence, untranslated script, or a dangling last word ('... talks with the').

    Conservative on purpose: headline grammar is loose, so only clear breakage counts.
    """

    code = "headline-damage"
    severity: Severity = "major"
    message = "The headline is malformed"
    # calques.tsv rows starting 'to '/'will ' are non-verbs used as verbs ('to hand in hand')
    _verb_calques = frozenset(
        _normalise_phrase(c.phrase) for c in CALQUES if c.phrase.lower().startswith(("to ", "will "))
    )
    # adverbial doublets used as verbs: 'to "shoulder to shoulder"', 'will side by side'
    _doublet_as_verb = re.compile(
        rf"\b(?:to|will|would|should|must|shall|can|could)\s+[{_QUOTE_CHARS}]?(?!(?:back|face)\b)([a-z]+)\s+"
        rf"(?:in|by|to)\s+\1\b[{_QUOTE_CHARS}]?",
        re.IGNORECASE,
    )
    _tail = re.compile(rf"[\s.!?,;:{_QUOTE_CHARS})\]]+$")
    #: a headline cannot end with an article, a conjunction or a possessive determiner
    _dangling = frozenset({"the", "and", "or", "but", "nor", "its", "their", "our", "my", "your"})

    def find(
        self, text: str, title: tuple[int, int] | None, sentences: list[tuple[int, int]]
    ) -> list[ArticleFinding]:
        if title is None:
            return []
        s, e = title
        headline = text[s:e]
        ctx = SentenceContext(text, s, e)
        reasons: list[str] = []
        calques = _CALQUE_RE.finditer(text, s, e)
        misused = [m for m in calques if _normalise_phrase(m.group()) in self._verb_calques]
        misused += list(self._doublet_as_verb.finditer(headline))
        if misused:
            reasons.append(f"non-verb used as a verb ({misused[0].group()})")
        reasons += [f"sentences run together at '{text[f.start:f.end]}'" for f in _FUSED.find(ctx)]
        reasons += [f"untranslated text '{text[f.start:f.end]}'" for f in _UNTRANSLATED.find(ctx)]
        words = self._tail.sub("", headline).split()
        last = words[-1] if words else ""
        if last.lower() in self._dangling or last in ("a", "an"):  # 'Vitamin A' is fine
            reasons.append(f"ends with '{last}'")
        if not reasons:
            return []
        return [ArticleFinding(self.code, f"Malformed headline: {'; '.join(reasons)}", self.severity)]


_FUSED = FusedSentence()
_UNTRANSLATED = Untranslated()

# ------------------------------------------------------------------------------------------ registries

SENTENCE_RULES: list[SentenceRule] = [
    _FUSED,
    RepeatedPhrase(),
    RepetitionLoop(),
    DoubledWord(),
    LowercaseStart(),
    UnbalancedQuotes(),
    UnbalancedBrackets(),
    _UNTRANSLATED,
    RunOn(),
    Mojibake(),
    StrayEntity(),
    GluedWords(),
    AddresseeLeak(),
    CalqueRule(),
]

ARTICLE_RULES: list[ArticleRule] = [InconsistentName(), HeadlineDamage()]


def apply_sentence_rules(
    text: str, spans: list[tuple[int, int]], paragraph_of: list[tuple[int, int]] | None = None
) -> list[list[Finding]]:
    """Findings for each sentence span, in span order; ``paragraph_of[i]`` is sentence i's paragraph.

    Without ``paragraph_of`` (or when it does not contain the sentence) the paragraph is the line.
    """
    if paragraph_of is not None and len(paragraph_of) != len(spans):
        raise ValueError("paragraph_of must give one paragraph per sentence span")
    out: list[list[Finding]] = []
    for k, (start, end) in enumerate(spans):
        ps, pe = paragraph_of[k] if paragraph_of is not None else (start, end)
        if paragraph_of is None or not ps <= start <= end <= pe:
            ps, pe = _line_around(text, start, end)
        mask = _scan_quotes(text, ps, pe)[0]
        ctx = SentenceContext(text, start, end, list(mask[start - ps : end - ps]), (ps, pe))
        found = [f for rule in SENTENCE_RULES for f in rule.find(ctx)]
        out.append(sorted(found, key=lambda f: (f.start, f.end, f.code)))
    return out


def apply_article_rules(
    text: str, title: tuple[int, int] | None, spans: list[tuple[int, int]]
) -> list[ArticleFinding]:
    """Findings of every article rule for one article (title span may be None)."""
    return [f for rule in ARTICLE_RULES for f in rule.find(text, title, spans)]


@lru_cache(maxsize=1)
def _data_hash() -> str:
    """sha1 (8 hex digits) over the rule data files, so a changed word list changes the signature."""
    h = hashlib.sha1()
    for entry in sorted((files("mtqa.data") / "rules").iterdir(), key=lambda p: p.name):
        if entry.is_file():
            h.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return h.hexdigest()[:8]


def rules_signature() -> str:
    """'rules:fused-sentence@1,...|data:<sha1-8>': which rules and data produced a set of findings."""
    codes = ",".join(f"{r.code}@{r.version}" for r in [*SENTENCE_RULES, *ARTICLE_RULES])
    return f"rules:{codes}|data:{_data_hash()}"
