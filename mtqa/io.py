"""Reading articles from what users have: text files, folders, JSONL/CSV/Parquet corpora, saved web pages,
RSS/Atom feeds and JSONL on standard input (``-``).

Every input either becomes an :class:`Article` or a :class:`ReadError` naming the file (and line or
row); nothing is dropped silently, and one bad row never stops the rest of the batch.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from mtqa.types import Article, ReadError

TEXT_SUFFIXES = {".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".parquet"}
FEED_SUFFIXES = {".rss", ".atom", ".xml"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | CORPUS_SUFFIXES | FEED_SUFFIXES
STDIN = "-"  # an input of "-" is JSONL read from standard input
STDIN_NAME = "<stdin>"
OPTIONAL_COLUMNS = ("title", "url", "reference", "source")


def decode_text(data: bytes) -> tuple[str, str | None]:
    """``(text, note)``: UTF-8 (a BOM is dropped); otherwise cp1252 when it decodes, else latin-1 (which
    always does). ``note`` says what was done ("not valid UTF-8 (byte 17); decoded as cp1252") or is None."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # utf-8-sig counts after the BOM; keep dropping it
        bad, data = exc.start + bom, data[bom:]
    for codec in ("cp1252", "latin-1"):
        try:
            return data.decode(codec), f"not valid UTF-8 (byte {bad}); decoded as {codec}"
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def is_binary(data: bytes) -> bool:
    """NUL bytes, or more than 10% control characters (other than tab, newlines, form feed) in the first 8 KiB."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    return bool(head) and len(_CONTROL.findall(head.decode("latin-1"))) > 0.1 * len(head)


def _clean(value) -> str | None:
    """Corpus cells arrive as str, None, NaN or numbers; keep real strings only."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    return str(value)


Notes = tuple[tuple[str, str], ...]  # (finding code, message) about how an input was read


def _encoding_notes(note: str | None) -> Notes:
    return (("input-encoding", note),) if note else ()


def _record_to_article(rec: dict, where: str, default_id: str, notes: Notes = ()) -> Article | ReadError:
    if not isinstance(rec, dict):
        return ReadError(where, f"expected an object with 'id' and 'text', got {type(rec).__name__}")
    art_id = _clean(rec.get("id")) or default_id
    text = _clean(rec.get("text"))
    if "text" not in rec:
        return ReadError(where, "no 'text' field", id=art_id)
    if text is None or not text.strip():
        return ReadError(where, "empty or null 'text'", id=art_id)
    extra = {k: _clean(rec.get(k)) for k in OPTIONAL_COLUMNS}
    return Article(id=art_id, text=text, input=where, notes=notes, **extra)


def read_text_file(path: Path) -> Iterator[Article | ReadError]:
    """One scraped article per file; its id is the file name without suffix."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield ReadError(str(path), f"cannot read {path}: {exc.strerror or exc}", id=path.stem)
        return
    if is_binary(data):
        yield ReadError(str(path), f"binary file, not text: {path}", id=path.stem)
        return
    text, note = decode_text(data)
    if not text.strip():
        yield ReadError(str(path), "empty file", id=path.stem)
        return
    yield Article(id=path.stem, text=text, input=str(path), notes=_encoding_notes(note))


def read_html_file(path: Path) -> Iterator[Article | ReadError]:
    """A saved web page: trafilatura (offline) extracts the article text, one paragraph per line.

    The article text, and so every offset in the reports, is the extracted text; the page's title is
    put on the first line when the extraction does not start with it, so the title is found as usual.
    """
    import trafilatura

    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield ReadError(str(path), str(exc), id=path.stem)
        return
    try:
        text = trafilatura.extract(raw, include_comments=False, favor_recall=True)
        meta = trafilatura.extract_metadata(raw)
    except Exception as exc:  # lxml and trafilatura raise many types on broken markup
        yield ReadError(str(path), f"could not parse HTML: {exc}", id=path.stem)
        return
    if not text or not text.strip():
        yield ReadError(str(path), "no article text found in the HTML page", id=path.stem)
        return
    title = (meta.title or "").strip() if meta else ""
    if title and not text.startswith(title):
        text = f"{title}\n{text}"
    yield Article(id=path.stem, text=text, input=str(path), url=(meta.url if meta else None) or None)


def read_jsonl(path: Path) -> Iterator[Article | ReadError]:
    """Line by line (not pandas.read_json) so one malformed line is reported and the rest still read."""
    try:
        with open(path, "rb") as fh:
            yield from _jsonl_lines(fh, str(path), path.stem)
    except OSError as exc:
        yield ReadError(str(path), str(exc))


def read_stdin(stream: BinaryIO | None = None) -> Iterator[Article | ReadError]:
    """JSONL on standard input (the input ``-``): lines are named ``<stdin>:LINE``, default ids ``stdin-LINE``."""
    fh = stream if stream is not None else sys.stdin.buffer
    try:
        yield from _jsonl_lines(fh, STDIN_NAME, "stdin")
    except OSError as exc:
        yield ReadError(STDIN_NAME, str(exc))


def _jsonl_lines(fh: Iterable[bytes], name: str, stem: str) -> Iterator[Article | ReadError]:
    for lineno, raw in enumerate(fh, start=1):
        if raw.strip():
            yield _jsonl_line(raw, f"{name}:{lineno}", f"{stem}-{lineno}")


def _jsonl_line(raw: bytes, where: str, default_id: str) -> Article | ReadError:
    text, note = decode_text(raw)
    try:
        rec = json.loads(text)
    except ValueError as exc:
        return ReadError(where, f"malformed JSON: {exc}")
    return _record_to_article(rec, where, default_id, _encoding_notes(note))


TABLE_BATCH_ROWS = 1024  # rows read at a time from a CSV or Parquet corpus: memory stays bounded


def read_table(path: Path, batch_rows: int = TABLE_BATCH_ROWS) -> Iterator[Article | ReadError]:
    """CSV (pandas, in chunks) and Parquet (pyarrow, batch by batch): a corpus bigger than memory streams.

    Rows are numbered from 1 after the header: CSV errors name ``path:LINE`` (line = row + 1), Parquet
    errors ``path#rowN``. A file that breaks part-way (a damaged row group, a CSV row pandas cannot parse)
    yields what was read before it and then one error naming the file and the first row not read."""
    parquet = path.suffix.lower() == ".parquet"
    rows = _parquet_rows(path, batch_rows) if parquet else _csv_rows(path, batch_rows)
    n = 0
    try:
        for n, (rec, notes) in enumerate(rows, start=1):
            if rec is None:  # the header: no 'text' column
                yield ReadError(str(path), f"no 'text' column (columns: {', '.join(notes)})")
                return
            where = f"{path}#row{n}" if parquet else f"{path}:{n + 1}"
            yield _record_to_article(rec, where, f"{path.stem}-{n if parquet else n + 1}", notes)
    except Exception as exc:  # pandas and pyarrow raise many types for unreadable files
        at = f" from row {n + 1} on ({n} rows before it were read)" if n else ""
        yield ReadError(str(path), f"could not read table{at}: {' '.join(str(exc).split())}")


def _parquet_rows(path: Path, batch_rows: int) -> Iterator[tuple[dict | None, tuple]]:
    """``(record, ())`` per row, read batch by batch; ``(None, columns)`` first when there is no text column."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as pf:
        names = pf.schema_arrow.names
        if "text" not in names:
            yield None, tuple(map(str, names))
            return
        columns = [c for c in ("id", "text", *OPTIONAL_COLUMNS) if c in names]
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            for rec in batch.to_pylist():
                yield rec, ()


def _csv_rows(path: Path, batch_rows: int) -> Iterator[tuple[dict | None, Notes]]:
    """``(record, notes)`` per row, read ``batch_rows`` at a time in the encoding :func:`sniff_encoding` found."""
    import pandas as pd

    encoding, note = sniff_encoding(path)
    notes = _encoding_notes(note)
    options = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    with _open_text(path, encoding) as fh:
        columns = pd.read_csv(fh, nrows=0, **options).columns
    if "text" not in columns:
        yield None, tuple(map(str, columns))
        return
    with _open_text(path, encoding) as fh, pd.read_csv(fh, chunksize=batch_rows, **options) as reader:
        for frame in reader:
            for rec in frame.to_dict(orient="records"):
                yield rec, notes


@contextlib.contextmanager
def _open_text(path: Path, encoding: str) -> Iterator[TextIO]:
    """``path`` opened as text; a UTF-8 byte order mark is skipped whatever the codec, as decode_text does."""
    with open(path, "rb") as raw:
        bom = raw.read(3) == b"\xef\xbb\xbf"
    with open(path, encoding=encoding, newline="") as fh:
        if bom and encoding != "utf-8-sig":
            fh.read(3)  # the three characters the BOM's bytes decode to
        yield fh


def sniff_encoding(path: Path, block: int = 1 << 20) -> tuple[str, str | None]:
    """``(codec, note)`` for a whole file, as :func:`decode_text` would decide, reading it block by block:
    ``utf-8-sig`` when it is valid UTF-8, else ``cp1252`` when that decodes, else ``latin-1``."""
    import codecs

    def first_bad(codec: str) -> int | None:
        decoder, pos = codecs.getincrementaldecoder(codec)(), 0
        with open(path, "rb") as fh:
            while True:
                data = fh.read(block)
                try:
                    decoder.decode(data, final=not data)
                except UnicodeDecodeError as exc:
                    return pos + exc.start
                if not data:
                    return None
                pos += len(data)

    bad = first_bad("utf-8")  # the BOM is valid UTF-8; counting from the file start matches decode_text
    if bad is None:
        return "utf-8-sig", None
    codec = "cp1252" if first_bad("cp1252") is None else "latin-1"
    return codec, f"not valid UTF-8 (byte {bad}); decoded as {codec}"


_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "figure",
    "figcaption",
    "hr",
    "address",
}
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")
_SPACES = re.compile(r"[^\S\n]+")


def html_fragment_to_text(html: str) -> str:
    """Plain text of an HTML fragment (a feed item's content), one paragraph per line.

    lxml rather than trafilatura: trafilatura returns nothing for short fragments and drops repeated
    paragraphs, which would hide exactly the repetition damage mtqa looks for. ``<p>``, ``<br>`` and other
    block elements end lines (line breaks in the source do not); scripts and styles are dropped; spaces inside
    a line are collapsed.
    """
    import lxml.html
    from lxml import etree

    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return " ".join(html.split())
    for bad in root.xpath("|".join(f"//{t}" for t in _DROP_TAGS)):
        bad.drop_tree()
    for el in root.iter():
        # line breaks in the HTML source are spaces; only elements break lines
        el.text = el.text.replace("\n", " ") if el.text else el.text
        el.tail = el.tail.replace("\n", " ") if el.tail else el.tail
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif tag in _BLOCK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    lines = (_SPACES.sub(" ", line).strip() for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def _detail_text(detail, fallback: str | None) -> str:
    """A feedparser text construct as plain text: HTML is converted, plain text kept as it is."""
    if detail is None:
        return (fallback or "").strip()
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or "text/html"):
        return html_fragment_to_text(value)
    return "\n".join(line.strip() for line in value.splitlines() if line.strip())


def read_feed(path: Path) -> Iterator[Article | ReadError]:
    """An RSS 2.0 or Atom feed (feedparser): every item becomes an article, named ``path#itemN``.

    id: the item's id/guid, else its link, else ``file#N``; text: the title line, then the content (or, when
    there is none, the summary) as plain text, one paragraph per line; url: the item's link.
    """
    import feedparser

    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield ReadError(str(path), str(exc), id=path.stem)
        return
    feed = feedparser.parse(raw)
    if not feed.entries:
        if feed.get("bozo"):
            why = f"not a readable RSS or Atom feed: {feed.get('bozo_exception')}"
        elif not feed.get("version"):
            why = "not an RSS or Atom feed"
        else:
            why = "feed has no items"
        yield ReadError(str(path), why, id=path.stem)
        return
    for n, entry in enumerate(feed.entries, start=1):
        where = f"{path}#item{n}"
        art_id = (entry.get("id") or entry.get("link") or "").strip() or f"{path.name}#{n}"
        title = _detail_text(entry.get("title_detail"), entry.get("title")).replace("\n", " ") or None
        content = entry.get("content") or []
        body = "\n".join(t for t in (_detail_text(c, None) for c in content) if t)
        if not body:
            body = _detail_text(entry.get("summary_detail"), entry.get("summary"))
        if not body.strip():
            yield ReadError(where, "feed item has no content or summary", id=art_id)
            continue
        text = f"{title}\n{body}" if title and not body.startswith(title) else body
        yield Article(id=art_id, text=text, input=where, title=title, url=entry.get("link") or None)


def read_path(path: Path) -> Iterator[Article | ReadError]:
    """Read one file by its suffix."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from read_jsonl(path)
    elif suffix in FEED_SUFFIXES:
        yield from read_feed(path)
    elif suffix in (".csv", ".parquet"):
        yield from read_table(path)
    elif suffix in HTML_SUFFIXES:
        yield from read_html_file(path)
    else:
        yield from read_text_file(path)


def read_inputs(paths: Iterable[str | Path]) -> Iterator[Article | ReadError]:
    """Articles from files and folders (recursively, supported suffixes, sorted) and ``-`` (JSONL on stdin).

    Duplicate ids are kept apart: the second ``x`` becomes ``x~2`` so no report overwrites another.
    """
    seen: dict[str, int] = {}
    for item in _expand(paths):
        if isinstance(item, ReadError):
            yield item
            continue
        for rec in read_stdin() if item is None else read_path(item):
            if rec.id is not None:
                count = seen.get(rec.id, 0) + 1
                seen[rec.id] = count
                if count > 1:
                    new_id = f"{rec.id}~{count}"
                    note = f"id {rec.id!r} occurs {count} times in the input; this copy is reported as {new_id!r}"
                    rec = (
                        Article(**{**rec.__dict__, "id": new_id, "notes": (*rec.notes, ("duplicate-id", note))})
                        if isinstance(rec, Article)
                        else ReadError(rec.input, f"{rec.message} ({note})", id=new_id)
                    )
            yield rec


def count_inputs(paths: Iterable[str | Path]) -> int | None:
    """How many items :func:`read_inputs` will yield, when that is cheap to know without reading the corpora:
    text files and pages are one each, a Parquet file its row count (from its footer); None as soon as an
    input is a JSONL or CSV corpus, a feed or standard input, which would have to be read twice to count."""
    import pyarrow.parquet as pq

    total = 0
    for item in _expand(paths):
        if item is None:
            return None
        suffix = "" if isinstance(item, ReadError) else item.suffix.lower()
        if suffix == ".parquet":
            try:
                total += pq.read_metadata(item).num_rows
            except Exception:  # unreadable: read_table will make it one error row
                total += 1
        elif suffix in CORPUS_SUFFIXES or suffix in FEED_SUFFIXES:
            return None
        else:
            total += 1
    return total


def _expand(paths: Iterable[str | Path]) -> Iterator[Path | ReadError | None]:
    """Files to read in order; ``None`` stands for standard input (``-``, read once)."""
    stdin_read = False
    for p in paths:
        if str(p) == STDIN:
            if stdin_read:
                yield ReadError(STDIN_NAME, "'-' given more than once; standard input is read once")
            else:
                stdin_read = True
                yield None
            continue
        path = Path(p)
        if path.is_dir():
            try:
                # a dangling link or an unreadable file is listed too, so it becomes a ReadError naming it
                files = sorted(
                    f
                    for f in path.rglob("*")
                    if f.suffix.lower() in SUPPORTED and not f.name.startswith(".") and (f.is_file() or not f.exists())
                )
            except OSError as exc:
                yield ReadError(str(path), f"cannot list folder: {exc}")
                continue
            if not files:
                yield ReadError(str(path), f"folder has no readable files ({', '.join(sorted(SUPPORTED))})")
            yield from files
        elif path.is_file():
            yield path
        else:
            yield ReadError(str(path), "no such file or folder")
