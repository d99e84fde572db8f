"""``sentences.parquet``: one row per body sentence of every scored article, appended a chunk at a time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mtqa.report.contract import as_number
from mtqa.report.display import valid_utf8
from mtqa.types import SEVERITY_RANK, ArticleResult, Segment

SENTENCE_COLUMNS = ["id", "index", "start", "end", "continues", "text", "score", "flagged", "top_finding"]


def top_code(seg: Segment) -> str | None:
    """The code of a sentence's most severe finding (the first of equals), or None."""
    if not seg.findings:
        return None
    return max(seg.findings, key=lambda f: SEVERITY_RANK.get(f.severity, 0)).code


def sentence_rows(result: ArticleResult) -> list[dict]:
    """One row per body sentence of ``result`` for ``sentences.parquet``: the figures of its JSON report."""
    return [
        {
            "id": valid_utf8(result.id),
            "index": int(s.index),
            "start": int(s.start),
            "end": int(s.end),
            "continues": s.continues,
            "text": valid_utf8(s.text),
            "score": as_number(s.score),
            "flagged": bool(s.flagged),
            "top_finding": top_code(s),
        }
        for s in result.segments
        if s.kind == "body"
    ]


class SentenceTable:
    """``sentences.parquet``, written as the run goes: each :meth:`flush` appends a row group, so a corpus of
    any size never has its sentences in memory at once. The file appears (atomically) at :meth:`close`."""

    def __init__(self, path: Path, signature: str) -> None:
        import pyarrow as pa

        self.path = Path(path)
        self.schema = pa.schema(
            [
                ("id", pa.string()),
                ("index", pa.int32()),
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("continues", pa.int32()),
                ("text", pa.string()),
                ("score", pa.float64()),
                ("flagged", pa.bool_()),
                ("top_finding", pa.string()),
            ],
            metadata={b"mtqa.signature": signature.encode("utf-8", "replace")},
        )
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
