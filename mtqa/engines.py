"""Where chunks of articles are scored: in this process (``local``) or on a Dask cluster (``dask``).

Both engines call the same function on the same chunks, :meth:`mtqa.pipeline.Pipeline.score_chunk`, and hand
results back in input order, so the run loop (:mod:`mtqa.run`) writes reports the same way whichever ran.
Executors import the pipeline, never the reverse (as datatrove's executors do).

The Dask engine is for more than one core's worth of work: ``--workers N`` starts a
:class:`distributed.LocalCluster` of N single-threaded worker processes on this machine, ``--scheduler
ADDRESS`` uses a running cluster. Each worker process loads the model once and keeps one Pipeline per
thread, so its in-run dedup and its score cache work across the chunks it is sent.

Chunks are read by the caller and sent to workers a few at a time (``WINDOW_PER_THREAD`` per worker
thread), so memory stays bounded on both sides whatever the corpus size.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TypeVar

from mtqa.lm import cache_dir
from mtqa.pipeline import CHUNK_ARTICLES, Pipeline, Stats, read_error_result
from mtqa.settings import Settings
from mtqa.types import Article, ArticleResult, ReadError

WINDOW_PER_THREAD = 2  # chunks in flight per worker thread: enough to keep workers busy, no more
Chunk = list[Article | ReadError]
K = TypeVar("K")


class EngineError(RuntimeError):
    """The cluster could not be used: no workers, unreachable scheduler, workers that disagree on the model."""


class LocalEngine:
    """Scores chunks in this process with one :class:`Pipeline`."""

    threads = 1  # task threads: chunks are scored one at a time (torch uses every core inside each)

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings

    @property
    def signature(self) -> str:
        return self.pipeline.signature

    @property
    def stats(self) -> Stats:
        return self.pipeline.stats

    def map(self, chunks: Iterable[tuple[K, Chunk]]) -> Iterator[tuple[K, list[ArticleResult]]]:
        """``(key, results)`` for each ``(key, chunk)``, in order; the key is whatever the caller needs back."""
        for key, chunk in chunks:
            yield key, self.pipeline.score_chunk(chunk) if chunk else []

    def close(self) -> None:
        """Nothing to release: the model stays loaded for the next run in this process."""

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskEngine:
    """Scores chunks on Dask workers: a new local cluster of ``workers`` processes, or the one at ``scheduler``.

    The model is loaded on every worker before the first chunk is sent (so a model that does not load fails
    at once, with :class:`mtqa.lm.ModelLoadError`), and every worker must report the same signature.
    """

    def __init__(self, settings: Settings) -> None:
        from distributed import Client, LocalCluster

        scheduler, workers = settings.scheduler, settings.workers
        self.cluster = None
        self.stats = Stats()
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=30, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise EngineError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        else:
            n = workers or os.cpu_count() or 1
            # Each worker is one process with one task thread; torch gets an equal share of the cores.
            settings = replace(settings, threads=settings.threads or max(1, (os.cpu_count() or 1) // n))
            with _sigint_ignored():  # Ctrl-C reaches the whole process group; only this process handles it
                self.cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",
                    env=worker_env(),
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster, set_as_default=False)
        self.settings = settings
        try:
            self.signature, self.threads = self._warm_up()
        except BaseException:
            self.close()
            raise

    def _warm_up(self) -> tuple[str, int]:
        """Load the model on every worker (the first one alone, so a first-time model conversion runs
        once); return the signature they all share and how many task threads they have."""
        if self.cluster is None:
            try:
                self.client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise EngineError("the Dask cluster has no workers (waited 60 s)") from None
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        first, *rest = info
        signatures = [self.client.submit(_warm_worker, self.settings, workers=[first], pure=False).result()]
        signatures += self.client.gather(
            [self.client.submit(_warm_worker, self.settings, workers=[w], pure=False) for w in rest]
        )
        if len(set(signatures)) > 1:
            raise EngineError(
                "Dask workers disagree on the model, rules or calibration: " + "; ".join(sorted(set(signatures)))
            )
        return signatures[0], sum(w.get("nthreads", 1) for w in info.values())

    def map(self, chunks: Iterable[tuple[K, Chunk]]) -> Iterator[tuple[K, list[ArticleResult]]]:
        """Like :meth:`LocalEngine.map`: chunks go to workers as they are read, a few ahead of the results,
        which come back in input order. A chunk whose worker fails becomes error results; the run goes on."""
        pending: deque = deque()
        window = WINDOW_PER_THREAD * max(1, self.threads)
        for key, chunk in chunks:
            future = self.client.submit(_score_on_worker, self.settings, chunk, pure=False) if chunk else None
            pending.append((key, chunk, future))
            while len(pending) > window:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    def _collect(self, key: K, chunk: Chunk, future) -> tuple[K, list[ArticleResult]]:
        if future is None:
            return key, []
        try:
            results, counts = future.result()
        except Exception as exc:  # a worker that died or a chunk that crashed: report it, keep going
            why = f"not scored: a Dask worker failed on this chunk ({type(exc).__name__}: {exc})"
            results = [
                read_error_result(item, self.signature)
                if isinstance(item, ReadError)
                else ArticleResult(id=item.id, input=item.input, status="error", error=why, signature=self.signature)
                for item in chunk
            ]
            counts = {"chunk_errors": 1}
        finally:
            future.release()
        self.stats.counts.update(counts)
        return key, results

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def chunk_size(configured: int | None, total: int | None, threads: int) -> int:
    """Articles per chunk: ``configured`` when set; else 64, or fewer when a corpus of known size (``total``
    articles) would otherwise leave some of a cluster's ``threads`` task threads idle: each gets
    ``WINDOW_PER_THREAD`` chunks to start with."""
    if configured:
        return configured
    if threads <= 1 or not total:
        return CHUNK_ARTICLES
    return max(1, min(CHUNK_ARTICLES, math.ceil(total / (WINDOW_PER_THREAD * threads))))


def open_engine(settings: Settings, pipeline: Pipeline | None = None) -> LocalEngine | DaskEngine:
    """The engine ``settings`` ask for: Dask when ``engine="dask"`` or ``workers`` > 1, else this process
    (with ``pipeline`` when given, so its in-run memory carries over).

    Raises EngineError when a cluster cannot be used and ModelLoadError when the model does not load (here or
    on a worker); :class:`~mtqa.settings.Settings` has already refused options that do not fit together."""
    if settings.engine == "dask" or (settings.workers or 1) > 1:
        return DaskEngine(settings)
    return LocalEngine(pipeline or Pipeline(settings))


def worker_env() -> dict[str, str]:
    """Environment of local worker processes: the same model cache as this process, and never a download."""
    return {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MTQA_CACHE_DIR": str(cache_dir()),
    }


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Processes started inside inherit an ignored SIGINT (and Python keeps it ignored), so Ctrl-C in a
    terminal, which signals the whole process group, interrupts mtqa and not its workers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


# -- on the workers -------------------------------------------------------------------------------------

_PIPELINES: dict[tuple[str, int], Pipeline] = {}
_PIPELINES_LOCK = threading.Lock()


def worker_pipeline(settings: Settings) -> Pipeline:
    """This thread's Pipeline for ``settings``, built on first use: the model loads once per process
    (:func:`mtqa.lm.get_scorer`), and a Pipeline per thread keeps its dedup memo and counts to itself."""
    key = (repr(settings), threading.get_ident())
    with _PIPELINES_LOCK:
        if key not in _PIPELINES:
            _PIPELINES[key] = Pipeline(settings)
        return _PIPELINES[key]


def _warm_worker(settings: Settings) -> str:
    """Load the model now (it otherwise loads on first use), so a model that does not load fails at once."""
    pipe = worker_pipeline(settings)
    pipe.scorer.load()
    return pipe.signature


def _score_on_worker(settings: Settings, chunk: Chunk) -> tuple[list[ArticleResult], dict[str, int]]:
    """What a Dask task runs: the chunk's results and what the Pipeline counted while scoring it."""
    pipe = worker_pipeline(settings)
    before = Counter(pipe.stats.counts)
    results = pipe.score_chunk(chunk)
    return results, dict(pipe.stats.counts - before)
