"""The JSON contracts: ``mtqa.article/2`` (one per article) and ``mtqa.run/1`` (``run.json``).

Other tools parse these, so their keys and order are fixed here and nowhere else, and values are always plain
JSON (numpy scalars, NaN and tuples from the features are converted).
"""

from __future__ import annotations

import json
import math
import numbers
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

import orjson

from mtqa.types import ArticleFinding, ArticleResult, Finding, Segment, Suggestion

SCHEMA = "mtqa.article/2"  # /2: findings carry their suggested repairs; /1 reports are stale for --resume


RUN_SCHEMA = "mtqa.run/1"


_PLAIN = (str, bool, int, type(None))


def jsonable(x: Any) -> Any:
    """Plain JSON values from whatever the features hold (numpy/torch scalars and arrays, NaN, tuples)."""
    # Exact-type fast paths first: a report holds thousands of plain numbers (per-token surprisals), and
    # the abstract-base-class checks below cost ten times more per value.
    t = type(x)
    if t in _PLAIN:
        return x
    if t is float:
        return x if math.isfinite(x) else None
    if t is list or t is tuple:
        return [jsonable(v) for v in x]
    if t is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in x.items()}
    if x is None or isinstance(x, (str, bool)):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if is_dataclass(x) and not isinstance(x, type):
        return jsonable(asdict(x))
    tolist = getattr(x, "tolist", None)  # numpy arrays and scalars (np.bool_, np.float32), torch tensors
    if callable(tolist):
        return jsonable(tolist())
    return str(x)


def as_number(x: Any) -> float | None:
    v = jsonable(x)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _suggestions(found: list[Suggestion]) -> list[dict]:
    return [
        {"start": int(x.start), "end": int(x.end), "replacement": x.replacement, "score": as_number(x.score)}
        for x in found
    ]


def _suggestions_from(d: Mapping[str, Any]) -> list[Suggestion]:
    return [
        Suggestion(int(x["start"]), int(x["end"]), str(x["replacement"]), x.get("score"))
        for x in d.get("suggestions") or []
    ]


def article_to_dict(result: ArticleResult) -> dict:
    """The ``mtqa.article/2`` record: exactly the contract keys, in contract order, JSON-safe values."""
    ok = result.status == "ok"
    return {
        "schema": SCHEMA,
        "id": result.id,
        "title": result.title,
        "input": result.input,
        "status": result.status,
        "error": result.error,
        "score": as_number(result.score) if ok else None,
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
                "continues": s.continues,
                "score": as_number(s.score),
                "flagged": bool(s.flagged),
                "features": jsonable(s.features or {}),
                "findings": [
                    {
                        "code": f.code,
                        "message": f.message,
                        "severity": f.severity,
                        "start": int(f.start),
                        "end": int(f.end),
                        "suggestions": _suggestions(f.suggestions),
                    }
                    for f in s.findings
                ],
                "reference": jsonable(s.reference),
            }
            for s in result.segments
        ],
        "article_findings": [
            {"code": f.code, "message": f.message, "severity": f.severity, "suggestions": _suggestions(f.suggestions)}
            for f in result.article_findings
        ],
        "reference": jsonable(result.reference),
    }


def article_from_dict(d: Mapping[str, Any]) -> ArticleResult:
    """An :class:`ArticleResult` back from its ``mtqa.article/2`` record (what ``--resume`` reuses).

    Raises ValueError (or KeyError/TypeError) on a record that is not ``mtqa.article/2``: an ``mtqa.article/1``
    report of an earlier version is stale, and ``--resume`` scores its article again."""
    if d.get("schema") != SCHEMA:
        raise ValueError(f"not an {SCHEMA} record")
    segments = [
        Segment(
            index=int(s["index"]),
            kind=s["kind"],
            text=s["text"],
            start=int(s["start"]),
            end=int(s["end"]),
            continues=s.get("continues"),
            score=s["score"],
            flagged=bool(s["flagged"]),
            features=dict(s.get("features") or {}),
            findings=[
                Finding(f["code"], f["message"], f["severity"], int(f["start"]), int(f["end"]), _suggestions_from(f))
                for f in s.get("findings") or []
            ],
            reference=_mapping_or_none(s.get("reference")),
        )
        for s in d.get("segments") or []
    ]
    return ArticleResult(
        id=d["id"],
        input=d["input"],
        title=d.get("title"),
        text=d.get("text") or "",
        status=d["status"],
        error=d.get("error"),
        score=d.get("score"),
        verdict=d.get("verdict"),
        segments=segments,
        article_findings=[
            ArticleFinding(f["code"], f["message"], f["severity"], _suggestions_from(f))
            for f in d.get("article_findings") or []
        ],
        signature=d.get("signature") or "",
        reference=_mapping_or_none(d.get("reference")),
    )


def _mapping_or_none(x: Any) -> dict | None:
    if x is None:
        return None
    if not isinstance(x, Mapping):
        raise TypeError(f"'reference' must be an object or null, got {type(x).__name__}")
    return dict(x)


def load_json(data: bytes) -> Any:
    """Parse a report written by :func:`to_json`: orjson (a re-run with ``--resume`` reads every report
    back), or the standard library for a report holding an escaped lone surrogate, which orjson refuses."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8"))


def to_json_bytes(record: dict) -> bytes:
    """A record as compact UTF-8 JSON with a final newline: orjson, or the standard library for text with lone
    surrogates (read with surrogateescape), which orjson refuses (written as JSON escapes)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
        return text.encode("utf-8", "backslashreplace")


def to_json(result: ArticleResult) -> str:
    """The article record as compact JSON text (``jq .`` indents it): a report is mostly per-token figures,
    which indentation puts one number to a line, making files 2.5x larger; a corpus writes thousands.
    orjson is several times faster than the standard library's encoder; text with lone surrogates (read
    with surrogateescape), which orjson refuses, goes through the standard one."""
    record = article_to_dict(result)
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode()
    except TypeError:
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def run_record(counts: Mapping[str, int], signature: str, reports_reused: int = 0) -> dict:
    """``run.json``: where this run's work went, so a reader can see what deduplication, the score cache
    and ``--resume`` saved (the per-article figures are in the summary table)."""
    c = Counter(counts)
    return {
        "schema": RUN_SCHEMA,
        "signature": signature,
        "articles_analysed": c["articles"] - c["articles_copied"],
        "articles_copied": c["articles_copied"],
        "reports_reused": reports_reused,
        "sentences_lm_scored": c["sentences_lm_scored"],
        "sentences_from_cache": c["sentences_cache_hits"],
        "sentences_repeated": c["sentences_reused"],
        "counts": dict(sorted(c.items())),
    }
