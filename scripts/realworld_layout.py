#!/usr/bin/env python3
"""Layout figures on the real-world dev pages: segmentation only, no language model (seconds, not minutes).

    scripts/realworld_layout.py [BENCH_DIR] [--details] [--json FILE] [--no-recurring] [--justext]

BENCH_DIR is the realworld_dev folder (default ../shared/benchmarks/realworld_dev relative to the repository).
The cases are read with mtqa.io exactly as ``mtqa score`` reads them (.txt and .html), counted across the run
by ``chrome.RecurringLines`` as the run loop does (``--no-recurring`` leaves that evidence out), and segmented
with ``mtqa.segment.segment_article``. Figures:

* Chrome lines (.txt cases whose article text equals the file text), exactly as check.py defines them: a
  non-blank line (``text.split("\\n")``) is predicted chrome when most of its non-space characters lie in
  segments of kind "boilerplate"; gold = the lines listed in chrome.jsonl. Precision, recall, recall per kind.
* Title accuracy (.txt cases): the case's headline is its first ``part: headline`` label when that label comes
  (in label order) before the first body label; otherwise the case has no headline. Correct = some "title"
  segment overlaps the headline's span by >= 1 character, or there is no title segment when the case has none.
* Wrapped-line fragments (.txt cases): a body segment that lies inside one text line while a labelled
  sentence (body or headline) it overlaps spans several lines (its span contains a line break). Counted for
  every .txt case and reported for the hard-wrapped cases (those with such a multi-line label) case by case.
* Short non-sentence body segments: body segments without a letter or digit (".", "#.", "/.").

``--justext`` also prints the chrome figures of jusText 3 (its stopword-density/length classes and context
revision, English stoplist, default and a few other settings), fed one ``<p>`` per non-blank line: the
well-kept paragraph classifier that mtqa's own is measured against.

The benchmark's texts and labels are read at run time only; nothing of them is stored in the repository.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from mtqa.io import read_inputs
from mtqa.segment import segment_article
from mtqa.types import Article

DEFAULT_BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "realworld_dev"


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return min(a1, b1) - max(a0, b0) >= 1


def ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def line_spans(text: str) -> list[tuple[int, int, int]]:
    """(line number from 1, start, end) of each line as check.py splits them."""
    out, pos = [], 0
    for i, line in enumerate(text.split("\n"), 1):
        out.append((i, pos, pos + len(line)))
        pos += len(line) + 1
    return out


def measure(bench: Path, recurring: bool = True) -> dict:
    labels = load_jsonl(bench / "labels.jsonl")
    chrome = load_jsonl(bench / "chrome.jsonl")
    by_case: dict[str, list[dict]] = collections.defaultdict(list)
    for lab in labels:
        by_case[lab["case"]].append(lab)
    gold_chrome: dict[str, dict[int, str]] = collections.defaultdict(dict)
    for c in chrome:
        gold_chrome[c["case"]][int(c["line"])] = c["kind"]

    articles = [a for a in read_inputs([bench / "cases"]) if isinstance(a, Article)]
    if recurring:
        from mtqa.chrome import RecurringLines

        counter = RecurringLines()
        for art in articles:
            counter.observe(art)
        articles = [counter.annotate(art) for art in articles]

    ch = collections.Counter()
    kind_tot, kind_found = collections.Counter(), collections.Counter()
    fp_lines: list[str] = []
    fn_lines: list[str] = []
    titles = collections.Counter()
    title_rows: list[str] = []
    frag = collections.Counter()
    frag_rows: list[str] = []
    punct_only: list[str] = []
    per_case_frag: dict[str, int] = {}
    for art in articles:
        case = art.id
        path = Path(art.input)
        layout = segment_article(art)
        segs = layout.segments
        text = art.text
        for s in segs:
            if s.kind == "body" and not any(ch_.isalnum() for ch_ in s.text):
                punct_only.append(f"{case}: {s.text!r}")
        if path.suffix != ".txt":
            continue
        if path.read_text(encoding="utf-8") != text:
            print(f"warning: {case}: article text differs from the file; case left out", file=sys.stderr)
            continue
        labs = by_case.get(case, [])
        lines = line_spans(text)
        # chrome lines, as check.py
        boiler = [(s.start, s.end) for s in segs if s.kind == "boilerplate"]
        gold = gold_chrome.get(case, {})
        for i, l0, l1 in lines:
            nonspace = [k for k in range(l0, l1) if not text[k].isspace()]
            if not nonspace:
                continue
            covered = sum(1 for k in nonspace if any(b0 <= k < b1 for b0, b1 in boiler))
            pred = covered * 2 > len(nonspace)
            g = i in gold
            ch["lines"] += 1
            ch["tp"] += pred and g
            ch["fp"] += pred and not g
            ch["fn"] += g and not pred
            if g:
                kind_tot[gold[i]] += 1
                kind_found[gold[i]] += pred
                if not pred:
                    fn_lines.append(f"{case}:{i} [{gold[i]}] {text[l0:l1].strip()[:90]!r}")
            elif pred:
                fp_lines.append(f"{case}:{i} {text[l0:l1].strip()[:90]!r}")
        # title
        first_body = next((k for k, lb in enumerate(labs) if lb["part"] == "body"), len(labs))
        head = next((lb for lb in labs[:first_body] if lb["part"] == "headline"), None)
        tsegs = [s for s in segs if s.kind == "title"]
        ok = not tsegs if head is None else any(overlaps(head["start"], head["end"], s.start, s.end) for s in tsegs)
        titles["cases"] += 1
        titles["correct"] += ok
        if not ok:
            got = tsegs[0].text[:70] if tsegs else None
            want = head["text"][:70] if head else None
            title_rows.append(f"{case}: title {got!r}, headline {want!r}")
        # wrapped-line fragments
        multi = [lb for lb in labs if "\n" in lb["text"]]
        n_case = 0
        for s in segs:
            if s.kind != "body" or "\n" in text[s.start : s.end]:
                continue
            if any(overlaps(lb["start"], lb["end"], s.start, s.end) for lb in multi):
                n_case += 1
                frag_rows.append(f"{case}: {s.text[:90]!r}")
        frag["segments"] += n_case
        if multi:
            per_case_frag[case] = n_case
    return {
        "chrome": dict(
            ch,
            precision=ratio(ch["tp"], ch["tp"] + ch["fp"]),
            recall=ratio(ch["tp"], ch["tp"] + ch["fn"]),
            recall_by_kind={k: [kind_found[k], n] for k, n in kind_tot.most_common()},
            false_positives=fp_lines,
            misses=fn_lines,
        ),
        "title": dict(titles, accuracy=ratio(titles["correct"], titles["cases"]), wrong=title_rows),
        "wrapped_fragments": dict(frag, per_case=per_case_frag, rows=frag_rows),
        "non_sentence_body": punct_only,
    }


def justext_chrome(bench: Path, **params) -> dict:
    """Chrome line precision/recall of jusText on the .txt cases (one paragraph per non-blank line)."""
    import html

    import justext

    gold: dict[str, set[int]] = collections.defaultdict(set)
    for c in load_jsonl(bench / "chrome.jsonl"):
        gold[c["case"]].add(int(c["line"]))
    stoplist = justext.get_stoplist("English")
    tp = fp = fn = 0
    for path in sorted((bench / "cases").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        lines = [(i, line.strip()) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
        page = "<html><body>" + "".join(f"<p>{html.escape(t)}</p>" for _, t in lines) + "</body></html>"
        paragraphs = justext.justext(page.encode("utf-8"), stoplist, **params)
        if len(paragraphs) != len(lines):
            raise RuntimeError(f"{path.name}: jusText returned {len(paragraphs)} paragraphs for {len(lines)} lines")
        for (i, _), par in zip(lines, paragraphs, strict=True):
            pred, g = par.is_boilerplate, i in gold[path.stem]
            tp += pred and g
            fp += pred and not g
            fn += g and not pred
    return {"precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn), "tp": tp, "fp": fp, "fn": fn}


JUSTEXT_SETTINGS = {
    "default (length 70/200, stopwords 0.30/0.32)": {},
    "short texts (length 30/100)": {"length_low": 30, "length_high": 100},
    "short texts, lower density (length 30/100, stopwords 0.20/0.25)": {
        "length_low": 30,
        "length_high": 100,
        "stopwords_low": 0.2,
        "stopwords_high": 0.25,
    },
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench", type=Path, nargs="?", default=DEFAULT_BENCH, help="the realworld_dev folder")
    ap.add_argument("--details", action="store_true", help="list chrome misses and false alarms, wrong titles")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--no-recurring", action="store_true", help="leave out the cross-article repeated-line evidence")
    ap.add_argument("--justext", action="store_true", help="also measure jusText's paragraph classes on the chrome")
    args = ap.parse_args(argv)
    if not (args.bench / "labels.jsonl").is_file():
        print(f"realworld_layout: no labels.jsonl in {args.bench}", file=sys.stderr)
        return 2
    r = measure(args.bench, recurring=not args.no_recurring)
    c, t, w = r["chrome"], r["title"], r["wrapped_fragments"]
    print(f"Chrome lines (.txt cases): non-blank {c['lines']}, gold {c['tp'] + c['fn']}, predicted {c['tp'] + c['fp']}")
    print(f"  precision {fmt(c['precision'])}  recall {fmt(c['recall'])}   (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})")
    print("  recall by kind: " + ", ".join(f"{k} {f}/{n}" for k, (f, n) in c["recall_by_kind"].items()))
    print(f"Title correct: {t['correct']}/{t['cases']} text cases ({fmt(t['accuracy'])})")
    print(
        f"Wrapped-line fragments among body segments: {w['segments']} "
        f"(cases with multi-line labels: {', '.join(f'{k} {v}' for k, v in w['per_case'].items())})"
    )
    print(f"Body segments with no letter or digit: {len(r['non_sentence_body'])}")
    if args.justext:
        r["justext"] = {}
        for name, params in JUSTEXT_SETTINGS.items():
            j = r["justext"][name] = justext_chrome(args.bench, **params)
            print(
                f"jusText {name}: chrome precision {fmt(j['precision'])}  recall {fmt(j['recall'])}"
                f"   (tp {j['tp']}, fp {j['fp']}, fn {j['fn']})"
            )
    if args.details:
        for head, rows in (
            ("chrome false positives", c["false_positives"]),
            ("chrome misses", c["misses"]),
            ("wrong titles", t["wrong"]),
            ("wrapped fragments", w["rows"]),
            ("non-sentence body segments", r["non_sentence_body"]),
        ):
            print(f"\n{head} ({len(rows)}):")
            print("\n".join("  " + x for x in rows))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
