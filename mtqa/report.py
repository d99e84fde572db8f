"""Per-article reports (JSON, Markdown, HTML) and the run summary (Parquet, CSV, index.html).

The JSON is a contract (``mtqa.article/1``) parsed by other tools, so its keys and their order are fixed
here and nowhere else. The HTML is for editors: it shows the whole article as read, with garbled
sentences tinted and the exact problem spans marked. Everything that ends up in a file is written
atomically (temp file in the same directory, then ``os.replace``) so an interrupted run never leaves a
half-written report that looks complete.
"""

from __future__ import annotations

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
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mtqa.types import SEVERITY_RANK, ArticleFinding, ArticleResult, Finding, Segment

SCHEMA = "mtqa.article/1"

MAX_STEM = 100  # safe_id stems are at most this long (plus "-N" when made unique against `taken`)
_HASH_LEN = 10
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_SAFE_STEM = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
# Names Windows refuses whatever the extension; reports are often copied onto shared drives.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(10))}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_TINT_MIN = 0.3  # unflagged sentences are tinted only from this score up, so the page is not all pink

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


def _jsonable(x: Any) -> Any:
    """Plain JSON values from whatever the features hold (numpy/torch scalars and arrays, NaN, tuples)."""
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


def _to_json(result: ArticleResult) -> str:
    return json.dumps(article_to_dict(result), ensure_ascii=False, indent=1, allow_nan=False) + "\n"


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


def _break_title(seg: Segment, text: str) -> tuple[int, int, str] | None:
    span = _span(seg.features.get("break"), seg.start, seg.end)
    if span is None:
        return None
    score = _score(seg.features["break"].get("score"))
    extra = f", {score:.2f}" if score is not None else ""
    return (*span, f"lm-break: unlikely continuation \u201c{text[span[0]:span[1]]}\u201d{extra}")


def _finding_title(code: str, message: str, severity: str) -> str:
    return f"{code}: {message} ({severity})"


def _lm_summary(seg: Segment, text: str) -> str:
    """One line of the LM evidence in the features, for the flagged table and the Markdown."""
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
    return ", ".join(parts)


# --------------------------------------------------------------------------- HTML article


@dataclass
class _Chunk:
    """Consecutive text of one line belonging to one segment (or to none)."""

    seg: dict | None
    anchor: bool
    pieces: list[tuple[str, str]] = field(default_factory=list)  # (text, mark title or "")


def _seg_view(seg: Segment) -> dict:
    score = _score(seg.score)
    classes = ["seg", seg.kind]
    style = ""
    if seg.kind != "boilerplate" and score is not None and (seg.flagged or score >= _TINT_MIN):
        classes.append("tint")
        style = f"--a:{0.12 + 0.5 * min(max(score, 0.0), 1.0):.2f}"
    if seg.flagged:
        classes.append("flagged")
    tip = [seg.kind] + ([f"score {score:.3f}"] if score is not None else [])
    tip += ["flagged"] if seg.flagged else []
    if seg.kind == "boilerplate":
        tip += [_finding_title(f.code, f.message, f.severity) for f in seg.findings]
    return {
        "index": seg.index, "kind": seg.kind, "cls": " ".join(classes), "style": style,
        "score": "" if score is None else f"{score:.3f}", "tip": "\n".join(tip),
    }


def _pieces(text: str, seg: Segment, start: int, end: int) -> Iterator[tuple[str, str]]:
    """Split a segment at every span boundary; a piece covered by any span is marked with all titles."""
    spans: list[tuple[int, int, str]] = []
    if seg.kind != "boilerplate":  # boilerplate findings go in the tooltip; marking whole lines is noise
        for f in seg.findings:
            s, e = max(f.start, start), min(f.end, end)
            if e > s:
                spans.append((s, e, _finding_title(f.code, f.message, f.severity)))
        if seg.flagged and (brk := _break_title(seg, text)) is not None:
            s, e = max(brk[0], start), min(brk[1], end)
            if e > s:
                spans.append((s, e, brk[2]))
    cuts = sorted({start, end, *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    for a, b in zip(cuts, cuts[1:], strict=False):
        titles = list(dict.fromkeys(t for s, e, t in spans if s <= a and b <= e))
        yield text[a:b], "\n".join(titles)


def _article_lines(result: ArticleResult) -> list[dict]:
    """The article as read, cut into display lines of chunks; nothing of the text is dropped."""
    text, n = result.text, len(result.text)
    atoms: list[tuple[str, dict | None, str]] = []
    views: dict[int, dict] = {}
    pos = 0
    for seg in sorted(result.segments, key=lambda s: (s.start, s.end)):
        start = min(max(seg.start, pos, 0), n)
        end = max(start, min(seg.end, n))
        if end == start:
            continue
        if start > pos:
            atoms.append((text[pos:start], None, ""))
        view = views.setdefault(id(seg), _seg_view(seg))
        atoms.extend((piece, view, title) for piece, title in _pieces(text, seg, start, end))
        pos = end
    if pos < n:
        atoms.append((text[pos:], None, ""))

    lines: list[list[_Chunk]] = [[]]
    anchored: set[int] = set()
    for piece, view, title in atoms:
        for i, part in enumerate(_LINE_BREAK.split(piece)):
            if i:
                lines.append([])
            if not part:
                continue
            line = lines[-1]
            if not line or line[-1].seg is not view:
                first = view is not None and id(view) not in anchored
                if view is not None:
                    anchored.add(id(view))
                line.append(_Chunk(view, first))
            line[-1].pieces.append((part, title))

    out = []
    for chunks in lines:
        kinds = {c.seg["kind"] for c in chunks if c.seg}
        if not kinds and not "".join(p for c in chunks for p, _ in c.pieces).strip():
            continue  # blank lines: paragraph spacing already separates lines
        cls = "title-line" if "title" in kinds else "boilerplate-line" if kinds == {"boilerplate"} else ""
        out.append({"cls": cls, "chunks": chunks})
    return out


def _flagged_rows(result: ArticleResult) -> list[dict]:
    rows = []
    for s in _flagged_worst_first(result):
        findings = [
            {"title": _finding_title(f.code, f.message, f.severity), "severity": f.severity,
             "span": result.text[f.start:f.end]}
            for f in s.findings
        ]
        rows.append({
            "index": s.index, "score": _fmt(_score(s.score)), "findings": findings,
            "lm": _lm_summary(s, result.text), "text": s.text,
        })
    return rows


def render_html(result: ArticleResult) -> str:
    """The editor's page for one article (self-contained, autoescaped)."""
    return _env.get_template("article.html.j2").render(
        r=result,
        title=_display_title(result),
        score=_fmt(_score(result.score)),
        verdict=(result.verdict if result.status == "ok" else None) or result.status,
        lines=_article_lines(result),
        flagged=_flagged_rows(result),
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


def summary_rows(results: list[ArticleResult], stems: dict[str, str] | None = None) -> list[dict]:
    """One flat row per article, in input order, for Parquet/CSV and the index page; articles compared with
    a reference also get its BLEU, chrF and TER."""
    stems = stems or {}
    rows = []
    for r in results:
        ok = r.status == "ok"
        stem = stems.get(r.id)
        ref = (r.reference or {}) if ok else {}
        rows.append({
            "id": r.id,
            "title": _found_title(r),
            "input": r.input,
            "status": r.status,
            "error": r.error,
            "score": _score(r.score) if ok else None,
            "verdict": r.verdict if ok else None,
            "n_sentences": r.n_sentences,
            "n_flagged": r.n_flagged,
            "top_finding": _top_finding(r),
            "report": f"articles/{stem}.html" if stem else "",
            **{c: _score(ref.get(c)) for c in REFERENCE_COLUMNS if ref},
        })
    return rows


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


def render_index(rows: list[dict], signature: str) -> str:
    """The run's index page: error rows first, then articles by score, worst first."""
    errors = [r for r in rows if r["status"] != "ok"]
    ok = sorted(
        (r for r in rows if r["status"] == "ok"),
        key=lambda r: (r["score"] is None, -(r["score"] or 0.0)),
    )
    counts = Counter(r["verdict"] or "n/a" for r in ok)
    return _env.get_template("index.html.j2").render(
        errors=errors, ok=ok, counts=counts, n_errors=len(errors), total=len(rows),
        signature=signature, fmt=_fmt,
    )


def write_summary(
    results: list[ArticleResult], out_dir: Path, stems: dict[str, str], signature: str
) -> dict[str, Path]:
    """Write ``summary.parquet``, ``summary.csv`` and ``index.html`` under ``out_dir``."""
    out_dir = Path(out_dir)
    rows = summary_rows(results, stems)
    df = _summary_frame(rows)
    paths = {
        "parquet": out_dir / "summary.parquet",
        "csv": out_dir / "summary.csv",
        "html": out_dir / "index.html",
    }
    _write_atomic(paths["parquet"], _parquet_bytes(df, signature))
    _write_atomic(paths["csv"], df.to_csv(index=False, lineterminator="\n"), errors="replace")
    _write_atomic(paths["html"], render_index(rows, signature), errors="replace")
    return paths


class ReportWriter:
    """Writes each article's reports as soon as it is scored, then the summary: what ``mtqa score`` does.

    Streaming matters for big corpora: finished articles are on disk even if the run stops early.
    """

    def __init__(self, out_dir: str | Path, signature: str) -> None:
        self.out_dir = Path(out_dir)
        self.signature = signature
        self.results: list[ArticleResult] = []
        self.stems: dict[str, str] = {}
        self._taken: set[str] = set()
        self._reserved: dict[str, str] = {}  # stems handed out by stem() and not yet used by add()
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def stem(self, article_id: str) -> str:
        """The file stem the next :meth:`add` of ``article_id`` will use (reserved now, in input order)."""
        if article_id not in self._reserved:
            self._reserved[article_id] = safe_id(article_id, self._taken)
        return self._reserved[article_id]

    def add(self, result: ArticleResult, write: bool = True) -> dict[str, Path]:
        """Record ``result`` for the summary and write its reports (``write=False``: they are on disk already;
        a ``not_done`` result gets no report files, only its summary row)."""
        self.results.append(result)
        if result.status == "not_done":
            return {}
        stem = self._reserved.pop(result.id, None) or safe_id(result.id, self._taken)
        self.stems[result.id] = stem
        if not write:
            return {ext: self.out_dir / "articles" / f"{stem}.{ext}" for ext in ("json", "md", "html")}
        return write_article(result, self.out_dir, stem)

    def finished(self, article_id: str, input_name: str) -> ArticleResult | None:
        """The report a previous run wrote for this article, when it can be reused: status ok, the same
        input and id, and the same signature as this run. Anything else (missing, unreadable, stale): None."""
        path = self.out_dir / "articles" / f"{self.stem(article_id)}.json"
        try:
            prev = article_from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        same = prev.id == article_id and prev.input == input_name and prev.signature == self.signature
        return prev if same and prev.status == "ok" else None

    def close(self) -> dict[str, Path]:
        return write_summary(self.results, self.out_dir, self.stems, self.signature)


def write_reports(results: list[ArticleResult], out_dir: str | Path, signature: str = "") -> dict[str, Path]:
    """Write every article's JSON/Markdown/HTML and the corpus summary under ``out_dir``."""
    writer = ReportWriter(out_dir, signature or (results[0].signature if results else ""))
    for r in results:
        writer.add(r)
    return writer.close()
