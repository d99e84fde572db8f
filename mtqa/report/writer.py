"""Writing a run's reports: each article's files as soon as it is scored, then the summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mtqa.report.contract import article_from_dict, load_json, to_json
from mtqa.report.files import check_stem, safe_id, write_atomic
from mtqa.report.html import render_html
from mtqa.report.markdown import render_markdown
from mtqa.report.sentences import SentenceTable
from mtqa.report.summary import CorpusStats, summary_row, write_summary_files
from mtqa.types import ArticleResult

#: The per-article formats, in the order they are written: suffix -> renderer (the one list of them).
FORMATS: dict[str, Callable[[ArticleResult], str]] = {"json": to_json, "md": render_markdown, "html": render_html}
# How each format's text becomes bytes: a lone surrogate becomes a JSON \uXXXX escape, which JSON readers take back.
_ERRORS = {"json": "backslashreplace", "md": "replace", "html": "replace"}


def write_article(result: ArticleResult, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``articles/<stem>.{json,md,html}`` under ``out_dir``; ``stem`` must come from safe_id."""
    paths = article_paths(out_dir, stem)
    for ext, render in FORMATS.items():
        write_atomic(paths[ext], render(result), errors=_ERRORS[ext])
    return paths


def article_paths(out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Where an article's reports go: ``articles/<stem>.<suffix>`` for each of :data:`FORMATS`."""
    check_stem(stem)
    return {ext: Path(out_dir) / "articles" / f"{stem}.{ext}" for ext in FORMATS}


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
            return article_paths(self.out_dir, stem)
        return write_article(result, self.out_dir, stem)

    def flush(self) -> None:
        """Append the sentences of the articles added so far to ``sentences.parquet``."""
        self.sentences.flush()

    def finished(self, article_id: str, input_name: str) -> ArticleResult | None:
        """The report a previous run wrote for this article, when it can be reused: status ok, the same
        input and id, and the same signature as this run. Anything else (missing, unreadable, stale): None."""
        path = self.out_dir / "articles" / f"{self.stem(article_id)}.json"
        try:
            prev = article_from_dict(load_json(path.read_bytes()))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        same = prev.id == article_id and prev.input == input_name and prev.signature == self.signature
        return prev if same and prev.status == "ok" else None

    def close(self) -> dict[str, Path]:
        """Write ``sentences.parquet`` and the summary files; returns their paths."""
        sentences = self.sentences.close()
        return {
            **write_summary_files(self.rows, self.stats, self.out_dir, self.signature, self.run),
            "sentences": sentences,
        }

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
