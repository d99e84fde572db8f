"""What the HTML and Markdown views share: titles, ordering, located spans, LM evidence in words, reference
figures, and the probability bands with their tints and words (``data/report.json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mtqa import datafiles
from mtqa.report.contract import as_number, jsonable
from mtqa.types import ArticleResult, Segment

_DISPLAY = "report.json"


def signature() -> str:
    """The display settings change every HTML report, so their hash is part of the run signature."""
    return f"report:{datafiles.digest([_DISPLAY])}"


ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def fmt(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def found_title(result: ArticleResult) -> str | None:
    """The corpus title, else the title line segmentation found."""
    if result.title:
        return result.title
    return next((s.text.strip() for s in result.segments if s.kind == "title" and s.text.strip()), None)


def display_title(result: ArticleResult) -> str:
    return found_title(result) or result.id


def flagged_worst_first(result: ArticleResult) -> list[Segment]:
    """Flagged units, most severe finding first (a major finding before any minor one), then by score."""
    from mtqa.policy import rank

    def severity(s: Segment) -> int:
        return max((rank(f.severity) for f in s.findings), default=0)

    flagged = [s for s in result.segments if s.flagged]
    return sorted(flagged, key=lambda s: (-severity(s), -(as_number(s.score) or 0.0), s.index))


def feature_span(d: Any, lo: int, hi: int) -> tuple[int, int] | None:
    """(start, end) of a features span clipped to [lo, hi], or None when malformed or empty."""
    if not isinstance(d, Mapping):
        return None
    try:
        s, e = max(int(d["start"]), lo), min(int(d["end"]), hi)
    except (KeyError, TypeError, ValueError):
        return None
    return (s, e) if e > s else None


def located_break(seg: Segment) -> tuple[int, int, float | None] | None:
    """The LM's located break of a sentence (start, end, strength in nats), clipped to the sentence."""
    span = feature_span(seg.features.get("break"), seg.start, seg.end)
    return None if span is None else (*span, as_number(seg.features["break"].get("score")))


def lm_figures(seg: Segment, text: str) -> list[str]:
    """The LM evidence in the features, one short phrase each, for the popover and the Markdown."""
    f = seg.features or {}
    parts = []
    if (slor := as_number(f.get("slor"))) is not None:
        parts.append(f"SLOR {slor:.2f}")
    if (lp := as_number(f.get("lm_mean_logprob"))) is not None:
        parts.append(f"mean log-prob {lp:.2f}")
    for key in ("break", "window"):
        span = feature_span(f.get(key), 0, len(text))
        if span is not None:
            parts.append(f"{key} \u201c{text[span[0] : span[1]]}\u201d")
    return parts


def part_note(seg: Segment) -> str | None:
    """Says that a segment is the rest of a sentence the scrape broke around chrome (scored as one with it)."""
    if seg.continues is None:
        return None
    return f"the rest of sentence {seg.continues}, past the chrome the scrape put inside it; scored as one"


def lm_summary(seg: Segment, text: str) -> str:
    return ", ".join(lm_figures(seg, text))


def sentence_reference(ref: Any) -> dict | None:
    """The aligned reference sentence and its figures (``Segment.reference``), ready to print."""
    if not isinstance(ref, Mapping):
        return None
    figures = [
        f"{name} {v}"
        for key, name in (("chrf", "chrF"), ("chrfpp", "chrF++"), ("ter", "TER"))
        if (v := fmt(as_number(ref.get(key)), 1))
    ]
    return {
        "text": str(ref.get("text") or ""),
        "figures": " \u00b7 ".join(figures),
        "chrf": fmt(as_number(ref.get("chrf")), 1),
        "ter": fmt(as_number(ref.get("ter")), 1),
    }


def how_many(x: Any) -> str:
    """A count the reference module may give as a number or as the list of what it counts."""
    if isinstance(x, (list, tuple)):
        return str(len(x))
    v = jsonable(x)
    return "" if v is None else str(v)


def article_reference(ref: Any) -> dict | None:
    """Corpus-level reference figures (``ArticleResult.reference``) with their sacrebleu signatures."""
    if not isinstance(ref, Mapping):
        return None
    figures = [
        f"{name} {v}"
        for key, name in (("bleu", "BLEU"), ("chrf", "chrF"), ("ter", "TER"))
        if (v := fmt(as_number(ref.get(key)), 1))
    ]
    counts = [
        f"{label} {v}"
        for key, label in (
            ("aligned", "aligned sentences"),
            ("unaligned_mt", "unaligned in the translation"),
            ("unaligned_ref", "unaligned in the reference"),
        )
        if (v := how_many(ref.get(key)))
    ]
    sigs = ref.get("signatures")
    signatures = [(str(k), str(v)) for k, v in sigs.items()] if isinstance(sigs, Mapping) else []
    return {"figures": " \u00b7 ".join(figures), "counts": " \u00b7 ".join(counts), "signatures": signatures}


@dataclass(frozen=True)
class Band:
    """A range of garble probability, with the tint and the words the HTML shows for it."""

    start: float
    label: str
    short: str
    colour: str


def _load_display() -> tuple[tuple[Band, ...], int]:
    raw = json.loads(datafiles.read_text(_DISPLAY))
    bands = sorted(
        (Band(float(b["from"]), b["label"], b["short"], b["colour"]) for b in raw["bands"]), key=lambda b: b.start
    )
    return tuple(bands), int(raw["histogram_bins"])


BANDS, HISTOGRAM_BINS = _load_display()


# The bands that tint, for the stylesheet and the legend: (index, band, "0.3–0.5").
TINTS = [
    (i, b, f"{b.start:.1f}–{BANDS[i + 1].start:.1f}" if i + 1 < len(BANDS) else f"≥ {b.start:.1f}")
    for i, b in enumerate(BANDS)
    if b.colour
]


FIRST_TINT = TINTS[0][0]


UNTINTED = "#cfd8dc"  # histogram bars of bands without a tint


def band_index(score: float) -> int:
    """The index in BANDS of the highest band ``score`` reaches (below the first band: the first)."""
    return max((i for i, b in enumerate(BANDS) if score >= b.start), default=0)


def valid_utf8(s: str) -> str:
    """Lone surrogates (ids/inputs read with surrogateescape) would make Arrow refuse the whole table."""
    return s.encode("utf-8", "replace").decode("utf-8")
