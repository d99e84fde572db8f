"""Progress of a scoring run, on stderr: a live rich display in a terminal, plain lines (on request) in a log.

It shows articles and sentences done, sentences per second and, when the number of articles is known in
advance (text files, pages and Parquet corpora: see :func:`mtqa.io.count_inputs`), the time left. A log that
is not a terminal stays quiet unless ``log_every`` asks for one line every that many chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@dataclass
class Done:
    """What a run has got through so far."""

    articles: int = 0
    sentences: int = 0
    chunks: int = 0


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class RunProgress:
    """Call :meth:`update` after each chunk; use as a context manager around the run."""

    def __init__(
        self,
        total: int | None = None,
        *,
        log_every: int = 0,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.log_every = log_every
        self.console = console or Console(stderr=True)
        self.clock = clock
        self.done = Done()
        self._start = clock()
        self._live: Progress | None = None
        self._task = None

    def __enter__(self) -> RunProgress:
        self._start = self.clock()
        if self.console.is_terminal:
            columns = [SpinnerColumn(), TextColumn("articles"), MofNCompleteColumn()]
            if self.total is not None:
                columns.insert(2, BarColumn())
            columns += [TextColumn("{task.fields[line]}"), TimeElapsedColumn()]
            self._live = Progress(*columns, console=self.console, transient=True)
            self._live.__enter__()
            self._task = self._live.add_task("articles", total=self.total, line="")
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(self, articles: int, sentences: int) -> None:
        """Count one more chunk: ``articles`` items (scored, reused or not) and ``sentences`` body sentences."""
        self.done.articles += articles
        self.done.sentences += sentences
        self.done.chunks += 1
        if self._live is not None:
            self._live.update(self._task, completed=self.done.articles, line=self.line(with_articles=False))
        elif self.log_every and self.done.chunks % self.log_every == 0:
            self.console.print(f"mtqa: {self.line()}", highlight=False, soft_wrap=True)

    def line(self, with_articles: bool = True) -> str:
        """``1,280 of 10,000 articles, 15,234 sentences, 41.2 sentences/s, ETA 0:05:10`` (no ETA without a total)."""
        d, elapsed = self.done, max(self.clock() - self._start, 1e-9)
        parts = []
        if with_articles:
            parts.append(f"{d.articles:,}{f' of {self.total:,}' if self.total is not None else ''} articles")
        parts += [f"{d.sentences:,} sentences", f"{d.sentences / elapsed:.1f} sentences/s"]
        if self.total is not None and d.articles:
            left = max(self.total - d.articles, 0) * elapsed / d.articles
            parts.append(f"ETA {_clock(left)}")
        if with_articles:
            parts.append(f"{_clock(elapsed)} elapsed")
        return ", ".join(parts)
