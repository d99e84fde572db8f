"""The persistent per-sentence score cache (SQLite), keyed by the scorer's signature and the sentence.

A re-run, an extended corpus or a refit of the calibration then costs only the new sentences. Values are the
raw token scores, so features computed from them can change without rescoring.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from mtqa.lm.base import TokenScores


class ScoreCache:
    """Persistent per-sentence LM scores, keyed by (scorer signature, sentence text), in SQLite."""

    def __init__(self, path: str | os.PathLike, signature: str) -> None:
        import sqlite3

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.signature = signature
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)  # workers share one file
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, offsets BLOB, logprob BLOB, entropy BLOB)"
        )
        self.hits = self.misses = 0

    def _key(self, sentence: str) -> str:
        return hashlib.sha256(f"{self.signature}\x00{sentence}".encode()).hexdigest()

    def get_many(self, sentences: list[str]) -> dict[str, TokenScores]:
        found: dict[str, TokenScores] = {}
        keys = {self._key(s): s for s in sentences}
        items = list(keys.items())
        for i in range(0, len(items), 500):
            part = dict(items[i : i + 500])
            marks = ",".join("?" * len(part))
            for key, offs, lp, ent in self._db.execute(
                f"SELECT key, offsets, logprob, entropy FROM scores WHERE key IN ({marks})", list(part)
            ):
                o = np.frombuffer(offs, dtype=np.int32).reshape(-1, 2)
                found[part[key]] = TokenScores(
                    [(int(a), int(b)) for a, b in o],
                    np.frombuffer(lp, dtype=np.float32).copy(),
                    np.frombuffer(ent, dtype=np.float32).copy(),
                )
        self.hits += len(found)
        self.misses += len(set(sentences)) - len(found)
        return found

    def put_many(self, items: dict[str, TokenScores]) -> None:
        rows = [
            (
                self._key(s),
                np.asarray(t.offsets, dtype=np.int32).reshape(-1, 2).tobytes(),
                t.logprob.astype(np.float32).tobytes(),
                t.entropy.astype(np.float32).tobytes(),
            )
            for s, t in items.items()
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
