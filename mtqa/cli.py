"""Command-line interface: a thin layer over :mod:`mtqa.engine` and :mod:`mtqa.report`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mtqa.engine import Pipeline, Settings
from mtqa.io import read_inputs
from mtqa.lm import ModelLoadError
from mtqa.report import ReportWriter, article_to_dict

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find garbled machine-translated sentences in English news articles.")

ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="smollm2 (default), gemma3-270m, a .gguf file or a local transformers folder.")]
CacheOpt = Annotated[Path | None, typer.Option(
    "--cache", help="Sentence score cache folder (default: the user cache dir, e.g. ~/.cache/mtqa).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Score every sentence afresh; write no cache.")]


def _cache(cache: Path | None, no_cache: bool) -> str | None:
    if no_cache:
        return None
    from mtqa.lm import cache_dir

    return str(cache or cache_dir())




def _pipeline(settings: Settings) -> Pipeline:
    try:
        return Pipeline(settings)
    except ModelLoadError as exc:
        typer.echo(f"mtqa: {exc}", err=True)
        raise typer.Exit(2) from None


@app.callback()
def _main() -> None:
    """Find garbled machine-translated sentences in English news articles."""


@app.command()
def score(
    inputs: Annotated[list[Path], typer.Argument(help=".txt files, folders, .jsonl/.csv/.parquet corpora.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("reports/latest"),
    fmt: Annotated[str, typer.Option("--format", help="'files' writes DIR; 'json' prints one article.")] = "files",
    model: ModelOpt = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: all cores).")] = None,
    flag_threshold: Annotated[float, typer.Option(help="Sentence probability that flags it.")] = 0.5,
    flag_severity: Annotated[str, typer.Option(
        help="Rule findings of this severity or worse flag their sentence: minor or major.")] = "minor",
    review_threshold: Annotated[float, typer.Option(help="Article score for 'review'.")] = 0.5,
    fail_threshold: Annotated[float, typer.Option(help="Article score for 'fail'.")] = 0.8,
    calibration: Annotated[Path | None, typer.Option(help="Calibration JSON (default: shipped).")] = None,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Score articles and write per-article JSON/Markdown/HTML reports plus a corpus summary.

    Exit status: 0 when every input was read, 2 when some input could not be read (it is still
    listed in the summary with its error, and every readable article is scored).
    """
    if flag_severity not in ("minor", "major"):
        raise typer.BadParameter("--flag-severity must be minor or major")
    settings = Settings(model=model, threads=threads, flag_threshold=flag_threshold, flag_severity=flag_severity,
                        review_threshold=review_threshold, fail_threshold=fail_threshold,
                        calibration=str(calibration) if calibration else None, cache=_cache(cache, no_cache))
    if fmt not in ("files", "json"):
        raise typer.BadParameter("--format must be 'files' or 'json'")
    pipe = _pipeline(settings)
    results = []
    if fmt == "json":
        results = list(pipe.run(read_inputs(inputs)))
        if len(results) != 1:
            typer.echo(f"mtqa: --format json needs exactly one article, got {len(results)}", err=True)
            raise typer.Exit(2)
        json.dump(article_to_dict(results[0]), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        raise typer.Exit(2 if results[0].status == "error" else 0)
    writer = ReportWriter(out, pipe.signature)
    with _progress() as progress:
        task = progress.add_task("articles", total=None)
        for res in pipe.run(read_inputs(inputs)):
            writer.add(res)
            results.append(res)
            progress.advance(task)
    writer.close()
    errors = [r for r in results if r.status == "error"]
    by_verdict = {v: sum(r.verdict == v for r in results) for v in ("pass", "review", "fail")}
    typer.echo(f"{len(results)} articles: {by_verdict['pass']} pass, {by_verdict['review']} review, "
               f"{by_verdict['fail']} fail, {len(errors)} error -> {out}/index.html", err=True)
    for r in errors:
        typer.echo(f"  error: {r.input}: {r.error}", err=True)
    raise typer.Exit(2 if errors else 0)


@app.command("eval")
def eval_(
    benchmark: Annotated[str, typer.Option(help="mqm-zhen or mlqe-ru-en.")] = "mqm-zhen",
    split: Annotated[str, typer.Option(help="dev (tuning) or test (reporting only).")] = "dev",
    benchmarks: Annotated[Path | None, typer.Option(
        help="Benchmark folder (default: ../shared/benchmarks when present).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write eval-<benchmark>-<split>.json/.md here.")] = None,
    model: ModelOpt = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: all cores).")] = None,
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
    settings = Settings(model=model, threads=threads, calibration=str(calibration) if calibration else None,
                        cache=_cache(cache, no_cache))
    try:
        result = run_eval(_pipeline(settings), benchmark, split, Path(bench_dir))
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


def _progress():
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=not console.is_terminal, transient=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
