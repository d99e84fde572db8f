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


def _settings(model, threads, flag_threshold, review_threshold, fail_threshold, calibration) -> Settings:
    return Settings(model=model, threads=threads, flag_threshold=flag_threshold,
                    review_threshold=review_threshold, fail_threshold=fail_threshold, calibration=calibration)


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
    review_threshold: Annotated[float, typer.Option(help="Article score for 'review'.")] = 0.5,
    fail_threshold: Annotated[float, typer.Option(help="Article score for 'fail'.")] = 0.8,
    calibration: Annotated[Path | None, typer.Option(help="Calibration JSON (default: shipped).")] = None,
) -> None:
    """Score articles and write per-article JSON/Markdown/HTML reports plus a corpus summary.

    Exit status: 0 when every input was read, 2 when some input could not be read (it is still
    listed in the summary with its error, and every readable article is scored).
    """
    settings = _settings(model, threads, flag_threshold, review_threshold, fail_threshold,
                         str(calibration) if calibration else None)
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
