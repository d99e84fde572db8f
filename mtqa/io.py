"""Reading articles from what users have: text files, folders, JSONL/CSV/Parquet corpora.

Every input either becomes an :class:`Article` or a :class:`ReadError` naming the file (and line or
row); nothing is dropped silently, and one bad row never stops the rest of the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from mtqa.types import Article, ReadError

TEXT_SUFFIXES = {".txt", ".text"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".parquet"}
SUPPORTED = TEXT_SUFFIXES | CORPUS_SUFFIXES
OPTIONAL_COLUMNS = ("title", "url", "reference", "source")


def decode(data: bytes, where: str) -> str:
    """UTF-8 (a BOM is dropped); anything else is an error naming the input."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not valid UTF-8 (byte {exc.start}): {exc.reason}") from None


def _clean(value) -> str | None:
    """Corpus cells arrive as str, None, NaN or numbers; keep real strings only."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    return str(value)


def _record_to_article(rec: dict, where: str, default_id: str) -> Article | ReadError:
    if not isinstance(rec, dict):
        return ReadError(where, f"expected an object with 'id' and 'text', got {type(rec).__name__}")
    art_id = _clean(rec.get("id")) or default_id
    text = _clean(rec.get("text"))
    if "text" not in rec:
        return ReadError(where, "no 'text' field", id=art_id)
    if text is None or not text.strip():
        return ReadError(where, "empty or null 'text'", id=art_id)
    extra = {k: _clean(rec.get(k)) for k in OPTIONAL_COLUMNS}
    return Article(id=art_id, text=text, input=where, **extra)


def read_text_file(path: Path) -> Iterator[Article | ReadError]:
    """One scraped article per file; its id is the file name without suffix."""
    try:
        text = decode(path.read_bytes(), str(path))
    except (OSError, ValueError) as exc:
        yield ReadError(str(path), str(exc), id=path.stem)
        return
    if not text.strip():
        yield ReadError(str(path), "empty file", id=path.stem)
        return
    yield Article(id=path.stem, text=text, input=str(path))


def read_jsonl(path: Path) -> Iterator[Article | ReadError]:
    """Line by line (not pandas.read_json) so one malformed line is reported and the rest still read."""
    try:
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    yield _jsonl_line(raw, f"{path}:{lineno}", f"{path.stem}-{lineno}")
    except OSError as exc:
        yield ReadError(str(path), str(exc))


def _jsonl_line(raw: bytes, where: str, default_id: str) -> Article | ReadError:
    try:
        rec = json.loads(decode(raw, where))
    except ValueError as exc:
        return ReadError(where, f"malformed JSON: {exc}")
    return _record_to_article(rec, where, default_id)


def read_table(path: Path) -> Iterator[Article | ReadError]:
    """CSV and Parquet through pandas; rows are numbered from 1 after the header (CSV line = row + 1)."""
    import pandas as pd

    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except Exception as exc:  # pandas raises many types for unreadable files
        yield ReadError(str(path), f"could not read table: {exc}")
        return
    if "text" not in df.columns:
        yield ReadError(str(path), f"no 'text' column (columns: {', '.join(map(str, df.columns))})")
        return
    line_of = (lambda i: i + 2) if path.suffix != ".parquet" else (lambda i: i + 1)
    for i, rec in enumerate(df.to_dict(orient="records")):
        label = "line" if path.suffix != ".parquet" else "row"
        where = f"{path}:{line_of(i)}" if label == "line" else f"{path}#row{line_of(i)}"
        yield _record_to_article(rec, where, f"{path.stem}-{line_of(i)}")


def read_path(path: Path) -> Iterator[Article | ReadError]:
    """Read one file by its suffix."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from read_jsonl(path)
    elif suffix in (".csv", ".parquet"):
        yield from read_table(path)
    else:
        yield from read_text_file(path)


def read_inputs(paths: Iterable[str | Path]) -> Iterator[Article | ReadError]:
    """Articles from files and folders (recursively, supported suffixes, sorted), in order.

    Duplicate ids are kept apart: the second ``x`` becomes ``x~2`` so no report overwrites another.
    """
    seen: dict[str, int] = {}
    for item in _expand(paths):
        if isinstance(item, ReadError):
            yield item
            continue
        for rec in read_path(item):
            if rec.id is not None:
                count = seen.get(rec.id, 0) + 1
                seen[rec.id] = count
                if count > 1:
                    new_id = f"{rec.id}~{count}"
                    rec = (Article(**{**rec.__dict__, "id": new_id}) if isinstance(rec, Article)
                           else ReadError(rec.input, rec.message, id=new_id))
            yield rec


def _expand(paths: Iterable[str | Path]) -> Iterator[Path | ReadError]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED
                           and not f.name.startswith("."))
            if not files:
                yield ReadError(str(path), f"folder has no readable files ({', '.join(sorted(SUPPORTED))})")
            yield from files
        elif path.is_file():
            yield path
        else:
            yield ReadError(str(path), "no such file or folder")
