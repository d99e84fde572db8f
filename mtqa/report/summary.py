"""The run summary: one flat row per article (``summary.parquet``, ``summary.csv``) and the index page with its
score histograms and per-rule counts, added up an article at a time so a run never holds its articles."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
from markupsafe import Markup

from mtqa.repair import n_suggestions
from mtqa.report.contract import as_number
from mtqa.report.display import BANDS, ENV, HISTOGRAM_BINS, UNTINTED, band_index, fmt, found_title, valid_utf8
from mtqa.report.files import write_atomic
from mtqa.text import truncate
from mtqa.types import SEVERITY_RANK, ArticleResult

SUMMARY_COLUMNS = [
    "id",
    "title",
    "input",
    "status",
    "error",
    "score",
    "verdict",
    "n_sentences",
    "n_flagged",
    "n_suggestions",
    "top_finding",
    "report",
]


#: Article figures against the reference, added to the summary when some article of the run had one.
REFERENCE_COLUMNS = ["bleu", "chrf", "ter"]


def top_finding(result: ArticleResult) -> str:
    """The most severe finding, ties broken by the score of its sentence (article findings: the article's)."""
    best: tuple[tuple[int, float, int], str] | None = None
    order = 0
    art_score = as_number(result.score) or 0.0
    cands = [(f, as_number(s.score) or 0.0) for s in result.segments for f in s.findings]
    cands += [(f, art_score) for f in result.article_findings]
    for f, score in cands:
        order -= 1  # earlier findings win ties
        key = (SEVERITY_RANK.get(f.severity, 0), score, order)
        if best is None or key > best[0]:
            best = (key, f"{f.code}: {f.message}")
    if best is None:
        return ""
    return truncate(best[1], 120)


def summary_columns(rows: list[dict]) -> list[str]:
    """The summary's columns: the fixed ones, plus the reference figures when some article had a reference."""
    return SUMMARY_COLUMNS + [c for c in REFERENCE_COLUMNS if any(c in row for row in rows)]


def summary_row(result: ArticleResult, stem: str | None = None) -> dict:
    """The flat summary row of one article (no article text): what the summary files and index page show."""
    ok = result.status == "ok"
    ref = (result.reference or {}) if ok else {}
    return {
        "id": result.id,
        "title": found_title(result),
        "input": result.input,
        "status": result.status,
        "error": result.error,
        "score": as_number(result.score) if ok else None,
        "verdict": result.verdict if ok else None,
        "n_sentences": result.n_sentences,
        "n_flagged": result.n_flagged,
        "n_suggestions": n_suggestions(result),
        "top_finding": top_finding(result),
        "report": f"articles/{stem}.html" if stem else "",
        **{c: as_number(ref.get(c)) for c in REFERENCE_COLUMNS if ref},
    }


def summary_rows(results: list[ArticleResult], stems: dict[str, str] | None = None) -> list[dict]:
    """One flat row per article, in input order, for Parquet/CSV and the index page; articles compared with
    a reference also get its BLEU, chrF and TER."""
    stems = stems or {}
    return [summary_row(r, stems.get(r.id)) for r in results]


def summary_frame(rows: list[dict]):
    import pandas as pd

    clean = [{k: valid_utf8(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]
    columns = summary_columns(rows)
    df = pd.DataFrame(clean, columns=columns)
    for col in ("score", *(c for c in REFERENCE_COLUMNS if c in columns)):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("n_sentences", "n_flagged", "n_suggestions"):
        df[col] = df[col].astype("int64")
    return df


def parquet_bytes(df, signature: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"mtqa.signature"] = signature.encode("utf-8", "replace")
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def bin_counts(scores: list[float]) -> list[int]:
    """How many scores fall in each of HISTOGRAM_BINS equal bins over [0, 1] (1.0 in the last)."""
    bins = np.minimum(
        (np.clip(np.asarray(scores, dtype=float), 0.0, 1.0) * HISTOGRAM_BINS).astype(int), HISTOGRAM_BINS - 1
    )
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
        scores = [v for s in result.segments if s.kind == "body" and (v := as_number(s.score)) is not None]
        self.sentence_counts = [a + b for a, b in zip(self.sentence_counts, bin_counts(scores), strict=True)]
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
        bars.append(
            {
                "x": round(c["left"] + i * plot_w / n + 0.5, 1),
                "y": round(base - height, 1),
                "w": round(plot_w / n - 1, 1),
                "h": round(height, 1),
                "colour": BANDS[band_index(lo)].colour or UNTINTED,
                "title": f"{lo:.2f}\u2013{hi:.2f}: {_plural(count, noun)}",
                "count": count,
            }
        )
    xticks = [{"x": round(c["left"] + plot_w * t, 1), "label": f"{t:g}"} for t in (0, 0.25, 0.5, 0.75, 1)]
    busy = [b["title"] for b, count in zip(bars, counts, strict=True) if count]
    desc = f"{_plural(sum(counts), noun)} by score" + (": " + "; ".join(busy) if busy else "")
    return {**c, "bars": bars, "xticks": xticks, "base": base, "plot_right": c["width"] - c["right"], "desc": desc}


_INDEX_JS = (Path(__file__).parent.parent / "templates" / "index.js").read_text(encoding="utf-8")


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
    return ENV.get_template("index.html.j2").render(
        errors=errors,
        ok=ok,
        counts=counts,
        n_errors=len(errors),
        total=len(rows),
        signature=signature,
        fmt=fmt,
        article_chart=histogram_chart(bin_counts(article_scores), "article"),
        sentence_chart=histogram_chart(stats.sentence_counts, "sentence"),
        rules=stats.rule_rows(),
        lm_only=stats.lm_only,
        run=run or {},
        script=Markup(_INDEX_JS),
        script_csp=_INDEX_JS_CSP,
    )


def write_summary_files(
    rows: list[dict], stats: CorpusStats, out_dir: Path, signature: str, run: dict | None = None
) -> dict[str, Path]:
    out_dir = Path(out_dir)
    df = summary_frame(rows)
    paths = {
        "parquet": out_dir / "summary.parquet",
        "csv": out_dir / "summary.csv",
        "html": out_dir / "index.html",
    }
    write_atomic(paths["parquet"], parquet_bytes(df, signature))
    write_atomic(paths["csv"], df.to_csv(index=False, lineterminator="\n"), errors="replace")
    write_atomic(paths["html"], render_index(rows, signature, stats, run), errors="replace")
    if run:
        paths["run"] = out_dir / "run.json"
        write_atomic(paths["run"], orjson.dumps(run, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
    return paths
