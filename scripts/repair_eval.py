"""How often is the top suggested repair what an editor would write, and what would ``mtqa fix`` apply?

    .venv/bin/python scripts/repair_eval.py synthetic [--benchmarks ../shared/benchmarks] [--per-kind 60]
    .venv/bin/python scripts/repair_eval.py realworld [--benchmarks ../shared/benchmarks]

``synthetic``: fluent MQM dev segments (not garbled, at least two of three raters found no error) get one kind of
mechanical damage whose repair is known, the undamaged text (seeded): a fused sentence (the full stop between two
segments dropped, when the second opens with a sentence-starting word), a missing space after a full stop, a name
glued to the word before it, a doubled word, a phrase repeated back to back, a repetition loop (a phrase three
times), mojibake (a curly apostrophe read as cp1252) and an HTML entity (&quot;). Every damaged text is scored by
the pipeline; for each kind the table gives how often the rule found the damage, how often the top suggestion
restores the text exactly, and what ``mtqa fix`` would apply at the default thresholds (and how often that is the
exact repair). dev only; test is never read.

``realworld``: every finding of a kind that gets suggestions on realworld_dev, with its top suggestion (the words
around it, before and after), its score and margin, and whether ``mtqa fix`` would apply it: the list that was
checked by hand in docs/repairs.md.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

from mtqa import repair, rules
from mtqa.evaluate import MQM_DIR, default_benchmark_dir, load_mqm
from mtqa.lm import cache_dir
from mtqa.pipeline import Pipeline
from mtqa.repair.fix import apply, clears
from mtqa.run import score_articles
from mtqa.settings import Settings
from mtqa.types import Article

KINDS = (
    "fused-sentence",
    "glued-words:space",
    "glued-words:name",
    "doubled-word",
    "repeated-phrase",
    "repetition-loop",
    "mojibake",
    "stray-entity",
)
_STARTERS = tuple(w for w in rules.FUNCTION_WORDS if w[0].isupper())


def damage(text: str, following: str, kind: str, rng: random.Random) -> tuple[str, str, int] | None:
    """(damaged text, the text an editor would restore, offset where the damage starts), or None when ``text``
    has no place for this kind of damage."""
    words = list(re.finditer(r"\S+", text))
    if kind == "fused-sentence":
        nxt = following.split()
        if not (re.search(r"[a-z]{2,}\.$", text) and len(nxt) > 2 and nxt[0] in _STARTERS and nxt[1].islower()):
            return None
        return text[:-1] + " " + following, text + " " + following, len(text) - 1
    if kind == "glued-words:space":
        if not (re.search(r"[a-z]{2,}\.$", text) and following[:1].isupper()):
            return None
        return text + following, text + " " + following, len(text)
    if kind == "glued-words:name":
        spots = [
            m
            for m, n in zip(words, words[1:], strict=False)
            if re.fullmatch(r"[a-z]{2,}", m.group()) and re.fullmatch(r"[A-Z][a-z]{2,}", n.group())
        ]
        if not spots:
            return None
        m = rng.choice(spots)
        return text[: m.end()] + text[m.end() + 1 :], text, m.end()
    if kind == "doubled-word":
        spots = [
            m
            for m in words[1:-1]
            if re.fullmatch(r"[a-z]{3,}", m.group()) and m.group() not in rules.DOUBLED_WORD_ALLOW
        ]
        if not spots:
            return None
        m = rng.choice(spots)
        return text[: m.end()] + " " + m.group() + text[m.end() :], text, m.end()
    if kind in ("repeated-phrase", "repetition-loop"):
        for _ in range(10):
            if len(words) < 8:
                return None
            i = rng.randrange(1, len(words) - 4)
            k = rng.choice([3, 4])
            phrase = text[words[i].start() : words[i + k - 1].end()]
            if (
                not re.fullmatch(r"[A-Za-z' ]+", phrase)
                or sum(w.lower() not in rules.STOPWORDS for w in phrase.split()) < 2
            ):
                continue
            copies = 1 if kind == "repeated-phrase" else 2
            end = words[i + k - 1].end()
            return text[:end] + f", {phrase}" * copies + text[end:], text, end
        return None
    if kind == "mojibake":
        m = re.search(r"[a-z]'[a-z]", text)
        if not m:
            return None
        fixed = text[: m.start() + 1] + "\u2019" + text[m.start() + 2 :]
        return (
            fixed[: m.start() + 1] + "\u2019".encode().decode("cp1252") + fixed[m.start() + 2 :],
            fixed,
            m.start() + 1,
        )
    if kind == "stray-entity":
        i = text.find('"')
        if i < 0:
            return None
        return text[:i] + "&quot;" + text[i + 1 :], text, i
    raise ValueError(kind)


def synthetic(bench: Path, per_kind: int, settings: Settings, kinds: list[str], show: bool) -> None:
    with open(bench / MQM_DIR / "dev.jsonl", encoding="utf-8") as fh:
        no_error = {r["id"]: r["n_raters_no_error"] for r in map(json.loads, fh)}
    items = [it for it in load_mqm(bench, "dev") if not it.garbled and no_error[it.id] >= 2]
    by_pos = {(it.doc_id, it.system, it.seg_id): it.target for it in load_mqm(bench, "dev")}
    rng = random.Random(0)
    cases = []
    for kind in kinds:
        n = 0
        for it in rng.sample(items, len(items)):
            made = damage(it.target, by_pos.get((it.doc_id, it.system, it.seg_id + 1), ""), kind, rng)
            if made is None:
                continue
            cases.append((kind, *made))
            n += 1
            if n >= per_kind:
                break
    pipe = Pipeline(settings)
    articles = [
        Article(id=f"{k}-{i}", text=d, input="synthetic", title="Synthetic damage")
        for i, (k, d, _, _) in enumerate(cases)
    ]
    results = score_articles(articles, pipeline=pipe)
    table: dict[str, Counter] = {k: Counter() for k in kinds}
    for (kind, _damaged, expected, at), r in zip(cases, results, strict=True):
        code = kind.split(":")[0]
        row = table[kind]
        row["cases"] += 1
        reach = at + 1 + (len(_damaged) - len(expected) if code in ("repeated-phrase", "repetition-loop") else 0)
        found = [f for s in r.segments for f in s.findings if f.code == code and f.start <= reach and at - 1 <= f.end]
        if not found:
            continue
        row["found"] += 1
        f = max(found, key=lambda f: (f.suggestions[0].score or 0.0) if f.suggestions else -1e9)
        if not f.suggestions:
            continue
        row["suggested"] += 1
        top = apply(r.text, [f.suggestions[0]])
        row["top right"] += top == expected
        if show and top != expected:
            print(f"{kind}: {_damaged!r}\n  top: {top!r} (score {f.suggestions[0].score})\n  want {expected!r}\n")
        if clears(f, settings.fix_min_gain, settings.fix_min_margin):
            row["fix applies"] += 1
            row["fix right"] += top == expected
    cols = ["cases", "found", "suggested", "top right", "fix applies", "fix right"]
    print(
        f"Synthetic damage on fluent MQM dev segments (seed 0, up to {per_kind} per kind); fix thresholds: "
        f"min gain {settings.fix_min_gain}, min margin {settings.fix_min_margin}\n"
    )
    print("| kind | " + " | ".join(cols) + " | top right / suggested | fix right / fix applies |")
    print("|---|" + "---|" * (len(cols) + 2))
    total = Counter()
    for kind, row in table.items():
        total.update(row)
        _row(kind, row, cols)
    _row("all", total, cols)


def _row(name: str, row: Counter, cols: list[str]) -> None:
    print(
        f"| {name} | " + " | ".join(str(row[c]) for c in cols) + f" | {_share(row['top right'], row['suggested'])} "
        f"| {_share(row['fix right'], row['fix applies'])} |"
    )


def _share(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "-"


def realworld(bench: Path, settings: Settings) -> None:
    pipe = Pipeline(settings)
    results = score_articles([bench / "realworld_dev" / "cases"], pipeline=pipe)
    codes = repair.fix_codes()
    print("| case | code | finding | top suggestion (before -> after) | score | margin | fix |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        found = [f for s in r.segments for f in s.findings] + list(r.article_findings)
        for f in found:
            if f.code not in repair.MAKERS and f.code != "inconsistent-name":
                continue
            span = r.text[f.start : f.end] if hasattr(f, "start") else f.message
            if not f.suggestions:
                print(f"| {r.id} | {f.code} | {span!r} | (none) | | | |")
                continue
            top = f.suggestions[0]
            before, after = repair.before_after(r.text, top)
            margin = (
                f"{top.score - f.suggestions[1].score:.2f}"
                if len(f.suggestions) > 1 and None not in (top.score, f.suggestions[1].score)
                else ""
            )
            if hasattr(f, "start"):
                applies = f.code in codes and clears(f, settings.fix_min_gain, settings.fix_min_margin)
            else:  # an article finding's places go in together, when their summed gain clears min_gain
                scores = [s.score for s in f.suggestions]
                applies = None not in scores and sum(scores) >= settings.fix_min_gain
            print(
                f"| {r.id} | {f.code} | {span!r} | {before!r} -> {after!r} | {top.score} | {margin} | "
                f"{'yes' if applies else 'no'} |"
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["synthetic", "realworld"])
    ap.add_argument("--benchmarks", type=Path, default=default_benchmark_dir())
    ap.add_argument("--per-kind", type=int, default=60)
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--show", action="store_true", help="print every case whose top suggestion is not the repair")
    args = ap.parse_args()
    if args.benchmarks is None:
        ap.error("no --benchmarks folder given and ../shared/benchmarks not found")
    settings = Settings(cache=str(cache_dir()))
    if args.what == "synthetic":
        synthetic(args.benchmarks, args.per_kind, settings, args.kinds, args.show)
    else:
        realworld(args.benchmarks, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
