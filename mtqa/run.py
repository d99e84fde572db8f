"""The one run loop: read inputs chunk by chunk, score them on an engine, and hand each result on.

``mtqa score``, ``mtqa check`` and the Python API (:func:`score_articles`, :func:`iter_scores`) all go through
:func:`stream_chunks`: inputs are read lazily and cut into chunks; with ``--resume`` a chunk's reports from an earlier
run with the same signature are reused instead of scored; chunks go to the engine (this process, or Dask
workers) a few ahead of the results, which come back in input order; SIGINT/SIGTERM stop the run after the
chunks already sent, and every input left is still a result (``not_done``). What happens to each result, a
report written (:class:`mtqa.report.ReportWriter`) or a gate decision (:mod:`mtqa.gate`), is the caller's.
Only a tally is kept, so a corpus of any size runs in bounded memory.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mtqa.engines import chunk_size, open_engine
from mtqa.io import count_inputs, read_inputs
from mtqa.pipeline import Pipeline, read_error_result
from mtqa.settings import Settings
from mtqa.types import Article, ArticleResult, ReadError

if TYPE_CHECKING:
    from mtqa.engines import DaskEngine, LocalEngine
    from mtqa.report import ReportWriter

    Engine = LocalEngine | DaskEngine

NOT_DONE = "not done: interrupted"
Item = Article | ReadError


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter), read lazily."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def article_stream(inputs: Iterable) -> Iterator[Item]:
    """``inputs`` as articles: Article (and ReadError) objects pass through, anything else is read as paths."""
    it = iter(inputs)
    first = next(it, None)
    if first is None:
        return iter(())
    rest = itertools.chain([first], it)
    return rest if isinstance(first, Article | ReadError) else read_inputs(rest)


@dataclass
class RunTally:
    """What the final message and the exit status need; the results themselves are not kept."""

    articles: int = 0
    sentences: int = 0
    verdicts: Counter = field(default_factory=Counter)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (input, error)
    reused: int = 0
    not_done: int = 0
    signum: int = 0  # the signal that stopped the run, or 0
    counts: Counter = field(default_factory=Counter)  # what the pipeline's steps counted
    signature: str = ""

    def add(self, res: ArticleResult, reused: bool) -> None:
        self.articles += 1
        self.sentences += res.n_sentences
        self.reused += reused
        if res.status == "ok":
            self.verdicts[res.verdict] += 1
        self.not_done += res.status == "not_done"
        if res.status == "error":
            self.errors.append((res.input, res.error or ""))

    def message(self, out: Path | None, resume: bool) -> str:
        v = self.verdicts
        extra = (f", {self.reused} reused from an earlier run" if resume else "") + (
            f", {self.not_done} not done (interrupted)" if self.signum else ""
        )
        where = f" -> {out}/index.html" if out else ""
        return (
            f"{self.articles} articles: {v['pass']} pass, {v['review']} review, {v['fail']} fail, "
            f"{len(self.errors)} error{extra}{where}"
        )

    def sentences_line(self) -> str:
        """Where the run's LM scores came from: the model, the persistent cache, or a repeat within the run."""
        c = self.counts
        copied = f" ({c['articles_copied']:,} exact copies of articles)" if c["articles_copied"] else ""
        return (
            f"sentences: {c['sentences_lm_scored']:,} scored by the language model, "
            f"{c['sentences_cache_hits']:,} from the score cache, {c['sentences_reused']:,} repeats{copied}"
        )


@dataclass
class _Plan:
    """One chunk as read, and what is already known of it: reports reused from an earlier run (by position),
    or that the run was interrupted before it was sent to be scored."""

    chunk: list[Item]
    reused: dict[int, ArticleResult] = field(default_factory=dict)
    interrupted: bool = False


class Interrupt:
    """SIGINT/SIGTERM set ``signum`` so the run stops after the chunks already sent and still writes its summary;
    a second signal stops at once (reports are written atomically, so no half-written file is left)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum = 0
        self._old: dict = {}

    def __enter__(self) -> Interrupt:
        self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum
        print(
            "\nmtqa: interrupted; finishing the current articles and writing the summary "
            "(interrupt again to stop at once)",
            file=sys.stderr,
            flush=True,
        )


def _result_id(item: Item) -> str:
    return item.id if isinstance(item, Article) else (item.id or item.input)


def _unscored(item: Item, signature: str) -> ArticleResult:
    """The result of an input left after an interrupt: ``not_done``, or its read error."""
    if isinstance(item, ReadError):
        return read_error_result(item, signature)
    return ArticleResult(id=item.id, input=item.input, status="not_done", error=NOT_DONE, signature=signature)


def with_recurring_lines(chunks: Iterable[list[Item]]) -> Iterator[list[Item]]:
    """Each chunk's articles with the lines that recur across other stories of their source in the run so far
    (site chrome: :class:`mtqa.chrome.RecurringLines`). Counted here, where the inputs are read, so every engine
    sees the same articles; a chunk's own articles count before it is annotated."""
    from mtqa.chrome import RecurringLines

    counter = RecurringLines()
    for chunk in chunks:
        articles = [item for item in chunk if isinstance(item, Article)]
        for article in articles:
            counter.observe(article)
        yield [counter.annotate(item) if isinstance(item, Article) else item for item in chunk]


def _plans(
    items: Iterable[Item], size: int, writer: ReportWriter | None, resume: bool, interrupt: Interrupt | None
) -> Iterator[tuple[_Plan, list[Item]]]:
    """``(plan, what to score)`` per chunk, in input order: file stems are reserved here, in input order,
    whether an article is reused or scored; after an interrupt nothing more is sent to be scored."""
    for chunk in with_recurring_lines(chunked(items, size)):
        if interrupt is not None and interrupt.signum:
            yield _Plan(chunk, interrupted=True), []
            continue
        if writer is not None:
            for item in chunk:
                writer.stem(_result_id(item))
        reused = {
            i: prev
            for i, item in enumerate(chunk)
            if resume
            and writer is not None
            and isinstance(item, Article)
            and (prev := writer.finished(item.id, item.input)) is not None
        }
        yield _Plan(chunk, reused), [item for i, item in enumerate(chunk) if i not in reused]


def stream_chunks(
    eng: Engine,
    items: Iterable[Item],
    *,
    size: int | None = None,
    writer: ReportWriter | None = None,
    resume: bool = False,
    interrupt: Interrupt | None = None,
) -> Iterator[list[tuple[ArticleResult, bool]]]:
    """``(result, reused)`` for every input, a chunk at a time, in input order: the loop every command runs.

    ``writer`` reserves file stems in input order and, with ``resume``, supplies reports of an earlier run with
    this signature (``reused`` True); after ``interrupt`` fires, the inputs left come back ``not_done``."""
    size = size or chunk_size(eng.settings.chunk_articles, None, eng.threads)
    for plan, scored in eng.map(_plans(items, size, writer, resume, interrupt)):
        fresh = iter(scored)
        out = []
        for i, item in enumerate(plan.chunk):
            if plan.interrupted:
                out.append((_unscored(item, eng.signature), False))
            elif i in plan.reused:
                out.append((plan.reused[i], True))
            else:
                out.append((next(fresh), False))
        yield out


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """A corpus run allocates millions of short-lived objects (per-token figures, report records) that
    reference counting frees; with CPython's default thresholds the cyclic collector meanwhile traverses
    the whole heap again and again. Collecting young objects every 100,000 allocations instead of 700
    made a ``--resume`` re-run of 3,000 articles 1.6x faster (docs/performance.md). Restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def drive(
    eng: Engine,
    inputs: Iterable,
    *,
    out: Path | None = None,
    resume: bool = False,
    log_every: int = 0,
    on_result: Callable[[ArticleResult], None] | None = None,
) -> RunTally:
    """A whole run on an open engine: :func:`stream_chunks` with reports written to ``out`` (when given), progress on
    stderr, SIGINT/SIGTERM handling and a tally; ``on_result`` sees every result (the gate's decisions).
    ``inputs`` are paths (or ``-``) or articles already read (``--reference`` attaches its text first)."""
    from mtqa.progress import RunProgress
    from mtqa.report import ReportWriter, run_record

    inputs = list(inputs)
    paths = not any(isinstance(x, Article | ReadError) for x in inputs)
    total = count_inputs(inputs) if paths else len(inputs)
    size = chunk_size(eng.settings.chunk_articles, total, eng.threads)
    tally = RunTally(signature=eng.signature)
    # A second interrupt (or a model that does not load) leaves the writer at once, with no temporary file.
    writer_cm = ReportWriter(out, eng.signature) if out is not None else contextlib.nullcontext()
    with (
        fewer_gc_passes(),
        writer_cm as writer,
        Interrupt() as interrupt,
        RunProgress(total, log_every=log_every) as progress,
    ):
        for chunk in stream_chunks(
            eng, article_stream(inputs), size=size, writer=writer, resume=resume, interrupt=interrupt
        ):
            for res, reused in chunk:
                if writer is not None:
                    writer.add(res, write=not reused)
                tally.add(res, reused)
                if on_result is not None:
                    on_result(res)
            if writer is not None:
                writer.flush()  # the chunk's sentences become one row group of sentences.parquet
            progress.update(len(chunk), sum(r.n_sentences for r, reused in chunk if not reused))
        tally.signum = interrupt.signum
        tally.counts = Counter(eng.stats.counts)
        if writer is not None:
            writer.run = run_record(eng.stats.counts, eng.signature, reports_reused=tally.reused)
    return tally


def run(inputs: Iterable, settings: Settings | None = None, *, pipeline: Pipeline | None = None, **options) -> RunTally:
    """:func:`drive` on the engine ``settings`` ask for (this process, or Dask workers): what ``mtqa score``
    and ``mtqa check`` do. ``options`` are :func:`drive`'s."""
    settings = pipeline.settings if pipeline is not None else settings or Settings()
    with open_engine(settings, pipeline) as eng:
        return drive(eng, inputs, **options)


def _settings(settings: Settings | None, pipeline: Pipeline | None, **execution) -> Settings:
    base = pipeline.settings if pipeline is not None else settings or Settings()
    return base.with_overrides(**execution)


def iter_scores(
    inputs: Iterable[str | os.PathLike] | Iterable[Article],
    settings: Settings | None = None,
    pipeline: Pipeline | None = None,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> Iterator[ArticleResult]:
    """:func:`score_articles` as a stream: inputs are read and scored chunk by chunk, results come in input
    order, and nothing is kept once yielded, so memory stays bounded whatever the corpus size."""
    settings = _settings(settings, pipeline, engine=engine, scheduler=scheduler, workers=workers)
    same = pipeline is not None and settings == pipeline.settings
    with open_engine(settings, pipeline if same else None) as eng:
        for chunk in stream_chunks(eng, article_stream(inputs)):
            yield from (res for res, _ in chunk)


def score_articles(
    inputs: Iterable[str | os.PathLike] | Iterable[Article],
    settings: Settings | None = None,
    pipeline: Pipeline | None = None,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[ArticleResult]:
    """Score files, folders or :class:`Article` objects and return one result per article.

    ``engine="dask"`` scores chunks on a Dask cluster (``scheduler`` address, or a local cluster of ``workers``
    processes); ``workers`` > 1 alone does the same on this machine (these override ``settings``). Results are
    identical to the local engine's. For a corpus too big to hold its results, iterate :func:`iter_scores`.

    >>> results = score_articles(["data/samples"])          # doctest: +SKIP
    >>> [(r.id, r.verdict) for r in results]                 # doctest: +SKIP
    """
    return list(iter_scores(inputs, settings, pipeline, engine=engine, scheduler=scheduler, workers=workers))


def score_text(
    text: str,
    article_id: str = "text",
    title: str | None = None,
    pipeline: Pipeline | None = None,
    reference: str | None = None,
) -> ArticleResult:
    """Score one article given as a string (``reference``: a trusted English version to compare with)."""
    return score_articles(
        [Article(id=article_id, text=text, input="<text>", title=title, reference=reference)], pipeline=pipeline
    )[0]
