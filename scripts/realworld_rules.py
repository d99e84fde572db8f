"""Each sentence rule on the labelled units of realworld_dev: fires, precision, native-control fires, misses.

    .venv/bin/python scripts/realworld_rules.py [BENCH_DIR] [--details CODE ...] [--misses KIND ...]

BENCH_DIR is the benchmarks folder (default ``../shared/benchmarks``) or its ``realworld_dev`` folder. The
figures do not depend on segmentation: every labelled unit (sentence or headline of ``labels.jsonl``) is
checked on its own span of the article text, with its line(s) as the paragraph, exactly as the engine calls
the rules. ``.txt`` cases are read as files and their labels used by offset; ``.html`` cases are read with
``mtqa.io`` (trafilatura, as ``mtqa score`` reads them) and each label is located in that text in label order.

Columns: units the rule fires on; of them sure garbled, unsure garbled and clean (``garbled: false``, sure or
unsure); precision = sure garbled / (sure garbled + clean); fires on units of the native controls
(``native-*`` cases). Then, per garbled kind, how many sure garbled units no rule (and no major rule) catches.
Nothing is written; ``--details`` prints the units a rule fires on (benchmark text: local use only).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mtqa import rules
from mtqa.evaluate import default_benchmark_dir
from mtqa.io import read_html_file


@dataclass
class Unit:
    """One labelled unit located in its article text, with the rule findings on it."""

    case: str
    label: dict
    text: str  # the whole article text
    start: int
    end: int
    found: dict[str, str] = field(default_factory=dict)  # code -> text of its first finding

    @property
    def native(self) -> bool:
        return self.case.startswith("native-")

    @property
    def status(self) -> str:
        """'sure' (sure garbled), 'unsure' (unsure garbled) or 'clean'."""
        if not self.label["garbled"]:
            return "clean"
        return "unsure" if self.label["unsure"] else "sure"


def bench_folder(arg: Path | None) -> Path:
    base = arg or default_benchmark_dir()
    if base is None:
        raise SystemExit("no benchmark folder given and ../shared/benchmarks not found")
    return base if (base / "labels.jsonl").is_file() else base / "realworld_dev"


def case_text(path: Path) -> str:
    if path.suffix == ".html":
        article = next(read_html_file(path))
        if not hasattr(article, "text"):
            raise SystemExit(f"{path}: {article}")
        return article.text
    return path.read_bytes().decode("utf-8")


def load_units(folder: Path) -> tuple[list[Unit], int]:
    """Every label located in its case text; returns the units and how many labels could not be located."""
    with open(folder / "labels.jsonl", encoding="utf-8") as fh:
        labels = [json.loads(line) for line in fh if line.strip()]
    by_case: dict[str, list[dict]] = defaultdict(list)
    for lab in labels:
        by_case[lab["case"]].append(lab)
    units: list[Unit] = []
    missing = 0
    for case, labs in by_case.items():
        path = next(p for p in (folder / "cases" / f"{case}.txt", folder / "cases" / f"{case}.html") if p.exists())
        text = case_text(path)
        pos = 0
        for lab in labs:
            if lab.get("start") is not None and text[lab["start"] : lab["end"]] == lab["text"]:
                s = lab["start"]
            else:
                s = text.find(lab["text"], pos)
                s = s if s >= 0 else text.find(lab["text"])
            if s < 0:
                missing += 1
                continue
            pos = s + len(lab["text"])
            units.append(Unit(case, lab, text, s, pos))
    return units, missing


def load_segments(folder: Path, units: list[Unit]) -> list[Unit]:
    """The engine's view: the body sentences ``mtqa.segment`` cuts from each case, each judged by the labels it
    overlaps as ``check.py`` judges a flagged segment (sure garbled if it overlaps one, unsure if it overlaps only
    unsure garbled ones, clean otherwise, chrome taken for body included). ``paragraph`` is the engine's line."""
    from mtqa.segment import segment_article
    from mtqa.types import Article

    by_case: dict[str, list[Unit]] = defaultdict(list)
    for u in units:
        by_case[u.case].append(u)
    out: list[Unit] = []
    for case, labelled in by_case.items():
        text = labelled[0].text
        layout = segment_article(Article(id=case, text=text, input=case))
        for seg in layout.segments:
            if seg.kind != "body":
                continue
            over = [u for u in labelled if min(u.end, seg.end) - max(u.start, seg.start) >= 1]
            garbled = [u for u in over if u.label["garbled"]]
            sure = [u for u in garbled if not u.label["unsure"]]
            label = {
                "garbled": bool(garbled),
                "unsure": not sure,
                "note": "",
                "kinds": sorted({k for u in sure for k in u.label["kinds"]}),
            }
            unit = Unit(case, label, text, seg.start, seg.end)
            unit.para = layout.paragraph_of[seg.index]
            out.append(unit)
    return out


def paragraph(text: str, start: int, end: int) -> tuple[int, int]:
    """The line or lines holding ``text[start:end]``: the paragraph the engine passes to the rules."""
    line_end = text.find("\n", end)
    return text.rfind("\n", 0, start) + 1, len(text) if line_end < 0 else line_end


def run_rules(units: list[Unit]) -> None:
    for u in units:
        para = getattr(u, "para", None) or paragraph(u.text, u.start, u.end)
        found = rules.apply_sentence_rules(u.text, [(u.start, u.end)], [para])[0]
        for f in found:
            u.found.setdefault(f.code, u.text[f.start : f.end])


def print_table(units: list[Unit], union: list[str] | None = None) -> None:
    codes = [r.code for r in rules.SENTENCE_RULES]
    severity = {r.code: r.severity for r in rules.SENTENCE_RULES}
    status = Counter(u.status for u in units)
    n_native = sum(u.native for u in units)
    print(
        f"{len(units)} units: {status['sure']} sure garbled, {status['unsure']} unsure garbled, "
        f"{status['clean']} clean; {n_native} in native controls"
    )
    print(rules.rules_signature())
    print()
    print("| rule | severity | fires | sure garbled | unsure garbled | clean | precision | native fires |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [*codes, "(any major)", "(any rule)", *(["(any of --union)"] if union else [])]
    for code in rows:
        if code == "(any of --union)":
            hit = [u for u in units if set(union or []) & set(u.found)]
        elif code == "(any major)":
            hit = [u for u in units if any(severity[c] == "major" for c in u.found)]
        elif code == "(any rule)":
            hit = [u for u in units if u.found]
        else:
            hit = [u for u in units if code in u.found]
        c = Counter(u.status for u in hit)
        prec = f"{c['sure'] / (c['sure'] + c['clean']):.2f}" if c["sure"] + c["clean"] else "-"
        sev = severity.get(code, "")
        print(
            f"| `{code}` | {sev} | {len(hit)} | {c['sure']} | {c['unsure']} | {c['clean']} | {prec} "
            f"| {sum(u.native for u in hit)} |"
        )
    print()
    print("Sure garbled units that no rule catches, by kind (a unit can have several kinds):")
    print("| kind | sure garbled | caught by a rule | caught by a major rule | missed |")
    print("|---|---|---|---|---|")
    total, caught, caught_major = Counter(), Counter(), Counter()
    for u in units:
        if u.status != "sure":
            continue
        for kind in u.label["kinds"] or ["(none)"]:
            total[kind] += 1
            caught[kind] += bool(u.found)
            caught_major[kind] += any(severity[c] == "major" for c in u.found)
    for kind, n in total.most_common():
        print(f"| {kind} | {n} | {caught[kind]} | {caught_major[kind]} | {n - caught[kind]} |")


def print_details(units: list[Unit], codes: list[str]) -> None:
    for code in codes:
        print(f"\n## {code}")
        for u in units:
            if code in u.found:
                print(f"- [{u.status}] {u.case}: «{u.found[code]}» in: {u.text[u.start : u.end][:300]!r}")


def print_misses(units: list[Unit], kinds: list[str]) -> None:
    for kind in kinds:
        print(f"\n## missed sure garbled units of kind {kind}")
        for u in units:
            if u.status == "sure" and kind in u.label["kinds"] and not u.found:
                print(f"- {u.case}: {u.text[u.start : u.end][:300]!r}  ({u.label['note'][:120]})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", type=Path, nargs="?", default=None)
    ap.add_argument("--details", nargs="*", default=[], metavar="CODE", help="list the units a rule fires on")
    ap.add_argument(
        "--segmented",
        action="store_true",
        help="check the engine's body sentences (mtqa.segment) instead of the labelled units",
    )
    ap.add_argument(
        "--union",
        nargs="*",
        default=[],
        metavar="CODE",
        help="add a row for units that any of these rules fires on (a candidate flag policy)",
    )
    ap.add_argument("--misses", nargs="*", default=[], metavar="KIND", help="list missed sure garbled units")
    args = ap.parse_args()
    folder = bench_folder(args.bench)
    units, missing = load_units(folder)
    if missing:
        print(f"WARNING: {missing} labels could not be located in their article text", file=sys.stderr)
    if args.segmented:
        units = load_segments(folder, units)
    run_rules(units)
    print_table(units, args.union)
    print_details(units, args.details)
    print_misses(units, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
