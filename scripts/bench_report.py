"""How fast an editor gets an article page: Python rendering and Chromium load of a long article.

    .venv/bin/python scripts/bench_report.py [--sentences 200] [--repeat 20] [--json FILE]

The article is built from the bundled samples: the first sample's header lines, then their prose
paragraphs in turn until it has exactly N body sentences, then the first sample's footer, so it has
boilerplate, flagged sentences, findings and popovers like a real scraped page. It is scored once with the
real model (the score cache under the user cache dir makes reruns quick); only the report is timed:

- ``render_html``: Python time to build the page (median and best of --repeat);
- ``write_article``: JSON + Markdown + HTML rendered and written atomically;
- Chromium: headless Debian Chromium (scripts/setup-browser.sh) opening the file, as the navigation's
  ``loadEventEnd`` (parse, style, layout and first paint included) and as wall time of ``page.goto``,
  in a fresh page each time, after one warm-up load.

The goal of the editor's view is under a second per page for a 200-sentence article. Figures go in
docs/performance.md; measure on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from itertools import zip_longest
from pathlib import Path

from mtqa.browser import chromium
from mtqa.io import read_inputs
from mtqa.lm import cache_dir
from mtqa.pipeline import Pipeline
from mtqa.report import render_html, write_article
from mtqa.segment import segment_article, split_sentences
from mtqa.settings import Settings
from mtqa.types import Article, ArticleResult

ROOT = Path(__file__).resolve().parent.parent


def long_article(n_sentences: int) -> Article:
    """Exactly N body sentences of sample prose between the first sample's header and footer lines."""
    samples = [a for a in read_inputs([ROOT / "data" / "samples"]) if isinstance(a, Article)]
    layouts = [segment_article(a) for a in samples]
    per_sample = [
        [(a.text[s:e], split_sentences(a.text, s, e)) for s, e in sorted(set(lay.paragraph_of.values()))]
        for a, lay in zip(samples, layouts, strict=True)
    ]
    # (text, sentence spans) of every prose line, taking the samples in turn so damage comes early
    paragraphs = [p for group in zip_longest(*per_sample) for p in group if p is not None]
    first, layout = samples[0], layouts[0]
    body = [s for s in layout.segments if s.kind == "body"]
    header, footer = first.text[: body[0].start].rstrip("\n"), first.text[body[-1].end :].lstrip("\n")
    lines, count, i = [], 0, 0
    while count < n_sentences:
        text, spans = paragraphs[i % len(paragraphs)]
        take = spans[: n_sentences - count]
        lines.append(text[: take[-1][1] - spans[0][0]] if len(take) < len(spans) else text)
        count += len(take)
        i += 1
    article = Article(id=f"bench-{n_sentences}", text="\n".join([header, *lines, footer]), input="<bench>")
    got = sum(s.kind == "body" for s in segment_article(article).segments)
    if got != n_sentences:
        raise SystemExit(f"built an article of {got} body sentences, not {n_sentences}")
    return article


def _summary(seconds: list[float]) -> dict:
    return {
        "median_ms": round(1000 * statistics.median(seconds), 1),
        "best_ms": round(1000 * min(seconds), 1),
        "runs": len(seconds),
    }


def time_python(result: ArticleResult, repeat: int, out: Path) -> dict:
    render, write = [], []
    for i in range(repeat):
        t0 = time.perf_counter()
        render_html(result)
        render.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        write_article(result, out, f"bench-{i}")
        write.append(time.perf_counter() - t0)
    return {"render_html": _summary(render), "write_article": _summary(write)}


def time_chromium(page_file: Path, repeat: int) -> dict:
    url = page_file.resolve().as_uri()
    load, wall = [], []
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.new_page().goto(url)  # warm-up: process start and font cache are not the page's cost
        for _ in range(repeat):
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(url, wait_until="load")
            wall.append(time.perf_counter() - t0)
            load.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
            page.close()
        version = browser.version
    return {"chromium": version, "load_event": _summary(load), "goto_wall": _summary(wall)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    article = long_article(args.sentences)
    pipe = Pipeline(Settings(cache=str(cache_dir())))
    t0 = time.perf_counter()
    [result] = list(pipe.run([article]))
    scored_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        page_file = write_article(result, out, "page")["html"]
        figures = {
            "sentences": result.n_sentences,
            "flagged": result.n_flagged,
            "findings": sum(len(s.findings) for s in result.segments),
            "html_kb": round(page_file.stat().st_size / 1024),
            "scoring_s": round(scored_s, 1),  # not part of the report's cost; cached after the first run
            **time_python(result, args.repeat, out),
            **time_chromium(page_file, args.repeat),
        }
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
