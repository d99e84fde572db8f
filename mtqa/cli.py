"""Command-line interface: a thin layer over :mod:`mtqa.engine` and :mod:`mtqa.report`."""

from __future__ import annotations

import contextlib
import gc
import json
import signal
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mtqa.engine import Pipeline, Settings, chunked, read_error_result
from mtqa.io import count_inputs, decode_text, is_binary, read_inputs
from mtqa.lm import ModelLoadError
from mtqa.progress import RunProgress
from mtqa.report import ReportWriter, article_to_dict, run_record
from mtqa.types import Article, ArticleResult, ReadError

if TYPE_CHECKING:
    from mtqa.parallel import DaskEngine, LocalEngine

    Engine = LocalEngine | DaskEngine

NOT_DONE = "not done: interrupted"

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find garbled machine-translated sentences in English news articles.")

ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="smollm2 (default), gemma3-270m, a .gguf file or a local transformers folder.")]
BackendOpt = Annotated[str, typer.Option(
    "--backend", help="torch (default) or onnx: the model body in ONNX Runtime, exported once (~2 min), faster.")]
CacheOpt = Annotated[Path | None, typer.Option(
    "--cache", help="Sentence score cache folder (default: the user cache dir, e.g. ~/.cache/mtqa).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Score every sentence afresh; write no cache.")]
ReferenceOpt = Annotated[Path | None, typer.Option(
    "--reference", help="A trusted English version of the story (text file) to compare the single input "
                        "article with; corpora give one per article in a 'reference' field.")]


def _cache(cache: Path | None, no_cache: bool) -> str | None:
    if no_cache:
        return None
    from mtqa.lm import cache_dir

    return str(cache or cache_dir())




def _read_reference(path: Path) -> str:
    """The text of ``--reference FILE`` (decoded like an input text file); a usage error when unreadable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        typer.echo(f"mtqa: cannot read --reference {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    if is_binary(data):
        typer.echo(f"mtqa: --reference {path}: binary file, not text", err=True)
        raise typer.Exit(2)
    text, note = decode_text(data)
    if note:
        typer.echo(f"mtqa: --reference {path}: {note}", err=True)
    return text


def _with_reference(inputs: list[Path], path: Path) -> list[Article | ReadError]:
    """The inputs read, with ``--reference FILE`` attached to the one article they must hold. Called before
    the model loads or anything is written, so a usage error costs nothing and leaves no folder behind."""
    text = _read_reference(path)
    items = list(read_inputs(inputs))
    if len(items) != 1:
        typer.echo(f"mtqa: --reference compares one article with its reference, but the inputs hold {len(items)} "
                   "articles; give one article, or a corpus with a 'reference' field", err=True)
        raise typer.Exit(2)
    return [replace(x, reference=text) if isinstance(x, Article) else x for x in items]


@contextlib.contextmanager
def _model_errors() -> Iterator[None]:
    """A model that does not load exits 2 with the error naming the file. The model loads when a sentence
    first needs scoring (a run served from the score cache never loads it), so this wraps whole runs."""
    try:
        yield
    except ModelLoadError as exc:
        typer.echo(f"mtqa: {exc}", err=True)
        raise typer.Exit(2) from None


@app.callback()
def _main() -> None:
    """Find garbled machine-translated sentences in English news articles."""


EngineOpt = Annotated[str, typer.Option(
    "--engine", help="local (this process) or dask (a Dask cluster: --scheduler ADDRESS, else a local one).")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Address of a running Dask scheduler (with --engine dask), e.g. tcp://10.0.0.5:8786.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1, help="Score in N worker processes on this machine (a local Dask cluster; 1: in-process).")]


@app.command()
def score(
    inputs: Annotated[list[Path], typer.Argument(
        help=".txt files, folders, .jsonl/.csv/.parquet corpora, .html pages, feeds; '-' reads JSONL from stdin.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("reports/latest"),
    fmt: Annotated[str, typer.Option("--format", help="'files' writes DIR; 'json' prints one article.")] = "files",
    model: ModelOpt = None,
    threads: Annotated[int | None, typer.Option(
        help="torch threads (default: all cores; with --workers, an equal share each).")] = None,
    backend: BackendOpt = "torch",
    flag_threshold: Annotated[float, typer.Option(help="Sentence probability that flags it.")] = 0.5,
    flag_severity: Annotated[str, typer.Option(
        help="Rule findings of this severity or worse flag their sentence: minor or major.")] = "minor",
    review_threshold: Annotated[float, typer.Option(help="Article score for 'review'.")] = 0.5,
    fail_threshold: Annotated[float, typer.Option(help="Article score for 'fail'.")] = 0.8,
    calibration: Annotated[Path | None, typer.Option(help="Calibration JSON (default: shipped).")] = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Reuse the finished reports in --out that have this run's signature; score the rest.")
                      ] = False,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    log_every: Annotated[int, typer.Option(
        "--log-every", min=0, help="When stderr is not a terminal, print a progress line every N chunks (0: never).")
                         ] = 0,
    chunk_articles: Annotated[int | None, typer.Option(
        "--chunk-articles", min=1, hidden=True, help="Articles scored together (an interrupt waits for them); "
                                                     "default 64, fewer for a small corpus with --workers.")
                              ] = None,
    reference: ReferenceOpt = None,
) -> None:
    """Score articles and write per-article JSON/Markdown/HTML reports plus a corpus summary.

    Exit status: 0 when every input was read, 2 when some input could not be read (it is still
    listed in the summary with its error, and every readable article is scored), 130/143 when
    interrupted by SIGINT/SIGTERM (finished reports and the summary are written; rerun with --resume).
    """
    if flag_severity not in ("minor", "major"):
        raise typer.BadParameter("--flag-severity must be minor or major")
    if fmt not in ("files", "json"):
        raise typer.BadParameter("--format must be 'files' or 'json'")
    settings = Settings(model=model, threads=threads, backend=backend, flag_threshold=flag_threshold,
                        flag_severity=flag_severity,
                        review_threshold=review_threshold, fail_threshold=fail_threshold,
                        calibration=str(calibration) if calibration else None, cache=_cache(cache, no_cache),
                        chunk_articles=chunk_articles)
    items = _with_reference(inputs, reference) if reference else None
    with _model_errors(), _engine(settings, engine, scheduler, workers) as eng:
        if fmt == "json":
            _print_one(eng, inputs, items)
        tally = score_to_folder(eng, inputs, out, resume=resume, log_every=log_every, items=items)
    typer.echo(tally.message(out, resume), err=True)
    typer.echo(sentences_line(eng.stats.counts), err=True)
    for where, error in tally.errors:
        typer.echo(f"  error: {where}: {error}", err=True)
    if tally.signum:
        typer.echo(f"mtqa: interrupted; rerun the same command with --resume to score the {tally.not_done} left",
                   err=True)
        raise typer.Exit(128 + tally.signum)
    raise typer.Exit(2 if tally.errors else 0)


def _engine(settings: Settings, engine: str, scheduler: str | None, workers: int | None):
    """The scoring engine for the CLI's options; a usage error or a model/cluster failure exits 2."""
    from mtqa.parallel import EngineError, open_engine

    try:
        return open_engine(settings, engine=engine, scheduler=scheduler, workers=workers)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except EngineError as exc:
        typer.echo(f"mtqa: {exc}", err=True)
        raise typer.Exit(2) from None


def _print_one(eng: Engine, inputs: list[Path], items: list[Article | ReadError] | None = None) -> None:
    """``--format json``: the report of the single input article on stdout, then exit."""
    items = list(read_inputs(inputs)) if items is None else items
    results = [r for _, rs in eng.map([(None, items)]) for r in rs]
    if len(results) != 1:
        typer.echo(f"mtqa: --format json needs exactly one article, got {len(results)}", err=True)
        raise typer.Exit(2)
    json.dump(article_to_dict(results[0]), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    raise typer.Exit(2 if results[0].status == "error" else 0)


@dataclass
class RunTally:
    """What the final message and the exit status need; the results themselves are not kept."""

    articles: int = 0
    verdicts: Counter = field(default_factory=Counter)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (input, error)
    reused: int = 0
    not_done: int = 0
    signum: int = 0

    def add(self, res: ArticleResult) -> None:
        self.articles += 1
        if res.status == "ok":
            self.verdicts[res.verdict] += 1
        self.not_done += res.status == "not_done"
        if res.status == "error":
            self.errors.append((res.input, res.error or ""))

    def message(self, out: Path, resume: bool) -> str:
        v = self.verdicts
        extra = (f", {self.reused} reused from an earlier run" if resume else "") + (
            f", {self.not_done} not done (interrupted)" if self.signum else "")
        return (f"{self.articles} articles: {v['pass']} pass, {v['review']} review, {v['fail']} fail, "
                f"{len(self.errors)} error{extra} -> {out}/index.html")


def sentences_line(counts: Counter) -> str:
    """Where the run's LM scores came from: the model, the persistent cache, or a repeat within the run."""
    copied = f" ({counts['articles_copied']:,} exact copies of articles)" if counts["articles_copied"] else ""
    return (f"sentences: {counts['sentences_lm_scored']:,} scored by the language model, "
            f"{counts['sentences_cache_hits']:,} from the score cache, {counts['sentences_reused']:,} repeats{copied}")


@dataclass
class _Plan:
    """One chunk as read, and what is already known of it: reports reused from an earlier run (by position),
    or that the run was interrupted before it was sent to be scored."""

    chunk: list[Article | ReadError]
    reused: dict[int, ArticleResult] = field(default_factory=dict)
    interrupted: bool = False


def _plans(items: Iterable[Article | ReadError], size: int, writer: ReportWriter, resume: bool,
           interrupt: _Interrupt) -> Iterator[tuple[_Plan, list[Article | ReadError]]]:
    """``(plan, what to score)`` per chunk, in input order: file stems are reserved here, in input order,
    whether an article is reused or scored; after an interrupt nothing more is sent to be scored."""
    for chunk in chunked(items, size):
        if interrupt.signum:
            yield _Plan(chunk, interrupted=True), []
            continue
        for item in chunk:
            writer.stem(_result_id(item))
        reused = {i: prev for i, item in enumerate(chunk) if resume and isinstance(item, Article)
                  and (prev := writer.finished(item.id, item.input)) is not None}
        yield _Plan(chunk, reused), [item for i, item in enumerate(chunk) if i not in reused]


def score_to_folder(eng: Engine, inputs: list[Path], out: Path, *, resume: bool = False, log_every: int = 0,
                    items: Iterable[Article | ReadError] | None = None) -> RunTally:
    """What ``mtqa score`` does once its engine is up: read the inputs chunk by chunk, score them with ``eng``,
    write each chunk's reports and sentences, then the summary. Only a tally is kept (scripts/bench_corpus.py
    times this); SIGINT/SIGTERM stop it after the chunks already sent to be scored. ``items``, when given, are
    the inputs already read (``--reference`` attaches its text to them first)."""
    from mtqa.parallel import chunk_size

    tally = RunTally()
    total = count_inputs(inputs)
    size = chunk_size(eng.settings.chunk_articles, total, eng.threads)
    # A second interrupt (or a model that does not load) leaves the writer at once, with no temporary file.
    with _fewer_gc_passes(), ReportWriter(out, eng.signature) as writer, _Interrupt() as interrupt, \
            RunProgress(total, log_every=log_every) as progress:
        stream = read_inputs(inputs) if items is None else items
        plans = _plans(stream, size, writer, resume, interrupt)
        for plan, scored in eng.map(plans):
            _write_chunk(plan, iter(scored), writer, tally, eng.signature)
            progress.update(len(plan.chunk), sum(r.n_sentences for r in scored))
        tally.signum = interrupt.signum
        writer.run = run_record(eng.stats.counts, eng.signature, reports_reused=tally.reused)
    return tally


@contextlib.contextmanager
def _fewer_gc_passes() -> Iterator[None]:
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


def _write_chunk(plan: _Plan, scored: Iterator[ArticleResult], writer: ReportWriter, tally: RunTally,
                 signature: str) -> None:
    for i, item in enumerate(plan.chunk):
        if plan.interrupted:
            res, write = _unscored(item, signature), True
        else:
            res, write = (plan.reused[i], False) if i in plan.reused else (next(scored), True)
        writer.add(res, write=write)
        tally.add(res)
        tally.reused += not write
    writer.flush()


def _result_id(item: Article | ReadError) -> str:
    return item.id if isinstance(item, Article) else (item.id or item.input)


def _unscored(item: Article | ReadError, signature: str) -> ArticleResult:
    """The summary row of an input left after an interrupt: ``not_done``, or its read error."""
    if isinstance(item, ReadError):
        return read_error_result(item, signature)
    return ArticleResult(id=item.id, input=item.input, status="not_done", error=NOT_DONE, signature=signature)


class _Interrupt:
    """SIGINT/SIGTERM set ``signum`` so the run stops after the current chunk and still writes its summary;
    a second signal stops at once (reports are written atomically, so no half-written file is left)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum = 0
        self._old: dict = {}

    def __enter__(self) -> _Interrupt:
        self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame) -> None:
        if self.signum:
            raise KeyboardInterrupt
        self.signum = signum
        typer.echo("\nmtqa: interrupted; finishing the current articles and writing the summary "
                   "(interrupt again to stop at once)", err=True)


@app.command()
def check(
    inputs: Annotated[list[str], typer.Argument(
        help="Files, folders, corpora, .html pages, .rss/.atom/.xml feeds; '-' reads JSONL from stdin.")],
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (default: ./mtqa.toml; tool.mtqa in ./pyproject.toml is read first).")] = None,
    max_score: Annotated[float | None, typer.Option(
        help="Sentence probability that fails the gate (default 0.8).")] = None,
    max_flagged_share: Annotated[float | None, typer.Option(
        help="Fail when more than this share of an article's sentences is flagged (default 1.0: off).")] = None,
    ignore_rule: Annotated[list[str] | None, typer.Option(
        "--ignore-rule", help="Rule code that never fails the gate (repeatable; adds to the config's list).")] = None,
    min_severity: Annotated[str | None, typer.Option(help="Findings of this severity or worse fail: minor|major.")
                            ] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="'fail' (default): fail what the report calls fail; 'review': fail review too.")] = None,
    review_score: Annotated[float | None, typer.Option(
        help="With --fail-on review: sentence probability that fails (default 0.5).")] = None,
    min_chrf: Annotated[float | None, typer.Option(
        help="Fail an article whose chrF against its reference is below this (0-100; default off).")] = None,
    min_sentence_chrf: Annotated[float | None, typer.Option(
        help="Fail a sentence whose chrF against its reference sentence is below this (default off).")] = None,
    reference: ReferenceOpt = None,
    baseline: Annotated[Path | None, typer.Option(help="Baseline JSON: recorded findings do not count.")] = None,
    write_baseline: Annotated[Path | None, typer.Option(
        help="Record the current failures in this baseline file and exit 0.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the article records (JSON list) here.")
                        ] = None,
    sarif_out: Annotated[Path | None, typer.Option("--sarif", help="Write a SARIF 2.1.0 log here.")] = None,
    github: Annotated[bool, typer.Option("--github", help="Print GitHub Actions annotations on stdout.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the usual reports here.")] = None,
    model: ModelOpt = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: all cores).")] = None,
    backend: BackendOpt = "torch",
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Gate a batch of articles for CI: exit 1 when an article fails, with JUnit/SARIF/JSON reports.

    Exit status: 0 every article passes; 1 some article fails the gate; 2 usage or config error, model
    load error, or an input that could not be read (every readable article is still checked and reported).
    """
    from mtqa import gate

    overrides = {"max_score": max_score, "max_flagged_share": max_flagged_share, "ignore_rules": ignore_rule,
                 "min_severity": min_severity, "fail_on_verdict": fail_on, "review_score": review_score,
                 "min_chrf": min_chrf, "min_sentence_chrf": min_sentence_chrf}
    try:
        cfg = gate.load_config(config_file=config, overrides=overrides)
        known = gate.load_baseline(baseline) if baseline else set()
    except gate.ConfigError as exc:
        typer.echo(f"mtqa: {exc}", err=True)
        raise typer.Exit(2) from None
    items = _with_reference(inputs, reference) if reference else inputs
    pairs = []
    with _model_errors():
        pipe = Pipeline(gate.gate_settings(cfg, model=model, threads=threads, backend=backend,
                                           cache=_cache(cache, no_cache)))
        with ReportWriter(out, pipe.signature) if out else contextlib.nullcontext() as writer:
            for res, outcome in gate.iter_check(items, cfg, known, pipeline=pipe):
                if writer:
                    writer.add(res)
                pairs.append((res, outcome))
    gate.write_outputs(pairs, junit=junit, json_path=json_out, sarif_path=sarif_out)
    if github:
        for line in gate.github_annotations(pairs):
            typer.echo(line)
    typer.echo(gate.summary_text(pairs), err=True, nl=False)
    code = gate.exit_code(pairs)
    if write_baseline:
        n = gate.write_baseline(write_baseline, [r for r, _ in pairs], cfg)
        typer.echo(f"mtqa: wrote {n} fingerprints to {write_baseline}", err=True)
        code = 2 if code == 2 else 0
    raise typer.Exit(code)


@app.command("eval")
def eval_(
    benchmark: Annotated[str, typer.Option(help="mqm-zhen or mlqe-ru-en.")] = "mqm-zhen",
    split: Annotated[str, typer.Option(help="dev (tuning) or test (reporting only).")] = "dev",
    benchmarks: Annotated[Path | None, typer.Option(
        help="Benchmark folder (default: ../shared/benchmarks when present).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write eval-<benchmark>-<split>.json/.md here.")] = None,
    model: ModelOpt = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: all cores).")] = None,
    backend: BackendOpt = "torch",
    calibration: Annotated[Path | None, typer.Option(help="Calibration JSON (default: shipped).")] = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Measure agreement with human judgements, with baselines side by side."""
    from mtqa.evaluate import BENCHMARKS, default_benchmark_dir, eval_markdown, run_eval

    if benchmark not in BENCHMARKS or split not in ("dev", "test"):
        typer.echo(f"mtqa: --benchmark must be one of {', '.join(BENCHMARKS)} and --split dev or test", err=True)
        raise typer.Exit(2)
    bench_dir = benchmarks or default_benchmark_dir()
    if bench_dir is None or not Path(bench_dir).is_dir():
        typer.echo("mtqa: benchmark folder not found; pass --benchmarks DIR", err=True)
        raise typer.Exit(2)
    settings = Settings(model=model, threads=threads, backend=backend,
                        calibration=str(calibration) if calibration else None,
                        cache=_cache(cache, no_cache))
    try:
        with _model_errors():
            result = run_eval(Pipeline(settings), benchmark, split, Path(bench_dir))
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"mtqa: cannot read benchmark {benchmark} from {bench_dir}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None
    md = eval_markdown(result)
    typer.echo(md)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        stem = f"eval-{benchmark}-{split}"
        (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        (out / f"{stem}.md").write_text(md, encoding="utf-8")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
