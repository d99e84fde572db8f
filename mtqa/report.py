"""Per-article reports (JSON, Markdown, HTML) and the run summary (Parquet, CSV, index.html).

The JSON is a contract (``mtqa.article/1``) parsed by other tools, so its keys and their order are fixed
here and nowhere else. The HTML is for editors: it shows the whole article as read, with garbled
sentences tinted and the exact problem spans marked. Everything that ends up in a file is written
atomically (temp file in the same directory, then ``os.replace``) so an interrupted run never leaves a
half-written report that looks complete.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import numbers
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from mtqa.types import SEVERITY_RANK, ArticleFinding, ArticleResult, Finding, Segment

SCHEMA = "mtqa.article/1"
RUN_SCHEMA = "mtqa.run/1"

MAX_STEM = 100  # safe_id stems are at most this long (plus "-N" when made unique against `taken`)
_HASH_LEN = 10
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_SAFE_STEM = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
# Names Windows refuses whatever the extension; reports are often copied onto shared drives.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(10))}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

SUMMARY_COLUMNS = [
    "id", "title", "input", "status", "error", "score", "verdict",
    "n_sentences", "n_flagged", "top_finding", "report",
]
#: Article figures against the reference, added to the summary when some article of the run had one.
REFERENCE_COLUMNS = ["bleu", "chrf", "ter"]

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# --------------------------------------------------------------------------- file names


def _sha(raw: str) -> str:
    # surrogatepass: ids decoded with surrogateescape must still hash, not crash the run.
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def safe_id(article_id: str, taken: set[str] | None = None) -> str:
    """A file-name stem for ``article_id`` that cannot escape the output directory.

    Only ``[A-Za-z0-9._-]`` survive, leading dots go, and whenever anything was changed or cut a short
    sha1 of the raw id is appended, so ``"a/b"`` and ``"a_b"`` get different stems. With ``taken``, the
    stem is also made unique (case-insensitively, for macOS/Windows disks) and recorded in ``taken``
    together with its lower-cased form.
    """
    raw = str(article_id)
    base = _SAFE_CHARS.sub("_", raw).lstrip(".")
    if base.split(".")[0].upper() in _WINDOWS_RESERVED:
        base = "_" + base
    if base != raw or not base or len(base) > MAX_STEM:
        base = base[: MAX_STEM - _HASH_LEN - 1].rstrip(".")
        base = f"{base}-{_sha(raw)}" if base else f"article-{_sha(raw)}"
    if taken is None:
        return base
    stem, n = base, 1
    while stem in taken or stem.lower() in taken:
        n += 1
        stem = f"{base}-{n}"
    taken.add(stem)
    taken.add(stem.lower())
    return stem


def _check_stem(stem: str) -> None:
    """Refuse stems that did not come from safe_id: a path in a stem would write outside out_dir."""
    if not _SAFE_STEM.fullmatch(stem) or len(stem) > MAX_STEM + 12:
        raise ValueError(f"unsafe report file stem {stem!r}; use safe_id()")


def _write_atomic(path: Path, data: str | bytes, errors: str = "strict") -> None:
    """Write via a temp file in the same directory and rename, so readers never see partial files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8", errors))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- JSON


_PLAIN = (str, bool, int, type(None))


def _jsonable(x: Any) -> Any:
    """Plain JSON values from whatever the features hold (numpy/torch scalars and arrays, NaN, tuples)."""
    # Exact-type fast paths first: a report holds thousands of plain numbers (per-token surprisals), and
    # the abstract-base-class checks below cost ten times more per value.
    t = type(x)
    if t in _PLAIN:
        return x
    if t is float:
        return x if math.isfinite(x) else None
    if t is list or t is tuple:
        return [_jsonable(v) for v in x]
    if t is dict:
        return {k if type(k) is str else str(k): _jsonable(v) for k, v in x.items()}
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in x]
    if is_dataclass(x) and not isinstance(x, type):
        return _jsonable(asdict(x))
    tolist = getattr(x, "tolist", None)  # numpy arrays and scalars (np.bool_, np.float32), torch tensors
    if callable(tolist):
        return _jsonable(tolist())
    return str(x)


def _score(x: Any) -> float | None:
    v = _jsonable(x)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def article_to_dict(result: ArticleResult) -> dict:
    """The ``mtqa.article/1`` record: exactly the contract keys, in contract order, JSON-safe values."""
    ok = result.status == "ok"
    return {
        "schema": SCHEMA,
        "id": result.id,
        "title": result.title,
        "input": result.input,
        "status": result.status,
        "error": result.error,
        "score": _score(result.score) if ok else None,
        "verdict": result.verdict if ok else None,
        "n_sentences": result.n_sentences,
        "n_flagged": result.n_flagged,
        "signature": result.signature,
        "text": result.text,
        "segments": [
            {
                "index": int(s.index),
                "kind": s.kind,
                "text": s.text,
                "start": int(s.start),
                "end": int(s.end),
                "score": _score(s.score),
                "flagged": bool(s.flagged),
                "features": _jsonable(s.features or {}),
                "findings": [
                    {"code": f.code, "message": f.message, "severity": f.severity,
                     "start": int(f.start), "end": int(f.end)}
                    for f in s.findings
                ],
                "reference": _jsonable(s.reference),
            }
            for s in result.segments
        ],
        "article_findings": [
            {"code": f.code, "message": f.message, "severity": f.severity} for f in result.article_findings
        ],
        "reference": _jsonable(result.reference),
    }


def article_from_dict(d: Mapping[str, Any]) -> ArticleResult:
    """An :class:`ArticleResult` back from its ``mtqa.article/1`` record (what ``--resume`` reuses).

    Raises ValueError (or KeyError/TypeError) on a record that is not ``mtqa.article/1``."""
    if d.get("schema") != SCHEMA:
        raise ValueError(f"not an {SCHEMA} record")
    segments = [
        Segment(index=int(s["index"]), kind=s["kind"], text=s["text"], start=int(s["start"]), end=int(s["end"]),
                score=s["score"], flagged=bool(s["flagged"]), features=dict(s.get("features") or {}),
                findings=[Finding(f["code"], f["message"], f["severity"], int(f["start"]), int(f["end"]))
                          for f in s.get("findings") or []],
                reference=_mapping_or_none(s.get("reference")))
        for s in d.get("segments") or []
    ]
    return ArticleResult(
        id=d["id"], input=d["input"], title=d.get("title"), text=d.get("text") or "", status=d["status"],
        error=d.get("error"), score=d.get("score"), verdict=d.get("verdict"), segments=segments,
        article_findings=[ArticleFinding(f["code"], f["message"], f["severity"])
                          for f in d.get("article_findings") or []],
        signature=d.get("signature") or "", reference=_mapping_or_none(d.get("reference")))


def _mapping_or_none(x: Any) -> dict | None:
    if x is None:
        return None
    if not isinstance(x, Mapping):
        raise TypeError(f"'reference' must be an object or null, got {type(x).__name__}")
    return dict(x)


def _load_json(data: bytes) -> Any:
    """Parse a report written by :func:`_to_json`: orjson (a re-run with ``--resume`` reads every report
    back), or the standard library for a report holding an escaped lone surrogate, which orjson refuses."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8"))


def _to_json(result: ArticleResult) -> str:
    """The article record as compact JSON text (``jq .`` indents it): a report is mostly per-token figures,
    which indentation puts one number to a line, making files 2.5x larger; a corpus writes thousands.
    orjson is several times faster than the standard library's encoder; text with lone surrogates (read
    with surrogateescape), which orjson refuses, goes through the standard one."""
    record = article_to_dict(result)
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode()
    except TypeError:
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


# --------------------------------------------------------------------------- shared helpers


def _fmt(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _found_title(result: ArticleResult) -> str | None:
    """The corpus title, else the title line segmentation found."""
    if result.title:
        return result.title
    return next((s.text.strip() for s in result.segments if s.kind == "title" and s.text.strip()), None)


def _display_title(result: ArticleResult) -> str:
    return _found_title(result) or result.id


def _flagged_worst_first(result: ArticleResult) -> list[Segment]:
    flagged = [s for s in result.segments if s.flagged]
    return sorted(flagged, key=lambda s: (-(_score(s.score) or 0.0), s.index))


def _span(d: Any, lo: int, hi: int) -> tuple[int, int] | None:
    """(start, end) of a features span clipped to [lo, hi], or None when malformed or empty."""
    if not isinstance(d, Mapping):
        return None
    try:
        s, e = max(int(d["start"]), lo), min(int(d["end"]), hi)
    except (KeyError, TypeError, ValueError):
        return None
    return (s, e) if e > s else None


def _break(seg: Segment) -> tuple[int, int, float | None] | None:
    """The LM's located break of a sentence (start, end, strength in nats), clipped to the sentence."""
    span = _span(seg.features.get("break"), seg.start, seg.end)
    return None if span is None else (*span, _score(seg.features["break"].get("score")))


def _lm_figures(seg: Segment, text: str) -> list[str]:
    """The LM evidence in the features, one short phrase each, for the popover and the Markdown."""
    f = seg.features or {}
    parts = []
    if (slor := _score(f.get("slor"))) is not None:
        parts.append(f"SLOR {slor:.2f}")
    if (lp := _score(f.get("lm_mean_logprob"))) is not None:
        parts.append(f"mean log-prob {lp:.2f}")
    for key in ("break", "window"):
        span = _span(f.get(key), 0, len(text))
        if span is not None:
            parts.append(f"{key} \u201c{text[span[0]:span[1]]}\u201d")
    return parts


def _lm_summary(seg: Segment, text: str) -> str:
    return ", ".join(_lm_figures(seg, text))


def _sentence_reference(ref: Any) -> dict | None:
    """The aligned reference sentence and its figures (``Segment.reference``), ready to print."""
    if not isinstance(ref, Mapping):
        return None
    figures = [f"{name} {v}" for key, name in (("chrf", "chrF"), ("chrfpp", "chrF++"), ("ter", "TER"))
               if (v := _fmt(_score(ref.get(key)), 1))]
    return {"text": str(ref.get("text") or ""), "figures": " \u00b7 ".join(figures),
            "chrf": _fmt(_score(ref.get("chrf")), 1), "ter": _fmt(_score(ref.get("ter")), 1)}


def _how_many(x: Any) -> str:
    """A count the reference module may give as a number or as the list of what it counts."""
    if isinstance(x, (list, tuple)):
        return str(len(x))
    v = _jsonable(x)
    return "" if v is None else str(v)


def _article_reference(ref: Any) -> dict | None:
    """Corpus-level reference figures (``ArticleResult.reference``) with their sacrebleu signatures."""
    if not isinstance(ref, Mapping):
        return None
    figures = [f"{name} {v}" for key, name in (("bleu", "BLEU"), ("chrf", "chrF"), ("ter", "TER"))
               if (v := _fmt(_score(ref.get(key)), 1))]
    counts = [f"{label} {v}" for key, label in (("aligned", "aligned sentences"),
                                               ("unaligned_mt", "unaligned in the translation"),
                                               ("unaligned_ref", "unaligned in the reference"))
              if (v := _how_many(ref.get(key)))]
    sigs = ref.get("signatures")
    signatures = [(str(k), str(v)) for k, v in sigs.items()] if isinstance(sigs, Mapping) else []
    return {"figures": " \u00b7 ".join(figures), "counts": " \u00b7 ".join(counts), "signatures": signatures}


# --------------------------------------------------------------------------- display settings


@dataclass(frozen=True)
class Band:
    """A range of garble probability, with the tint and the words the HTML shows for it."""

    start: float
    label: str
    short: str
    colour: str


def _load_display() -> tuple[tuple[Band, ...], int]:
    raw = json.loads((files("mtqa.data") / "report.json").read_text(encoding="utf-8"))
    bands = sorted((Band(float(b["from"]), b["label"], b["short"], b["colour"]) for b in raw["bands"]),
                   key=lambda b: b.start)
    return tuple(bands), int(raw["histogram_bins"])


BANDS, HISTOGRAM_BINS = _load_display()
# The bands that tint, for the stylesheet and the legend: (index, band, "0.3–0.5").
TINTS = [(i, b, f"{b.start:.1f}–{BANDS[i + 1].start:.1f}" if i + 1 < len(BANDS) else f"≥ {b.start:.1f}")
         for i, b in enumerate(BANDS) if b.colour]
_FIRST_TINT = TINTS[0][0]
_UNTINTED = "#cfd8dc"  # histogram bars of bands without a tint


def band_index(score: float) -> int:
    """The index in BANDS of the highest band ``score`` reaches (below the first band: the first)."""
    return max((i for i, b in enumerate(BANDS) if score >= b.start), default=0)


# --------------------------------------------------------------------------- HTML article


@dataclass
class _Chunk:
    """Consecutive text of one line belonging to one segment (or to none)."""

    seg: dict | None
    anchor: bool  # the segment's first chunk: it carries the id, the label, the popover and the tab stop
    pieces: list[tuple[str, dict | None, int]] = field(default_factory=list)  # (text, mark or None, offset)


def _popover(seg: Segment, text: str, score: float | None) -> dict:
    """What hovering or focusing a sentence shows: why it is tinted, in words, with the evidence."""
    head = [f"Sentence {seg.index}"] + (["flagged"] if seg.flagged else [])
    if score is not None:
        head.append(f"score {score:.3f} ({BANDS[band_index(score)].label})")
    findings = [{"code": f.code, "severity": f.severity, "message": f.message, "span": text[f.start:f.end]}
                for f in seg.findings]
    brk = _break(seg) if seg.flagged else None
    unexpected = None
    if brk is not None:
        words = f"\u201c{text[brk[0]:brk[1]]}\u201d"
        if brk[2] is not None and brk[2] > 0:
            unexpected = (f"The language model did not expect {words} here ({brk[2]:.1f} nats more surprising "
                          "than the words' usual frequency).")
        else:  # the located break is only the least expected place, not a surprising one
            unexpected = f"The language model found nothing surprising; its least expected words: {words}."
    return {"id": f"why-s{seg.index}", "head": " \u00b7 ".join(head), "findings": findings,
            "unexpected": unexpected, "lm": _lm_summary(seg, text),
            "ref": _sentence_reference(seg.reference)}


def _tint(score: float | None, flagged: bool) -> int | None:
    """The band whose colour tints a sentence: its own band, or the first tinted band for a sentence
    flagged from below it (by a rule); None when the sentence is not tinted."""
    band = band_index(score) if score is not None else None
    if band is not None and BANDS[band].colour:
        return band
    return _FIRST_TINT if flagged else None


def _score_label(score: float | None) -> str:
    """'0.93 very likely': the score with its band's short name, when the band tints."""
    if score is None:
        return ""
    band = BANDS[band_index(score)]
    return f"{score:.2f} {band.short}" if band.colour else f"{score:.2f}"


def _seg_view(seg: Segment, text: str) -> dict:
    """Classes, label and popover of one segment; a tint always comes with a text label."""
    score = _score(seg.score)
    tint = _tint(score, seg.flagged) if seg.kind != "boilerplate" else None
    classes = ["seg", seg.kind] + (["tint", f"band-{tint}"] if tint is not None else [])
    classes += ["flagged"] if seg.flagged else []
    parts = ["flagged" if seg.flagged else "", _score_label(score) if tint is not None else ""]
    label = " \u00b7 ".join(p for p in parts if p)
    pop = None
    if seg.kind != "boilerplate" and (tint is not None or seg.findings or seg.reference):
        pop = _popover(seg, text, score)
    tip = ""
    if pop is None:  # a native tooltip where there is no popover: kind and score, boilerplate findings
        tip = "\n".join([seg.kind] + ([f"score {score:.3f}"] if score is not None else [])
                        + [f"{f.code}: {f.message} ({f.severity})" for f in seg.findings])
    return {"index": seg.index, "kind": seg.kind, "cls": " ".join(classes), "score": _fmt(score),
            "label": label, "why": pop, "tip": tip}


def _located(seg: Segment) -> list[tuple[int, int, str, bool]]:
    """The spans marked in a sentence: (start, end, id, major) for each finding, and the LM's break
    when the sentence is flagged. Boilerplate findings are in the tooltip: marking whole lines is noise."""
    if seg.kind == "boilerplate":
        return []
    spans = [(f.start, f.end, f"s{seg.index}.f{k}", f.severity == "major") for k, f in enumerate(seg.findings)]
    if seg.flagged and (brk := _break(seg)) is not None:
        spans.append((brk[0], brk[1], f"s{seg.index}.lm", False))
    return spans


def _pieces(seg: Segment, start: int, end: int) -> Iterator[tuple[int, int, dict | None]]:
    """Split a segment at every located span boundary; a piece covered by spans is marked with all their ids."""
    spans = [(max(s, start), min(e, end), i, major) for s, e, i, major in _located(seg)]
    spans = [sp for sp in spans if sp[1] > sp[0]]
    cuts = sorted({start, end, *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    for a, b in zip(cuts, cuts[1:], strict=False):
        covering = [sp for sp in spans if sp[0] <= a and b <= sp[1]]
        mark = {"ids": " ".join(i for _, _, i, _ in covering), "major": any(m for *_, m in covering)}
        yield a, b, mark if covering else None


def _article_lines(result: ArticleResult) -> list[dict]:
    """The article as read, cut into display lines of chunks; nothing of the text is dropped."""
    text, n = result.text, len(result.text)
    atoms: list[tuple[int, int, dict | None, dict | None]] = []  # (start, end, segment view, mark)
    pos = 0
    for seg in sorted(result.segments, key=lambda s: (s.start, s.end)):
        start = min(max(seg.start, pos, 0), n)
        end = max(start, min(seg.end, n))
        if end == start:
            continue
        if start > pos:
            atoms.append((pos, start, None, None))
        view = _seg_view(seg, text)
        atoms.extend((a, b, view, mark) for a, b, mark in _pieces(seg, start, end))
        pos = end
    if pos < n:
        atoms.append((pos, n, None, None))

    lines: list[list[_Chunk]] = [[]]
    anchored: set[int] = set()

    def add(a: int, b: int, view: dict | None, mark: dict | None) -> None:
        if b <= a:
            return
        line = lines[-1]
        if not line or line[-1].seg is not view:
            first = view is not None and id(view) not in anchored
            if view is not None:
                anchored.add(id(view))
            line.append(_Chunk(view, first))
        line[-1].pieces.append((text[a:b], mark, a))

    for a, b, view, mark in atoms:
        for m in _LINE_BREAK.finditer(text, a, b):
            add(a, m.start(), view, mark)
            lines.append([])
            a = m.end()
        add(a, b, view, mark)

    out = []
    for chunks in lines:
        kinds = {c.seg["kind"] for c in chunks if c.seg}
        if not kinds and not "".join(p for c in chunks for p, _, _ in c.pieces).strip():
            continue  # blank lines: paragraph spacing already separates lines
        cls = "title-line" if "title" in kinds else "boilerplate-line" if kinds == {"boilerplate"} else ""
        out.append({"cls": cls, "chunks": chunks})
    return out


def _shorten(s: str, limit: int = 70) -> str:
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def _side_items(result: ArticleResult) -> list[dict]:
    """The flagged sentences, worst first, for the side list: score, the worst finding and its span."""
    items = []
    for s in _flagged_worst_first(result):
        score = _score(s.score)
        worst = max(s.findings, key=lambda f: SEVERITY_RANK.get(f.severity, 0), default=None)
        brk = _break(s)
        if worst is not None:
            what, span, severity = worst.code, result.text[worst.start:worst.end], worst.severity
        else:
            what, span, severity = "language model", result.text[brk[0]:brk[1]] if brk else "", ""
        ref = _sentence_reference(s.reference)
        items.append({
            "index": s.index, "score": _fmt(score, 2) or "n/a", "what": what, "severity": severity,
            "span": _shorten(span or s.text), "more": len(s.findings) - 1 if worst else 0,
            "band": _tint(score, True),
            "chrf": ref["chrf"] if ref else "",
        })
    return items


def _reference_rows(result: ArticleResult) -> list[dict]:
    """Body sentences that have an aligned reference sentence, in article order."""
    rows = []
    for s in result.segments:
        ref = _sentence_reference(s.reference)
        if ref is not None:
            rows.append({"index": s.index, "text": s.text, "ref": ref, "score": _fmt(_score(s.score)),
                         "flagged": s.flagged})
    return rows


def _safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links: a ``javascript:`` URL from a scraped feed must stay text."""
    return url if url and re.match(r"https?://[^\s\"'<>]+$", url, re.IGNORECASE) else None


def render_html(result: ArticleResult) -> str:
    """The editor's page for one article: self-contained, autoescaped, no script at all."""
    return _env.get_template("article.html.j2").render(
        r=result,
        title=_display_title(result),
        score=_fmt(_score(result.score)),
        verdict=(result.verdict if result.status == "ok" else None) or result.status,
        lines=_article_lines(result),
        side=_side_items(result),
        refrows=_reference_rows(result),
        reference=_article_reference(result.reference),
        url_link=_safe_url(result.url),
        tints=TINTS,
    )


# --------------------------------------------------------------------------- Markdown article

_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>|&])")
_MD_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+[.)])")


def _md(text: str) -> str:
    """Escape text so it stays plain inside a list item / blockquote when pasted into a ticket."""
    one_line = " ".join(text.split())
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _MD_ACTIVE.sub(r"\\\1", one_line))


def _md_code(code: str) -> str:
    return f"`{code.replace('`', chr(39))}`"


def _ref_figures(ref: Mapping[str, Any], keys: tuple[tuple[str, str], ...]) -> str:
    """``chrF 45.20 \u00b7 TER 50.00`` from the figures of a reference dict (missing ones are left out)."""
    return " \u00b7 ".join(f"{label} {v:.2f}" for key, label in keys if (v := _score(ref.get(key))) is not None)


_SENTENCE_FIGURES = (("chrf", "chrF"), ("chrfpp", "chrF++"), ("ter", "TER"))
_ARTICLE_FIGURES = (("bleu", "BLEU"), ("chrf", "chrF"), ("chrfpp", "chrF++"), ("ter", "TER"))


def _md_reference_summary(ref: Mapping[str, Any]) -> str:
    counts = (f"{ref.get('aligned', 0)} aligned pairs, {ref.get('unaligned_mt', 0)} possible additions, "
              f"{ref.get('unaligned_ref', 0)} possible omissions")
    return f"**Reference:** {_ref_figures(ref, _ARTICLE_FIGURES)} \u00b7 {counts}"


def _md_reference_section(result: ArticleResult) -> list[str]:
    """Every body sentence with the reference sentence(s) aligned to it, and omitted reference sentences
    where they would have been."""
    ref = result.reference or {}
    omitted: dict[int | None, list[str]] = {}
    for o in ref.get("omitted") or []:
        omitted.setdefault(o.get("after"), []).append(str(o.get("text", "")))

    def gaps(after: int | None) -> list[str]:
        return [f"- *omitted?* no counterpart in the translation\n  - reference: {_md(t)}"
                for t in omitted.get(after, [])]

    out = ["## Compared with the reference", "", *gaps(None)]
    for s in result.segments:
        if s.kind != "body":
            continue
        score = _fmt(_score(s.score)) or "n/a"
        if s.reference:
            how = f" ({s.reference['alignment']})" if s.reference.get("alignment", "1-1") != "1-1" else ""
            out += [f"- **s{s.index}** \u00b7 score {score} \u00b7 {_ref_figures(s.reference, _SENTENCE_FIGURES)}{how}",
                    f"  - translation: {_md(s.text)}", f"  - reference: {_md(str(s.reference.get('text', '')))}"]
        else:
            out += [f"- **s{s.index}** \u00b7 score {score} \u00b7 *added?* no counterpart in the reference",
                    f"  - translation: {_md(s.text)}"]
        out += gaps(s.index)
    sigs = ref.get("signatures") or {}
    if sigs:
        out += ["", "<sub>sacrebleu " + " \u00b7 ".join(f"{_md(k)}: {_md(str(v))}" for k, v in sigs.items())
                + "</sub>"]
    return [*out, ""]


def render_markdown(result: ArticleResult) -> str:
    """A ticket-sized summary: verdict, flagged sentences worst first, article findings, and with a reference
    every sentence beside its reference sentence."""
    out = [f"# {_md(_display_title(result))}", ""]
    if result.status != "ok":
        out += [f"**Error** \u2014 {_md(result.error or 'unknown error')}", ""]
    else:
        verdict = (result.verdict or "n/a").upper()
        out += [
            f"**Verdict:** {verdict} \u00b7 **score** {_fmt(_score(result.score)) or 'n/a'} \u00b7 "
            f"{result.n_sentences} sentences, {result.n_flagged} flagged",
            "",
        ]
        if result.reference:
            out += [_md_reference_summary(result.reference), ""]
    out += [f"id: {_md(result.id)} \u00b7 input: {_md(result.input)}", ""]
    flagged = _flagged_worst_first(result)
    if flagged:
        out += ["## Flagged sentences", ""]
        for i, s in enumerate(flagged, 1):
            out.append(f"{i}. **s{s.index}** \u2014 score {_fmt(_score(s.score)) or 'n/a'}")
            for f in s.findings:
                code, span = _md_code(f.code), _md(result.text[f.start:f.end])
                out.append(f"   - {code} ({f.severity}): {_md(f.message)} \u2014 \u201c{span}\u201d")
            if lm := _lm_summary(s, result.text):
                out.append(f"   - LM: {_md(lm)}")
            if s.reference:
                out.append(f"   - reference ({_ref_figures(s.reference, _SENTENCE_FIGURES)}): "
                           f"{_md(str(s.reference.get('text', '')))}")
            out += ["", f"   > {_md(s.text)}", ""]
    if result.article_findings:
        out += ["## Article findings", ""]
        out += [f"- {_md_code(f.code)} ({f.severity}): {_md(f.message)}" for f in result.article_findings]
        out.append("")
    if result.reference and result.reference.get("aligned"):  # reference-mismatch: nothing aligned to show
        out += _md_reference_section(result)
    if result.signature:
        out += [f"<sub>{_md(result.signature)}</sub>", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- writing


def write_article(result: ArticleResult, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``articles/<stem>.{json,md,html}`` under ``out_dir``; ``stem`` must come from safe_id."""
    _check_stem(stem)
    art_dir = Path(out_dir) / "articles"
    paths = {ext: art_dir / f"{stem}.{ext}" for ext in ("json", "md", "html")}
    # backslashreplace turns a lone surrogate into a JSON \uXXXX escape, which json.loads reads back.
    _write_atomic(paths["json"], _to_json(result), errors="backslashreplace")
    _write_atomic(paths["md"], render_markdown(result), errors="replace")
    _write_atomic(paths["html"], render_html(result), errors="replace")
    return paths


def _top_finding(result: ArticleResult) -> str:
    """The most severe finding, ties broken by the score of its sentence (article findings: the article's)."""
    best: tuple[tuple[int, float, int], str] | None = None
    order = 0
    art_score = _score(result.score) or 0.0
    cands = [(f, _score(s.score) or 0.0) for s in result.segments for f in s.findings]
    cands += [(f, art_score) for f in result.article_findings]
    for f, score in cands:
        order -= 1  # earlier findings win ties
        key = (SEVERITY_RANK.get(f.severity, 0), score, order)
        if best is None or key > best[0]:
            best = (key, f"{f.code}: {f.message}")
    if best is None:
        return ""
    msg = " ".join(best[1].split())
    return msg if len(msg) <= 120 else msg[:119] + "\u2026"


def summary_columns(rows: list[dict]) -> list[str]:
    """The summary's columns: the fixed ones, plus the reference figures when some article had a reference."""
    return SUMMARY_COLUMNS + [c for c in REFERENCE_COLUMNS if any(c in row for row in rows)]


def summary_row(result: ArticleResult, stem: str | None = None) -> dict:
    """The flat summary row of one article (no article text): what the summary files and index page show."""
    ok = result.status == "ok"
    ref = (result.reference or {}) if ok else {}
    return {
        "id": result.id,
        "title": _found_title(result),
        "input": result.input,
        "status": result.status,
        "error": result.error,
        "score": _score(result.score) if ok else None,
        "verdict": result.verdict if ok else None,
        "n_sentences": result.n_sentences,
        "n_flagged": result.n_flagged,
        "top_finding": _top_finding(result),
        "report": f"articles/{stem}.html" if stem else "",
        **{c: _score(ref.get(c)) for c in REFERENCE_COLUMNS if ref},
    }


def summary_rows(results: list[ArticleResult], stems: dict[str, str] | None = None) -> list[dict]:
    """One flat row per article, in input order, for Parquet/CSV and the index page; articles compared with
    a reference also get its BLEU, chrF and TER."""
    stems = stems or {}
    return [summary_row(r, stems.get(r.id)) for r in results]


def _valid_utf8(s: str) -> str:
    """Lone surrogates (ids/inputs read with surrogateescape) would make Arrow refuse the whole table."""
    return s.encode("utf-8", "replace").decode("utf-8")


def _summary_frame(rows: list[dict]):
    import pandas as pd

    clean = [{k: _valid_utf8(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]
    columns = summary_columns(rows)
    df = pd.DataFrame(clean, columns=columns)
    for col in ("score", *(c for c in REFERENCE_COLUMNS if c in columns)):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("n_sentences", "n_flagged"):
        df[col] = df[col].astype("int64")
    return df


def _parquet_bytes(df, signature: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"mtqa.signature"] = signature.encode("utf-8", "replace")
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------- corpus figures


def _bin_counts(scores: list[float]) -> list[int]:
    """How many scores fall in each of HISTOGRAM_BINS equal bins over [0, 1] (1.0 in the last)."""
    bins = np.minimum((np.clip(np.asarray(scores, dtype=float), 0.0, 1.0) * HISTOGRAM_BINS).astype(int),
                      HISTOGRAM_BINS - 1)
    return [int(c) for c in np.bincount(bins, minlength=HISTOGRAM_BINS)]


@dataclass
class RuleCount:
    """How often one rule fired in a run: findings, of which major, and in how many articles."""

    code: str
    scope: str  # "sentence" (a span in a sentence or the title) or "article"
    findings: int = 0
    major: int = 0
    articles: int = 0


@dataclass
class CorpusStats:
    """What the index page shows besides the summary rows, added up one article at a time, so that a run
    never has to keep its articles in memory: sentence scores (binned) and per-rule counts."""

    sentence_counts: list[int] = field(default_factory=lambda: [0] * HISTOGRAM_BINS)
    rules: dict[tuple[str, str], RuleCount] = field(default_factory=dict)
    lm_only: int = 0  # flagged sentences with no rule finding: flagged by the language model's score alone

    @classmethod
    def of(cls, results: list[ArticleResult]) -> CorpusStats:
        stats = cls()
        for r in results:
            stats.add(r)
        return stats

    def add(self, result: ArticleResult) -> None:
        if result.status != "ok":
            return
        scores = [v for s in result.segments if s.kind == "body" and (v := _score(s.score)) is not None]
        self.sentence_counts = [a + b for a, b in zip(self.sentence_counts, _bin_counts(scores), strict=True)]
        # Boilerplate findings name the pattern that recognised a line; they are not translation damage.
        found = [(f, "sentence") for s in result.segments if s.kind != "boilerplate" for f in s.findings]
        found += [(f, "article") for f in result.article_findings]
        for key in {(f.code, scope) for f, scope in found}:
            self.rules.setdefault(key, RuleCount(*key)).articles += 1
        for f, scope in found:
            count = self.rules[(f.code, scope)]
            count.findings += 1
            count.major += f.severity == "major"
        self.lm_only += sum(1 for s in result.segments if s.flagged and not s.findings)

    def rule_rows(self) -> list[RuleCount]:
        return sorted(self.rules.values(), key=lambda c: (-c.findings, c.code, c.scope))


_CHART = {"width": 440, "height": 180, "left": 14, "right": 14, "top": 16, "bottom": 34}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def histogram_chart(counts: list[int], noun: str) -> dict:
    """Bars, axes and a text description of a score histogram over [0, 1], laid out for a static SVG:
    bar colours follow the tint bands, and every bar has a title with its range and count."""
    c = _CHART
    plot_w, plot_h = c["width"] - c["left"] - c["right"], c["height"] - c["top"] - c["bottom"]
    n, peak, base = len(counts), max(counts, default=0) or 1, c["top"] + plot_h
    bars = []
    for i, count in enumerate(counts):
        lo, hi = i / n, (i + 1) / n
        height = max(plot_h * count / peak, 2.0) if count else 0.0  # a single sentence stays visible
        bars.append({
            "x": round(c["left"] + i * plot_w / n + 0.5, 1), "y": round(base - height, 1),
            "w": round(plot_w / n - 1, 1), "h": round(height, 1),
            "colour": BANDS[band_index(lo)].colour or _UNTINTED,
            "title": f"{lo:.2f}\u2013{hi:.2f}: {_plural(count, noun)}", "count": count,
        })
    xticks = [{"x": round(c["left"] + plot_w * t, 1), "label": f"{t:g}"} for t in (0, 0.25, 0.5, 0.75, 1)]
    busy = [b["title"] for b, count in zip(bars, counts, strict=True) if count]
    desc = f"{_plural(sum(counts), noun)} by score" + (": " + "; ".join(busy) if busy else "")
    return {**c, "bars": bars, "xticks": xticks, "base": base,
            "plot_right": c["width"] - c["right"], "desc": desc}


# --------------------------------------------------------------------------- summary

_INDEX_JS = (Path(__file__).parent / "templates" / "index.js").read_text(encoding="utf-8")
# The page's Content-Security-Policy lets only this script run: text injected into the page could not.
_INDEX_JS_CSP = "sha256-" + base64.b64encode(hashlib.sha256(_INDEX_JS.encode("utf-8")).digest()).decode("ascii")


def render_index(rows: list[dict], signature: str, stats: CorpusStats | None = None, run: dict | None = None) -> str:
    """The run's index page: counts, score histograms, per-rule counts, then error rows and a sortable,
    filterable table of the articles, worst first."""
    stats = stats or CorpusStats()
    errors = [r for r in rows if r["status"] != "ok"]
    ok = sorted(
        (r for r in rows if r["status"] == "ok"),
        key=lambda r: (r["score"] is None, -(r["score"] or 0.0)),
    )
    counts = Counter(r["verdict"] or "n/a" for r in ok)
    article_scores = [r["score"] for r in ok if r["score"] is not None]
    return _env.get_template("index.html.j2").render(
        errors=errors, ok=ok, counts=counts, n_errors=len(errors), total=len(rows),
        signature=signature, fmt=_fmt,
        article_chart=histogram_chart(_bin_counts(article_scores), "article"),
        sentence_chart=histogram_chart(stats.sentence_counts, "sentence"),
        rules=stats.rule_rows(), lm_only=stats.lm_only, run=run or {},
        script=Markup(_INDEX_JS), script_csp=_INDEX_JS_CSP,
    )


def run_record(counts: Mapping[str, int], signature: str, reports_reused: int = 0) -> dict:
    """``run.json``: where this run's work went, so a reader can see what deduplication, the score cache
    and ``--resume`` saved (the per-article figures are in the summary table)."""
    c = Counter(counts)
    return {"schema": RUN_SCHEMA, "signature": signature,
            "articles_analysed": c["articles"] - c["articles_copied"], "articles_copied": c["articles_copied"],
            "reports_reused": reports_reused,
            "sentences_lm_scored": c["sentences_lm_scored"], "sentences_from_cache": c["sentences_cache_hits"],
            "sentences_repeated": c["sentences_reused"], "counts": dict(sorted(c.items()))}


def _write_summary_files(rows: list[dict], stats: CorpusStats, out_dir: Path, signature: str,
                         run: dict | None = None) -> dict[str, Path]:
    out_dir = Path(out_dir)
    df = _summary_frame(rows)
    paths = {
        "parquet": out_dir / "summary.parquet",
        "csv": out_dir / "summary.csv",
        "html": out_dir / "index.html",
    }
    _write_atomic(paths["parquet"], _parquet_bytes(df, signature))
    _write_atomic(paths["csv"], df.to_csv(index=False, lineterminator="\n"), errors="replace")
    _write_atomic(paths["html"], render_index(rows, signature, stats, run), errors="replace")
    if run:
        paths["run"] = out_dir / "run.json"
        _write_atomic(paths["run"], orjson.dumps(run, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    return paths


def write_summary(
    results: list[ArticleResult], out_dir: Path, stems: dict[str, str], signature: str
) -> dict[str, Path]:
    """Write ``summary.parquet``, ``summary.csv`` and ``index.html`` under ``out_dir``."""
    return _write_summary_files(summary_rows(results, stems), CorpusStats.of(results), out_dir, signature)


SENTENCE_COLUMNS = ["id", "index", "start", "end", "text", "score", "flagged", "top_finding"]


def _top_code(seg: Segment) -> str | None:
    """The code of a sentence's most severe finding (the first of equals), or None."""
    if not seg.findings:
        return None
    return max(seg.findings, key=lambda f: SEVERITY_RANK.get(f.severity, 0)).code


def sentence_rows(result: ArticleResult) -> list[dict]:
    """One row per body sentence of ``result`` for ``sentences.parquet``: the figures of its JSON report."""
    return [{"id": _valid_utf8(result.id), "index": int(s.index), "start": int(s.start), "end": int(s.end),
             "text": _valid_utf8(s.text), "score": _score(s.score), "flagged": bool(s.flagged),
             "top_finding": _top_code(s)}
            for s in result.segments if s.kind == "body"]


class SentenceTable:
    """``sentences.parquet``, written as the run goes: each :meth:`flush` appends a row group, so a corpus of
    any size never has its sentences in memory at once. The file appears (atomically) at :meth:`close`."""

    def __init__(self, path: Path, signature: str) -> None:
        import pyarrow as pa

        self.path = Path(path)
        self.schema = pa.schema(
            [("id", pa.string()), ("index", pa.int32()), ("start", pa.int64()), ("end", pa.int64()),
             ("text", pa.string()), ("score", pa.float64()), ("flagged", pa.bool_()), ("top_finding", pa.string())],
            metadata={b"mtqa.signature": signature.encode("utf-8", "replace")})
        self._rows: list[dict] = []
        self._writer = None
        self._tmp: Path | None = None

    def add(self, result: ArticleResult) -> None:
        self._rows.extend(sentence_rows(result))

    def flush(self) -> None:
        """Append the rows added since the last flush as one row group."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            os.close(fd)
            self._tmp = Path(tmp)
            self._writer = pq.ParquetWriter(self._tmp, self.schema)
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def close(self) -> Path:
        self.flush()
        self._writer.close()
        os.chmod(self._tmp, 0o644)
        os.replace(self._tmp, self.path)
        self._writer = self._tmp = None
        return self.path

    def abort(self) -> None:
        """Drop the unfinished file (a run stopped at once): no half-written table is left behind."""
        if self._writer is not None:
            self._writer.close()
            self._tmp.unlink(missing_ok=True)
            self._writer = self._tmp = None


class ReportWriter:
    """Writes each article's reports as soon as it is scored, then the summary: what ``mtqa score`` does.

    Streaming matters for big corpora: finished articles are on disk even if the run stops early, and only
    each article's summary row (no text) and its share of the corpus figures (:class:`CorpusStats`) stay in
    memory. Call :meth:`flush` after each chunk to append its sentences to ``sentences.parquet``.
    """

    def __init__(self, out_dir: str | Path, signature: str) -> None:
        self.out_dir = Path(out_dir)
        self.signature = signature
        self.rows: list[dict] = []  # summary_rows of every article added, in input order
        self.stats = CorpusStats()
        self.stems: dict[str, str] = {}
        self._taken: set[str] = set()
        self._reserved: dict[str, str] = {}  # stems handed out by stem() and not yet used by add()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.sentences = SentenceTable(self.out_dir / "sentences.parquet", signature)
        self.run: dict | None = None  # run_record(...) of the run, when known: written as run.json

    def stem(self, article_id: str) -> str:
        """The file stem the next :meth:`add` of ``article_id`` will use (reserved now, in input order)."""
        if article_id not in self._reserved:
            self._reserved[article_id] = safe_id(article_id, self._taken)
        return self._reserved[article_id]

    def add(self, result: ArticleResult, write: bool = True) -> dict[str, Path]:
        """Record ``result`` for the summary and write its reports (``write=False``: they are on disk already;
        a ``not_done`` result gets no report files, only its summary row)."""
        self.stats.add(result)
        if result.status == "not_done":
            self.rows.append(summary_row(result))
            return {}
        stem = self._reserved.pop(result.id, None) or safe_id(result.id, self._taken)
        self.stems[result.id] = stem
        self.rows.append(summary_row(result, stem))
        self.sentences.add(result)
        if not write:
            return {ext: self.out_dir / "articles" / f"{stem}.{ext}" for ext in ("json", "md", "html")}
        return write_article(result, self.out_dir, stem)

    def flush(self) -> None:
        """Append the sentences of the articles added so far to ``sentences.parquet``."""
        self.sentences.flush()

    def finished(self, article_id: str, input_name: str) -> ArticleResult | None:
        """The report a previous run wrote for this article, when it can be reused: status ok, the same
        input and id, and the same signature as this run. Anything else (missing, unreadable, stale): None."""
        path = self.out_dir / "articles" / f"{self.stem(article_id)}.json"
        try:
            prev = article_from_dict(_load_json(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        same = prev.id == article_id and prev.input == input_name and prev.signature == self.signature
        return prev if same and prev.status == "ok" else None

    def close(self) -> dict[str, Path]:
        """Write ``sentences.parquet`` and the summary files; returns their paths."""
        sentences = self.sentences.close()
        return {**_write_summary_files(self.rows, self.stats, self.out_dir, self.signature, self.run),
                "sentences": sentences}

    def abort(self) -> None:
        """Stop without a summary (a second interrupt, a model that does not load): leave no temporary file."""
        self.sentences.abort()

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Close on success; on an error, abort (no summary claiming a finished run, no temporary file)."""
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_reports(results: list[ArticleResult], out_dir: str | Path, signature: str = "") -> dict[str, Path]:
    """Write every article's JSON/Markdown/HTML and the corpus summary under ``out_dir``."""
    writer = ReportWriter(out_dir, signature or (results[0].signature if results else ""))
    for r in results:
        writer.add(r)
    return writer.close()
