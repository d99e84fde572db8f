"""``--json FILE``: a JSON list of ``mtqa.article/2`` records, each with ``"gate": {"passed", "reasons"}``.

Written as the run goes (one record at a time into a temporary file beside the target, renamed when the run
ends), so the gate never holds every article in memory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from mtqa.gate import GateOutcome
from mtqa.report.contract import article_to_dict, to_json_bytes
from mtqa.types import ArticleResult


def json_record(result: ArticleResult, outcome: GateOutcome) -> dict[str, Any]:
    return {**article_to_dict(result), "gate": {"passed": outcome.passed, "reasons": list(outcome.reasons)}}


class RecordsFile:
    """The records, streamed: ``add`` each, ``close`` to publish the file atomically (``abort`` drops it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._fh = os.fdopen(fd, "wb")
        self._fh.write(b"[")
        self._n = 0

    def add(self, result: ArticleResult, outcome: GateOutcome) -> None:
        self._fh.write(b",\n" if self._n else b"\n")
        self._fh.write(to_json_bytes(json_record(result, outcome)).rstrip(b"\n"))
        self._n += 1

    def close(self) -> Path:
        self._fh.write(b"\n]\n")
        self._fh.close()
        os.chmod(self._tmp, 0o644)
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)
