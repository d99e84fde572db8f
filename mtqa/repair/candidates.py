"""The candidate repairs of findings, and their ranking by the language model.

:func:`plan` writes the candidate repairs of an article's findings from its text (one maker per finding code,
:data:`MAKERS`), each with the sentence the language model compares them on. The pipeline scores every candidate
like a sentence, with the same scorer, context, batches and cache (:meth:`mtqa.pipeline.Pipeline.repair_step`),
and :func:`attach` ranks them by the gain in log-probability of the repaired sentence over the sentence as it
stands. Thresholds, word lists and the codes ``mtqa fix`` applies: ``data/repair.json``.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version as package_version

from mtqa import datafiles, rules
from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment, Suggestion

#: Bumped whenever the candidates or their ranking would change.
REPAIR_VERSION = "1"
_DATA = "repair.json"


@cache
def _data() -> dict:
    return json.loads(datafiles.read_text(_DATA))


def signature() -> str:
    """Candidates depend on this module, its data file and ftfy (mojibake), so they join the run signature."""
    return f"repair:{REPAIR_VERSION}|data:{datafiles.digest([_DATA])}|ftfy:{package_version('ftfy')}"


def fix_codes() -> frozenset[str]:
    """The finding codes whose suggestions ``mtqa fix`` applies."""
    return frozenset(_data()["fix_codes"])


# ------------------------------------------------------------------------------------------------ candidates

Candidate = tuple[int, int, str]  # (start, end, replacement) on the article text

_WORD = re.compile(r"[^\W_]+(?:['\u2019.\-][^\W_]+)*")  # as the repetition rules count words


def _words(text: str, seg: Segment) -> list[re.Match[str]]:
    return list(_WORD.finditer(text, seg.start, seg.end))


def _word_at(words: list[re.Match[str]], offset: int) -> int | None:
    return next((k for k, m in enumerate(words) if m.start() == offset), None)


_CLAUSE_BREAK = re.compile(r"[,;:(\"\u201c\u2014\u2013]")


def _introductory(text: str, seg: Segment, at: int) -> bool:
    """The clause that runs up to ``at`` opens with a subordinator or an infinitive ('in order to safeguard ...',
    'when the talks ended ...'): the main clause after it follows a comma, not a full stop."""
    start = max([seg.start, *(m.end() for m in _CLAUSE_BREAK.finditer(text, seg.start, at))])
    clause = " ".join(text[start:at].lower().split())
    return any(clause.startswith(opener + " ") for opener in _data()["introductory_clause_openers"])


def _fused(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """'development The' -> 'development. The' (a lost full stop) or 'development the' (a capital too many); after
    an introductory clause also 'development, the' ('in order to safeguard its rights and development, the people
    ...')."""
    m = re.fullmatch(r"(.*\S)\s+(\S+)", text[f.start : f.end], re.DOTALL)
    if m is None:
        return []
    left, word = m.groups()
    joins = [(". ", word), (" ", word.lower())] if _may_end(left) else [(" ", word.lower())]
    if _introductory(text, seg, f.start):
        joins.insert(1, (", ", word.lower()))
    return [(f.start, f.end, f"{left}{sep}{w}") for sep, w in joins]


def _may_end(left: str) -> bool:
    """A sentence may end with the last word of ``left`` (not with 'the', 'of', 'that' ...)."""
    words = re.findall(r"[^\W\d_]+", left.lower())
    return not words or words[-1] not in _data()["not_sentence_end"]


_STARTERS = sorted((w for w in rules.FUNCTION_WORDS if w[0].isupper() and w[1:].islower()), key=len, reverse=True)
_GLUE_PUNCT = re.compile(r"[\"\u201d\u2019)]*[.!?]+[\"\u201d\u2019)]*(,?)(?=[A-Z])")  # Seoul.The, cases).,The
_GLUE_ACRONYM = re.compile(r"[A-Z]{3,}(?=[A-Z][a-z])")  # JTBC|Schlager, MBC|Fri
_GLUE_STARTER = re.compile(rf"(?<=[A-Za-z0-9])(?=(?:{'|'.join(_STARTERS)})(?![a-z]))")  # China|The, 10|The
_GLUE_CASE = re.compile(r"(?<=[a-z]{2})(?=[A-Z][a-z])")  # the|Government, said|In


def _glued(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """A space where the glue is; where a sentence may have ended there, a full stop too, and a function word in
    lower case ('saidIn particular' -> 'said. In particular' / 'said In particular' / 'said in particular'). The
    case of other words is left as written: 'formulateShenzhen' is 'formulate Shenzhen'. When the
    segmenter already split the glue ('Seoul.' | 'The problem', 'climb.' | '"It is'), the finding ends the
    sentence and the space goes where the segmenter put the boundary."""
    glued = text[f.start : f.end]
    if f.end == seg.end and f.end < len(text) and not text[f.end].isspace():
        return [(f.start, f.end, glued + " ")]
    out: list[str] = []
    if m := _GLUE_PUNCT.search(glued):
        out.append(f"{glued[: m.end()]} {glued[m.end() :]}")
        if m.group(1):  # 'cases).,The': the comma is a stray
            out.append(f"{glued[: m.start(1)]} {glued[m.end() :]}")
    elif m := _GLUE_ACRONYM.search(glued):
        out.append(f"{glued[: m.end()]} {glued[m.end() :]}")
    elif m := (_GLUE_STARTER.search(glued) or _GLUE_CASE.search(glued)):
        left, right = glued[: m.start()], glued[m.start() :]
        out.append(f"{left} {right}")
        if _may_end(left):
            out.append(f"{left}. {right}")
        if re.match(r"[^\W\d_]+", right).group().lower() in rules.STOPWORDS:  # 'saidIn' -> 'said in'
            out.append(f"{left} {right[0].lower()}{right[1:]}")
    return [(f.start, f.end, r) for r in out]


def _doubled(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """'the the' -> 'the', 'capacity, capacity' -> 'capacity', 'unswervingly and unswervingly' -> 'unswervingly'."""
    m = re.match(r"[^\W\d_]+", text[f.start : f.end])
    return [(f.start, f.end, m.group())] if m else []


def _repeated(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """Drop one copy of a phrase repeated back to back ('flood control and rescue, flood control and rescue
    work'), with what separates the copies. Copies further apart than ``repeated_phrase_max_gap_words`` get
    no suggestion: dropping either rarely leaves a sentence."""
    words = _words(text, seg)
    i = _word_at(words, f.start)
    if i is None:
        return []
    n = sum(1 for m in words[i:] if m.end() <= f.end)
    keys = [m.group().lower() for m in words]
    firsts = [j for j in range(i - n + 1) if keys[j : j + n] == keys[i : i + n]]
    if not firsts or i - (firsts[-1] + n) > int(_data()["repeated_phrase_max_gap_words"]):
        return []
    j = firsts[-1]
    return [(words[j + n - 1].end(), f.end, ""), (words[j].start(), words[i].start(), "")]


def _loop(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """Keep the first occurrence of a looping phrase. The copies repeat with a period (the words from one copy to
    the next, separators included); the loop is aligned to where its first copy really starts ('the Islamic
    Republic has faced, Islamic Republic has faced, ...' loops on 'Islamic Republic has faced', though the rule
    may report it from 'Republic'), and everything after the first copy that repeats it, the last copy possibly
    cut short, is dropped with the separator before it; also without the connectives ('and', 'the') that end the
    first copy."""
    words = _words(text, seg)
    keys = [m.group().lower() for m in words]
    i = _word_at(words, f.start)
    n = rules.REPEATED_PHRASE_MIN_WORDS
    j = next((j for j in range(i - n, -1, -1) if keys[j : j + n] == keys[i : i + n]), None) if i else None
    if j is None:
        return []
    period = i - j
    while j > 0 and keys[j - 1] == keys[j - 1 + period]:
        j -= 1
    end = j + period
    while end < len(keys) and keys[end] == keys[end - period]:
        end += 1
    last = j + period - 1  # the first copy's last word
    out = [(words[last].end(), words[end - 1].end(), "")]
    k = last
    while k > j and keys[k] in rules.STOPWORDS:
        k -= 1
    if k < last:
        out.append((words[k].end(), words[end - 1].end(), ""))
    return out


@cache
def _ftfy_config():
    from ftfy import TextFixerConfig

    return TextFixerConfig(
        unescape_html=False,
        remove_terminal_escapes=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        fix_line_breaks=False,
        fix_surrogates=False,
        remove_control_chars=False,
        normalization=None,
        explain=False,
    )


def _ftfy(s: str) -> str:
    """ftfy's encoding repair only: curly quotes, widths, ligatures and line breaks stay as written."""
    from ftfy import fix_text

    return fix_text(s, _ftfy_config())


_ESCAPE = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})+")


def _unescape(s: str) -> str:
    """Literal '\\u00e9' escapes as the characters they name (surrogate pairs joined)."""

    def one(m: re.Match[str]) -> str:
        decoded = codecs.decode(m.group(), "unicode_escape")
        return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    return _ESCAPE.sub(one, s)


def _around_space(text: str, start: int, end: int, replacement: str) -> Candidate:
    """A replacement that is only white space, beside white space, deletes instead of doubling the space."""
    if replacement.strip() == "" and (
        (start > 0 and text[start - 1].isspace()) or (end < len(text) and text[end].isspace())
    ):
        return (start, end, "")
    return (start, end, replacement)


def _mojibake(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """The decoded text: ftfy for UTF-8 read as cp1252 or latin-1, literal escapes decoded; a lone 'Â' (the
    first byte of a no-break space) deleted; U+FFFD is lost for good and gets no suggestion."""
    span = text[f.start : f.end]
    fixed = _ftfy(_unescape(span)).replace("\xa0", " ").replace("\ufeff", "")
    if fixed == span:
        if set(span) == {"\u00c2"}:
            fixed = ""
        elif span in _data()["lost_third_byte"]:
            return [(f.start, f.end, c) for c in _data()["lost_third_byte"][span]]
    if fixed == span or "\ufffd" in fixed or _ftfy(fixed) != fixed:
        return []
    return [_around_space(text, f.start, f.end, fixed)]


def _entity(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """'&amp;' -> '&', '&#8217;' -> '’', '&nbsp;' -> a space (nothing beside another space)."""
    span = text[f.start : f.end]
    decoded = html.unescape(span).replace("\xa0", " ")
    return [] if decoded == span else [_around_space(text, f.start, f.end, decoded)]


def _calque_key(s: str) -> str:
    return " ".join(re.sub("[\"'\u201c\u201d\u2018\u2019]", " ", s).lower().split())


_CALQUES = {_calque_key(c.phrase): c for c in rules.CALQUES}


def _calque(text: str, f: Finding, seg: Segment) -> list[Candidate]:
    """The fluent alternatives listed for the calque (``calques.tsv``), capitalised like the phrase."""
    span = text[f.start : f.end]
    row = _CALQUES.get(_calque_key(span))
    if row is None:
        return []
    out = []
    for alt in (a.strip() for a in row.suggestion.split(" / ")):
        if span[:1].isupper() and alt[:1].islower():
            alt = alt[0].upper() + alt[1:]
        out.append((f.start, f.end, alt))
    return out


MAKERS: dict[str, Callable[[str, Finding, Segment], list[Candidate]]] = {
    "fused-sentence": _fused,
    "glued-words": _glued,
    "doubled-word": _doubled,
    "repeated-phrase": _repeated,
    "repetition-loop": _loop,
    "mojibake": _mojibake,
    "stray-entity": _entity,
    "calque": _calque,
}
NAME_CODE = "inconsistent-name"


def _name_places(result: ArticleResult, finding: ArticleFinding) -> list[tuple[Segment, Candidate]]:
    """Every occurrence of a minority spelling (in the title or a body sentence), with the majority spelling:
    the spelling used most often, the first one used on a tie. The spellings are those the rule names."""
    text = result.text
    spellings = re.findall(r"'([^']+)'", finding.message)  # names are capitalised words: no apostrophes
    segs = [s for s in result.segments if s.kind in ("title", "body")]
    found: dict[str, list[tuple[Segment, int, int]]] = {}
    for name in dict.fromkeys(spellings):
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
        found[name] = [(s, m.start(), m.end()) for s in segs for m in pattern.finditer(text, s.start, s.end)]
    found = {k: v for k, v in found.items() if v}
    if len(found) < 2:
        return []
    majority = max(found, key=lambda k: (len(found[k]), -min(a for _, a, _ in found[k])))
    places = [(s, (a, b, majority)) for name, occ in found.items() if name != majority for s, a, b in occ]
    return sorted(places, key=lambda p: p[1][0])


# ----------------------------------------------------------------------------------------------- the plan


@dataclass
class Job:
    """The candidate repairs of one finding (for an article finding: of one place), and the sentence the language
    model compares them on (``unit``), with the context that sentence is scored after. A repair that only adds
    the space a segmenter already implied ('Seoul.|The') leaves every sentence as the model reads it: gain 0."""

    finding: Finding | ArticleFinding
    unit: tuple[int, int]
    context: str
    candidates: list[Candidate] = field(default_factory=list)

    def texts(self, text: str) -> list[str]:
        """The unit as it stands, then repaired by each candidate."""
        a, b = self.unit
        return [text[a:b], *(text[a:s] + r + text[e:b] for s, e, r in self.candidates)]


def plan(result: ArticleResult, contexts: dict[int, str]) -> list[Job]:
    """The candidate repairs of every finding of ``result`` that has a mechanical fix; ``contexts[i]`` is the
    text segment ``i`` is scored after (the sentence before it)."""
    text = result.text
    jobs: list[Job] = []
    for seg in result.segments:
        if seg.kind == "boilerplate":
            continue
        for f in seg.findings:
            maker = MAKERS.get(f.code)
            if maker is None:
                continue
            cands = [c for c in maker(text, f, seg) if seg.start <= c[0] <= c[1] <= seg.end]
            if not cands:
                continue
            job = Job(f, (seg.start, seg.end), contexts.get(seg.index, ""))
            seen = {job.texts(text)[0]}
            for c in cands:  # one candidate per distinct repaired text, none that changes nothing
                job.candidates.append(c)
                repaired = job.texts(text)[-1]
                if repaired in seen:
                    job.candidates.pop()
                seen.add(repaired)
            if job.candidates:
                jobs.append(job)
    for af in result.article_findings:
        if af.code == NAME_CODE:
            for seg, cand in _name_places(result, af):
                jobs.append(Job(af, (seg.start, seg.end), contexts.get(seg.index, ""), [cand]))
    return jobs


def attach(jobs: Sequence[Job], logprobs: Sequence[float | None]) -> int:
    """Give each finding its suggestions, from the summed log-probabilities of every job's :meth:`Job.texts`
    (flattened, in order): a sentence finding's candidates best first (ties keep the order they were written
    in), an article finding's places in text order. Returns how many suggestions were attached."""
    it = iter(logprobs)
    n = 0
    for job in jobs:
        original = next(it)
        made = []
        for s, e, r in job.candidates:
            lp = next(it)
            gain = None if lp is None or original is None else round(lp - original, 4)
            made.append(Suggestion(s, e, r, gain))
        n += len(made)
        if isinstance(job.finding, ArticleFinding):
            job.finding.suggestions = sorted([*job.finding.suggestions, *made], key=lambda x: (x.start, x.end))
        else:
            job.finding.suggestions = sorted(made, key=lambda x: -x.score if x.score is not None else 0.0)
    return n
