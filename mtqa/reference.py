"""Reference-based checks: compare a translated article with a trusted English version of the same story.

Syndicated stories often also exist in English from a trusted hand (the wire original, a human translation).
When an article comes with such a ``reference``, both texts are split into sentences the same way
(:func:`mtqa.segment.segment_article`), the body sentences are aligned monotonically by sentence chrF (a
dynamic programme allowing 1-1, 1-0, 0-1, 1-2 and 2-1 steps, as in Gale & Church or bleualign), and sacrebleu
scores every aligned pair (chrF, chrF++, TER) and the article (BLEU, chrF, chrF++, TER over the aligned pairs).
An MT sentence with no counterpart is a possible addition (a finding spanning it); a reference sentence with
no counterpart is a possible omission (an article finding: it has no span in the MT text).

The thresholds live in ``data/reference.json``; ``scripts/tune_reference.py`` chose them on MQM dev.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mtqa import codes, datafiles, langid
from mtqa.segment import segment_article
from mtqa.text import truncate
from mtqa.types import Article, ArticleFinding, Finding, Segment

if TYPE_CHECKING:  # sacrebleu (with tabulate and portalocker) is imported when a reference is compared
    from sacrebleu.metrics import BLEU, CHRF, TER

REFERENCE_VERSION = 1
ADDITION = "reference-addition"
OMISSION = "reference-omission"
NOT_ENGLISH = "reference-not-english"
MISMATCH = "reference-mismatch"
_QUOTE_CHARS = 160  # an omitted reference sentence is quoted in its finding up to this length
_DATA = "reference.json"

# (MT sentences, reference sentences) a step of the alignment consumes; order breaks ties.
MOVES: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (2, 1), (1, 0), (0, 1))


# --------------------------------------------------------------------------- settings and metrics


@dataclass(frozen=True)
class AlignSettings:
    """How sentences are aligned (``data/reference.json``)."""

    min_chrf: float  # a pair below this alignment chrF is never aligned; above it, it earns chrF - min_chrf
    merge_penalty: float  # subtracted from a 1-2 or 2-1 step, so merging needs clear evidence
    band: int  # steps stay within this many sentences of the proportional diagonal (keeps long articles cheap)
    beta: float = 1.0  # chrF's beta for alignment: 1 weighs precision like recall, so a merge must cover both
    min_aligned_share: float = 0.5  # fewer MT sentences aligned than this share: the wrong reference, one finding


def _data_bytes() -> bytes:
    return datafiles.read_bytes(_DATA)


@lru_cache(maxsize=1)
def settings() -> AlignSettings:
    raw = json.loads(_data_bytes())
    return AlignSettings(
        float(raw["min_chrf"]),
        float(raw["merge_penalty"]),
        int(raw["band"]),
        float(raw["beta"]),
        float(raw["min_aligned_share"]),
    )


def signature() -> str:
    """Goes into the run signature: the method version, the data file and sacrebleu's version."""
    from importlib.metadata import version

    from mtqa import datafiles

    return f"reference:{REFERENCE_VERSION}|data:{datafiles.digest([_DATA])}|sacrebleu:{version('sacrebleu')}"


@dataclass(frozen=True)
class Metrics:
    """sacrebleu's metric objects, made once per process and reused (sacrebleu's recommended use)."""

    bleu: BLEU
    chrf: CHRF
    chrfpp: CHRF
    ter: TER
    align: CHRF  # chrF with the alignment's beta: only for choosing pairs, never reported


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    from sacrebleu.metrics import BLEU, CHRF, TER

    return Metrics(BLEU(), CHRF(), CHRF(word_order=2), TER(), CHRF(beta=settings().beta))


def sentence_chrf(hyp: str, ref: str) -> float:
    """sacrebleu's sentence chrF (the standard chrF2) of ``hyp`` against one reference (0..100)."""
    return metrics().chrf.sentence_score(hyp, [ref]).score


def alignment_chrf(hyp: str, ref: str) -> float:
    """The similarity the alignment maximises: sentence chrF with ``data/reference.json``'s beta."""
    return metrics().align.sentence_score(hyp, [ref]).score


def pair_figures(hyp: str, ref: str) -> dict[str, float]:
    """Sentence chrF, chrF++ and TER of one aligned pair, rounded as sacrebleu's CLI prints with ``-w 4``."""
    m = metrics()
    return {
        "chrf": round(m.chrf.sentence_score(hyp, [ref]).score, 4),
        "chrfpp": round(m.chrfpp.sentence_score(hyp, [ref]).score, 4),
        "ter": round(m.ter.sentence_score(hyp, [ref]).score, 4),
    }


def corpus_figures(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, Any]:
    """Corpus BLEU, chrF, chrF++ and TER over aligned pairs, with each metric's sacrebleu signature."""
    m = metrics()
    out: dict[str, Any] = {}
    signatures = {}
    for name, metric in (("bleu", m.bleu), ("chrf", m.chrf), ("chrfpp", m.chrfpp), ("ter", m.ter)):
        out[name] = round(metric.corpus_score(list(hyps), [list(refs)]).score, 4)
        signatures[name] = str(metric.get_signature())  # known only once the metric has scored something
    out["signatures"] = signatures
    return out


# --------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class Bead:
    """One step of an alignment: MT sentence positions aligned with reference sentence positions.

    One side empty: an unaligned sentence. ``chrf`` is the pair's sentence chrF (None when unaligned)."""

    mt: tuple[int, ...]
    ref: tuple[int, ...]
    chrf: float | None = None

    @property
    def aligned(self) -> bool:
        return bool(self.mt and self.ref)


def _in_band(i: int, j: int, m: int, n: int, band: int) -> bool:
    """Is cell (i, j) within ``band`` sentences (of the longer side) of the line from (0, 0) to (m, n)?"""
    return abs(i * n - j * m) <= band * max(m, n)


def align(m: int, n: int, similarity: Callable[[range, range], float], cfg: AlignSettings | None = None) -> list[Bead]:
    """The best monotonic alignment of ``m`` MT sentences with ``n`` reference sentences.

    ``similarity(mt_range, ref_range)`` scores the joined sentences (:func:`alignment_chrf` in practice). An
    aligned step earns ``similarity - min_chrf``, less ``merge_penalty`` for 1-2 and 2-1; leaving a sentence
    unaligned earns 0. So a pair is aligned only above ``min_chrf``, and a merge only when the merged pair
    beats the 1-1 pair plus a gap by the penalty."""
    cfg = cfg or settings()
    sims: dict[tuple[int, int, int, int], float] = {}

    def sim(i0: int, i1: int, j0: int, j1: int) -> float:
        key = (i0, i1, j0, j1)
        if key not in sims:
            sims[key] = similarity(range(i0, i1), range(j0, j1))
        return sims[key]

    best: dict[tuple[int, int], tuple[float, tuple[int, int]]] = {(0, 0): (0.0, (0, 0))}
    for i in range(m + 1):
        for j in range(n + 1):
            if (i, j) == (0, 0) or not _in_band(i, j, m, n, cfg.band):
                continue
            options = []
            for rank, (a, b) in enumerate(MOVES):
                prev = best.get((i - a, j - b))
                if prev is None:
                    continue
                gain = 0.0
                if a and b:
                    gain = sim(i - a, i, j - b, j) - cfg.min_chrf - (cfg.merge_penalty if a + b > 2 else 0.0)
                options.append((prev[0] + gain, -rank, (a, b)))
            if options:
                score, _, move = max(options)
                best[(i, j)] = (score, move)
    beads: list[Bead] = []
    i, j = m, n
    while (i, j) != (0, 0):
        a, b = best[(i, j)][1]
        mt, ref = tuple(range(i - a, i)), tuple(range(j - b, j))
        beads.append(Bead(mt, ref, sims[(i - a, i, j - b, j)] if a and b else None))
        i, j = i - a, j - b
    return beads[::-1]


# --------------------------------------------------------------------------- comparing an article


@dataclass(frozen=True)
class RefSentence:
    """A reference sentence, with offsets into the reference text."""

    text: str
    start: int
    end: int


@dataclass
class Comparison:
    """What the reference says about one article; :meth:`mtqa.pipeline.Pipeline.reference_step` applies it."""

    segments: dict[int, dict[str, Any]] = field(default_factory=dict)  # segment index -> Segment.reference
    findings: list[Finding] = field(default_factory=list)  # reference-addition, spanning MT sentences
    article_findings: list[ArticleFinding] = field(default_factory=list)
    summary: dict[str, Any] | None = None  # ArticleResult.reference
    beads: list[Bead] = field(default_factory=list)  # positions in the body and reference sentence lists
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (MT, reference) text of each aligned bead


def reference_sentences(reference: str) -> list[RefSentence]:
    """The reference's body sentences, split exactly as an article is (its title and boilerplate are left out,
    as the MT article's are)."""
    layout = segment_article(Article(id="reference", text=reference, input="<reference>"))
    return [RefSentence(s.text, s.start, s.end) for s in layout.segments if s.kind == "body"]


def _joined(texts: Sequence[str]) -> str:
    return " ".join(" ".join(t.split()) for t in texts)


def _quote(text: str) -> str:
    return truncate(text, _QUOTE_CHARS)


def compare(body: Sequence[Segment], reference: str | None, cfg: AlignSettings | None = None) -> Comparison:
    """Align the MT ``body`` sentences with ``reference`` and score the pairs. No reference (None, empty,
    or without body sentences): an empty comparison. A reference not in English: only a finding."""
    if not reference or not reference.strip():
        return Comparison()
    cfg = cfg or settings()
    foreign = langid.text_language(reference)
    if foreign is not None:
        lang, p = foreign
        return Comparison(
            article_findings=[
                codes.article_finding(
                    NOT_ENGLISH,
                    f"The reference is not in English: {langid.language_name(lang)}, probability {p:.2f}; "
                    f"no reference-based figures were computed",
                )
            ]
        )
    refs = reference_sentences(reference)
    if not refs or not body:
        return Comparison()
    beads = align(
        len(body),
        len(refs),
        lambda a, b: alignment_chrf(_joined([body[k].text for k in a]), _joined([refs[k].text for k in b])),
        cfg,
    )
    n_aligned = sum(len(b.mt) for b in beads if b.aligned)
    if not n_aligned or n_aligned < cfg.min_aligned_share * len(body):
        return _mismatch(body, refs, beads, n_aligned)
    return _matched(body, refs, beads)


def _mismatch(body: Sequence[Segment], refs: list[RefSentence], beads: list[Bead], n_aligned: int) -> Comparison:
    """Too little aligns: one finding instead of one per sentence, and figures over the whole texts (so a
    ``min_chrf`` gate still sees how far apart they are)."""
    finding = codes.article_finding(
        MISMATCH,
        f"Only {n_aligned} of {len(body)} sentences match a reference "
        f"sentence: the wrong reference, or a translation unrelated to it; no "
        f"sentence-level comparison",
    )
    figures = corpus_figures([_joined([s.text for s in body])], [_joined([r.text for r in refs])])
    return Comparison(
        article_findings=[finding],
        beads=beads,
        summary={
            **figures,
            "aligned": 0,
            "unaligned_mt": len(body),
            "unaligned_ref": len(refs),
            "n_mt": len(body),
            "n_ref": len(refs),
            "omitted": [],
        },
    )


def _matched(body: Sequence[Segment], refs: list[RefSentence], beads: list[Bead]) -> Comparison:
    """Figures for every aligned step, an addition finding for every unaligned MT sentence and an omission
    finding for every unaligned reference sentence, with the article's figures over the aligned pairs."""
    out = Comparison(beads=beads)
    omitted: list[dict[str, Any]] = []
    last_mt: int | None = None  # the MT sentence an omitted reference sentence would follow
    for bead in beads:
        if bead.aligned:
            hyp, ref = _joined([body[k].text for k in bead.mt]), _joined([refs[k].text for k in bead.ref])
            out.pairs.append((hyp, ref))
            entry = {
                "text": ref,
                **pair_figures(hyp, ref),
                "start": refs[bead.ref[0]].start,
                "end": refs[bead.ref[-1]].end,
                "alignment": f"{len(bead.mt)}-{len(bead.ref)}",
                "segments": [body[k].index for k in bead.mt],
            }
            for k in bead.mt:
                out.segments[body[k].index] = entry
        elif bead.mt:
            seg = body[bead.mt[0]]
            out.findings.append(
                codes.finding(ADDITION, seg.start, seg.end, "No counterpart in the reference: possible addition")
            )
        else:
            r = refs[bead.ref[0]]
            omitted.append({"text": r.text, "start": r.start, "end": r.end, "after": last_mt})
            out.article_findings.append(
                codes.article_finding(
                    OMISSION,
                    f"Reference sentence {bead.ref[0] + 1} has no counterpart in the translation: "
                    f"possible omission: \u201c{_quote(r.text)}\u201d",
                )
            )
        if bead.mt:
            last_mt = body[bead.mt[-1]].index
    hyps, ref_texts = zip(*out.pairs, strict=True)
    out.summary = {
        **corpus_figures(hyps, ref_texts),
        "aligned": len(out.pairs),
        "unaligned_mt": len(out.findings),
        "unaligned_ref": len(omitted),
        "n_mt": len(body),
        "n_ref": len(refs),
        "omitted": omitted,
    }
    return out
