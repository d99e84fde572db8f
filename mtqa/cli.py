"""Command-line interface: a thin layer over the library (:mod:`mtqa.run`, :mod:`mtqa.gate`, :mod:`mtqa.evaluate`).

Options default to None and only what the user gave is passed on, so the defaults live in one place
(:class:`mtqa.settings.Settings`) and config files (``[tool.mtqa]``, ``mtqa.toml``, ``--config``) apply to every
command the same way.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from mtqa.io import decode_text, is_binary, read_inputs
from mtqa.lm import ModelLoadError
from mtqa.settings import ConfigError, Settings, load_settings
from mtqa.types import Article, ReadError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find garbled machine-translated sentences in English news articles.",
)

# -- options shared by score and check ------------------------------------------------------------------------
Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Files, folders, .jsonl/.csv/.parquet corpora, .html pages, .rss/.atom/.xml feeds; '-' reads JSONL "
        "from stdin."
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: ./mtqa.toml; [tool.mtqa] in ./pyproject.toml is read first)."),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="smollm2 (default), gemma3-270m, a .gguf file or a local transformers folder."),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="torch (default) or onnx: the model body in ONNX Runtime (fp32), exported once (~2 min), quickest start.",
    ),
]
PrecisionOpt = Annotated[
    str | None,
    typer.Option(
        "--precision",
        help="auto (default: bf16 for SmolLM2 where the CPU computes it natively, else fp32), fp32, bf16 or fp16: "
        "the model body's precision (docs/performance.md: speed and eval of each).",
    ),
]
DeviceOpt = Annotated[
    str | None, typer.Option("--device", help="auto (default: the GPU when torch sees one), cpu or cuda.")
]
CalibrationOpt = Annotated[Path | None, typer.Option(help="Calibration JSON (default: the model's shipped one).")]
ThreadsOpt = Annotated[
    int | None, typer.Option(min=1, help="torch threads (default: all cores; with --workers, an equal share each).")
]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache", help="Sentence score cache folder (default: the user cache dir, e.g. ~/.cache/mtqa)."),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Score every sentence afresh; write no cache.")]
ReferenceOpt = Annotated[
    Path | None,
    typer.Option(
        "--reference",
        help="A trusted English version of the story (text file) to compare the single input "
        "article with; corpora give one per article in a 'reference' field.",
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume", help="Reuse the finished reports in --out that have this run's signature; score the rest."
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine", help="local (this process, default) or dask (a Dask cluster: --scheduler ADDRESS, else local)."
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Address of a running Dask scheduler (with --engine dask), e.g. tcp://10.0.0.5:8786."
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Score in N worker processes on this machine (a local Dask cluster; 1: in-process)."
    ),
]
LogEveryOpt = Annotated[
    int,
    typer.Option(
        "--log-every", min=0, help="When stderr is not a terminal, print a progress line every N chunks (0: never)."
    ),
]
ChunkOpt = Annotated[
    int | None,
    typer.Option(
        "--chunk-articles",
        min=1,
        hidden=True,
        help="Articles scored together (an interrupt waits for them); "
        "default 64, fewer for a small corpus with --workers.",
    ),
]
FlagThresholdOpt = Annotated[float | None, typer.Option(help="Sentence probability that flags it (default 0.5).")]
FlagSeverityOpt = Annotated[
    str | None,
    typer.Option(help="Flagging findings of this severity or worse flag their sentence: minor (default) or major."),
]
ReviewThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--review-threshold",
        "--review-score",
        help="Sentence probability that sends its article to review (default 0.5).",
    ),
]
FailThresholdOpt = Annotated[
    float | None,
    typer.Option("--fail-threshold", "--max-score", help="Sentence probability that fails its article (default 0.8)."),
]
FailSeverityOpt = Annotated[
    str | None,
    typer.Option(
        "--fail-severity",
        "--min-severity",
        help="Findings of this severity or worse fail their article: minor|major (default major).",
    ),
]
IgnoreRuleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore-rule",
        help="Finding code (or lm-score) that never flags or fails anything (repeatable; adds to the config's list).",
    ),
]


@app.callback()
def _main() -> None:
    """Find garbled machine-translated sentences in English news articles."""


def _settings(config: Path | None, no_cache: bool = False, **flags: Any) -> Settings:
    """Defaults < [tool.mtqa] < mtqa.toml / --config < the flags the user gave; a bad key or value exits 2."""
    if no_cache:
        flags["cache"] = False
    flags = {k: (str(v) if isinstance(v, Path) else v) for k, v in flags.items()}
    try:
        return load_settings(config_file=config, overrides=flags)
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> typer.Exit:
    typer.echo(f"mtqa: {message}", err=True)
    raise typer.Exit(2)


def _read_reference(path: Path) -> str:
    """The text of ``--reference FILE`` (decoded like an input text file); a usage error when unreadable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read --reference {path}: {exc.strerror or exc}")
    if is_binary(data):
        _fail(f"--reference {path}: binary file, not text")
    text, note = decode_text(data)
    if note:
        typer.echo(f"mtqa: --reference {path}: {note}", err=True)
    return text


def _inputs(inputs: list[str], reference: Path | None) -> list[str] | list[Article | ReadError]:
    """The inputs as given, or read with ``--reference FILE`` attached to the one article they must hold. Read
    before the model loads or anything is written, so a usage error costs nothing and leaves no folder behind."""
    if reference is None:
        return inputs
    text = _read_reference(reference)
    items = list(read_inputs(inputs))
    if len(items) != 1:
        _fail(
            f"--reference compares one article with its reference, but the inputs hold {len(items)} articles; "
            "give one article, or a corpus with a 'reference' field"
        )
    return [replace(x, reference=text) if isinstance(x, Article) else x for x in items]


@contextlib.contextmanager
def _run_errors() -> Iterator[None]:
    """What stops a run before it starts, or a model that fails on first use, is one clear line and exit 2:
    options that do not fit together, a cluster that cannot be used, a model that does not load."""
    from mtqa.engines import EngineError

    try:
        yield
    except (ModelLoadError, EngineError) as exc:
        _fail(str(exc))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _finish(tally, out: Path | None, resume: bool) -> int:
    """The closing lines on stderr and the exit status of a run (2 when an input could not be read)."""
    typer.echo(tally.message(out, resume), err=True)
    typer.echo(tally.sentences_line(), err=True)
    for where, error in tally.errors:
        typer.echo(f"  error: {where}: {error}", err=True)
    if tally.signum:
        typer.echo(
            f"mtqa: interrupted; rerun the same command with --resume to score the {tally.not_done} left", err=True
        )
        return 128 + tally.signum
    return 2 if tally.errors else 0


@app.command()
def score(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("reports/latest"),
    fmt: Annotated[str, typer.Option("--format", help="'files' writes DIR; 'json' prints one article.")] = "files",
    config: ConfigOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    precision: PrecisionOpt = None,
    device: DeviceOpt = None,
    calibration: CalibrationOpt = None,
    threads: ThreadsOpt = None,
    flag_threshold: FlagThresholdOpt = None,
    flag_severity: FlagSeverityOpt = None,
    review_threshold: ReviewThresholdOpt = None,
    fail_threshold: FailThresholdOpt = None,
    fail_severity: FailSeverityOpt = None,
    ignore_rule: IgnoreRuleOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    resume: ResumeOpt = False,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    log_every: LogEveryOpt = 0,
    chunk_articles: ChunkOpt = None,
    reference: ReferenceOpt = None,
) -> None:
    """Score articles and write per-article JSON/Markdown/HTML reports plus a corpus summary.

    Exit status: 0 when every input was read, 2 when some input could not be read (it is still
    listed in the summary with its error, and every readable article is scored), 130/143 when
    interrupted by SIGINT/SIGTERM (finished reports and the summary are written; rerun with --resume).
    """
    from mtqa.run import run

    if fmt not in ("files", "json"):
        raise typer.BadParameter("--format must be 'files' or 'json'")
    settings = _settings(
        config,
        no_cache,
        model=model,
        backend=backend,
        precision=precision,
        device=device,
        calibration=calibration,
        threads=threads,
        flag_threshold=flag_threshold,
        flag_severity=flag_severity,
        review_threshold=review_threshold,
        fail_threshold=fail_threshold,
        fail_severity=fail_severity,
        ignore_rules=ignore_rule,
        cache=cache,
        engine=engine,
        scheduler=scheduler,
        workers=workers,
        chunk_articles=chunk_articles,
    )
    items = _inputs(inputs, reference)
    if fmt == "json":
        _print_one(settings, items)
    with _run_errors():
        tally = run(items, settings, out=out, resume=resume, log_every=log_every)
    raise typer.Exit(_finish(tally, out, resume))


def _print_one(settings: Settings, items: list) -> None:
    """``--format json``: the report of the single input article on stdout, then exit."""
    from mtqa.report import article_to_dict
    from mtqa.run import iter_scores

    with _run_errors():
        results = list(iter_scores(items, settings))
    if len(results) != 1:
        _fail(f"--format json needs exactly one article, got {len(results)}")
    json.dump(article_to_dict(results[0]), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    raise typer.Exit(2 if results[0].status == "error" else 0)


@app.command()
def check(
    inputs: Inputs,
    config: ConfigOpt = None,
    fail_threshold: FailThresholdOpt = None,
    fail_severity: FailSeverityOpt = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="'fail' (default): fail what the report calls fail; 'review': fail review too."),
    ] = None,
    review_threshold: ReviewThresholdOpt = None,
    max_flagged_share: Annotated[
        float | None,
        typer.Option(help="Fail when more than this share of an article's sentences is flagged (default 1.0: off)."),
    ] = None,
    ignore_rule: IgnoreRuleOpt = None,
    flag_threshold: FlagThresholdOpt = None,
    flag_severity: FlagSeverityOpt = None,
    min_chrf: Annotated[
        float | None,
        typer.Option(help="Fail an article whose chrF against its reference is below this (0-100; default off)."),
    ] = None,
    min_sentence_chrf: Annotated[
        float | None,
        typer.Option(help="Fail a sentence whose chrF against its reference sentence is below this (default off)."),
    ] = None,
    reference: ReferenceOpt = None,
    baseline: Annotated[Path | None, typer.Option(help="Baseline JSON: recorded findings do not count.")] = None,
    write_baseline: Annotated[
        Path | None, typer.Option(help="Record the current failures in this baseline file and exit 0.")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Write a JUnit XML report here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the article records (JSON list) here.")] = None,
    sarif_out: Annotated[Path | None, typer.Option("--sarif", help="Write a SARIF 2.1.0 log here.")] = None,
    github: Annotated[bool, typer.Option("--github", help="Print GitHub Actions annotations on stdout.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the usual reports here.")] = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    precision: PrecisionOpt = None,
    device: DeviceOpt = None,
    calibration: CalibrationOpt = None,
    threads: ThreadsOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="With --out: reuse the finished reports there that have this run's signature."),
    ] = False,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    log_every: LogEveryOpt = 0,
    chunk_articles: ChunkOpt = None,
) -> None:
    """Gate a batch of articles for CI: exit 1 when an article fails, with JUnit/SARIF/JSON reports.

    Exit status: 0 every article passes; 1 some article fails the gate; 2 usage or config error, model
    load error, or an input that could not be read (every readable article is still checked and reported).
    """
    from mtqa.gate import Gate, exit_code, summary_text
    from mtqa.gate.baseline import load_baseline
    from mtqa.gate.baseline import write_baseline as record_baseline
    from mtqa.gate.github import github_annotations
    from mtqa.gate.junit import junit_xml
    from mtqa.gate.records import RecordsFile
    from mtqa.gate.sarif import sarif
    from mtqa.report import write_atomic
    from mtqa.run import run

    if resume and out is None:
        raise typer.BadParameter("--resume reuses the reports of --out DIR; give --out")
    settings = _settings(
        config,
        no_cache,
        fail_threshold=fail_threshold,
        fail_severity=fail_severity,
        fail_on=fail_on,
        review_threshold=review_threshold,
        max_flagged_share=max_flagged_share,
        ignore_rules=ignore_rule,
        flag_threshold=flag_threshold,
        flag_severity=flag_severity,
        min_chrf=min_chrf,
        min_sentence_chrf=min_sentence_chrf,
        model=model,
        backend=backend,
        precision=precision,
        device=device,
        calibration=calibration,
        threads=threads,
        cache=cache,
        engine=engine,
        scheduler=scheduler,
        workers=workers,
        chunk_articles=chunk_articles,
    )
    try:
        known = load_baseline(baseline) if baseline else set()
    except ConfigError as exc:
        _fail(str(exc))
    items = _inputs(inputs, reference)
    records = RecordsFile(json_out) if json_out else None
    gate = Gate(settings, known, records)
    try:
        with _run_errors():
            run(items, settings, out=out, resume=resume, log_every=log_every, on_result=gate)
    except BaseException:
        if records is not None:
            records.abort()
        raise
    if records is not None:
        records.close()
    if junit:
        write_atomic(junit, junit_xml(gate.outcomes))
    if sarif_out:
        write_atomic(sarif_out, json.dumps(sarif(gate.outcomes), ensure_ascii=False, indent=1) + "\n", errors="replace")
    if github:
        for line in github_annotations(gate.outcomes):
            typer.echo(line)
    typer.echo(summary_text(gate.outcomes), err=True, nl=False)
    code = exit_code(gate.outcomes)
    if write_baseline:
        n = record_baseline(write_baseline, gate.outcomes)
        typer.echo(f"mtqa: wrote {n} fingerprints to {write_baseline}", err=True)
        code = 2 if code == 2 else 0
    raise typer.Exit(code)


@app.command()
def fix(
    inputs: Inputs,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the repaired articles (<id>.txt), their diffs (<id>.diff) and fixes.jsonl; "
            "it must not hold or lie inside an input.",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diffs on stdout; write nothing.")] = False,
    min_gain: Annotated[
        float | None,
        typer.Option(
            "--min-gain",
            help="Apply a repair only when the language model reads its sentence at least this many nats "
            "better (default 0: never worse).",
        ),
    ] = None,
    min_margin: Annotated[
        float | None,
        typer.Option(
            "--min-margin",
            help="... and, when there were alternatives, this many nats better than the runner-up (default 2).",
        ),
    ] = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    precision: PrecisionOpt = None,
    device: DeviceOpt = None,
    threads: ThreadsOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    log_every: LogEveryOpt = 0,
) -> None:
    """Write each article with its suggested repairs applied where the language model is sure of them, plus a
    unified diff per article; the inputs are never touched.

    Exit status: 0 when every input was read, 2 when some input could not be read (every readable article is
    still repaired) or on a usage error, 130/143 when interrupted (the articles done are written).
    """
    from mtqa.pipeline import Pipeline
    from mtqa.repair.fix import FixWriter
    from mtqa.run import run

    if out is None and not dry_run:
        _fail("give --out DIR for the repaired articles, or --dry-run to print the diffs")
    if out is not None and not dry_run:
        _check_fix_out(out, inputs)
    settings = _settings(
        config,
        no_cache,
        model=model,
        backend=backend,
        precision=precision,
        device=device,
        threads=threads,
        cache=cache,
        fix_min_gain=min_gain,
        fix_min_margin=min_margin,
    )
    settings = replace(settings, engine="local", workers=None, scheduler=None)  # repairs are checked here
    items = _inputs(inputs, None)
    with _run_errors():
        pipeline = Pipeline(settings)

        def score_units(texts: list[str], contexts: list[str]) -> list[float | None]:
            return [f.get("lm_sum_logprob") for f in pipeline.lm_step(texts, contexts, tally="repair")]

        writer = FixWriter(
            None if dry_run else out,
            settings.fix_min_gain,
            settings.fix_min_margin,
            score_units,
            stdout=sys.stdout,
            settings=settings,
        )
        if out is not None and not dry_run:
            out.mkdir(parents=True, exist_ok=True)
        tally = run(items, pipeline=pipeline, log_every=log_every, on_result=writer)
    writer.close()
    where = f" -> {out}" if out is not None and not dry_run else " (dry run: nothing written)"
    typer.echo(
        f"mtqa fix: {tally.articles} articles, {writer.articles_changed} changed, {writer.repairs_applied} "
        f"repairs applied, {writer.suggestions_left} suggested repairs left to the editor, "
        f"{len(tally.errors)} error{'' if len(tally.errors) == 1 else 's'}{where}",
        err=True,
    )
    for where_, error in tally.errors:
        typer.echo(f"  error: {where_}: {error}", err=True)
    if tally.signum:
        typer.echo(f"mtqa: interrupted; {tally.not_done} articles not done", err=True)
        raise typer.Exit(128 + tally.signum)
    raise typer.Exit(2 if tally.errors else 0)


def _check_fix_out(out: Path, inputs: list[str]) -> None:
    """``--out`` must not be an input, hold one or lie inside an input folder: a repaired article would
    overwrite an input, or be read as one."""
    target = out.resolve()
    for raw in inputs:
        if raw == "-":
            continue
        src = Path(raw).resolve()
        if target == src or src.is_relative_to(target) or target.is_relative_to(src):
            _fail(f"--out {out} overlaps the input {raw}: write the repaired articles to a folder of their own")


@app.command("eval")
def eval_(
    benchmark: Annotated[
        str, typer.Option(help="mqm-zhen, mlqe-ru-en or realworld-dev (real scraped pages; no test split).")
    ] = "mqm-zhen",
    split: Annotated[str, typer.Option(help="dev (tuning) or test (reporting only).")] = "dev",
    benchmarks: Annotated[
        Path | None, typer.Option(help="Benchmark folder (default: ../shared/benchmarks when present).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write eval-<benchmark>[-<split>].json/.md here.")] = None,
    config: ConfigOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    precision: PrecisionOpt = None,
    device: DeviceOpt = None,
    calibration: CalibrationOpt = None,
    threads: ThreadsOpt = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    flag_threshold: FlagThresholdOpt = None,
    flag_severity: FlagSeverityOpt = None,
    review_threshold: ReviewThresholdOpt = None,
    fail_threshold: FailThresholdOpt = None,
    fail_severity: FailSeverityOpt = None,
    ignore_rule: IgnoreRuleOpt = None,
) -> None:
    """Measure agreement with human judgements, with baselines side by side (the policy flags matter for
    realworld-dev, where flags and verdicts are measured)."""
    from mtqa.evaluate import BENCHMARKS, default_benchmark_dir, eval_markdown, run_eval
    from mtqa.pipeline import Pipeline

    if benchmark not in BENCHMARKS or split not in ("dev", "test") or (benchmark == "realworld-dev" and split != "dev"):
        _fail(f"--benchmark must be one of {', '.join(BENCHMARKS)} and --split dev or test (realworld-dev: dev)")
    bench_dir = benchmarks or default_benchmark_dir()
    if bench_dir is None or not Path(bench_dir).is_dir():
        _fail("benchmark folder not found; pass --benchmarks DIR")
    settings = _settings(
        config,
        no_cache,
        model=model,
        backend=backend,
        precision=precision,
        device=device,
        calibration=calibration,
        threads=threads,
        cache=cache,
        flag_threshold=flag_threshold,
        flag_severity=flag_severity,
        review_threshold=review_threshold,
        fail_threshold=fail_threshold,
        fail_severity=fail_severity,
        ignore_rules=ignore_rule,
    )
    try:
        with _run_errors():
            result = run_eval(Pipeline(settings), benchmark, split, Path(bench_dir))
    except (OSError, ValueError, KeyError) as exc:
        _fail(f"cannot read benchmark {benchmark} from {bench_dir}: {type(exc).__name__}: {exc}")
    md = eval_markdown(result)
    typer.echo(md)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        stem = f"eval-{benchmark}" if benchmark == "realworld-dev" else f"eval-{benchmark}-{split}"
        (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        (out / f"{stem}.md").write_text(md, encoding="utf-8")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
