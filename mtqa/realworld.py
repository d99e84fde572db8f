"""The real-pages benchmark (``realworld_dev``): flags, verdicts, chrome and titles as an editor sees them.

The figures are computed the way the benchmark's own scorer (``check.py`` beside its labels) computes them from
an ``mtqa score --out`` folder, from the same ``mtqa.article`` records, so the two always agree (checked in
docs/evaluation.md): a sure garbled label is found when a flagged body or title segment overlaps it; a flagged
segment is a hit when it overlaps a sure garbled label, a false alarm when it overlaps no garbled label; a line of
a text case is chrome when most of its non-space characters lie in boilerplate segments. On top of check.py's
figures: title accuracy, and which finding code (or the language model's score) decided each flag.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtqa.policy import LM_CODE, flagging_codes

FOLDER = "realworld_dev"


@dataclass
class Bench:
    """The benchmark as read: case files, sentence labels and chrome lines by case."""

    cases: dict[str, Path]
    labels: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    chrome: dict[str, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))


def load(bench_dir: Path) -> Bench:
    """``bench_dir`` is the benchmarks folder (holding ``realworld_dev/``) or ``realworld_dev`` itself."""
    root = Path(bench_dir)
    if not (root / "labels.jsonl").is_file():
        root = root / FOLDER
    bench = Bench({p.stem: p for p in sorted((root / "cases").iterdir()) if p.suffix in (".txt", ".html")})
    for lab in _jsonl(root / "labels.jsonl"):
        bench.labels[lab["case"]].append(lab)
    for c in _jsonl(root / "chrome.jsonl"):
        bench.chrome[c["case"]][int(c["line"])] = c["kind"]
    return bench


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return min(a1, b1) - max(a0, b0) >= 1


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def locate(text: str, labels: list[dict], use_offsets: bool) -> list[tuple[int, int] | None]:
    """Each label's span in the article text: its offsets, or (an HTML case) where its text is found, in order."""
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for lab in labels:
        if use_offsets and lab.get("start") is not None:
            spans.append((lab["start"], lab["end"]))
            continue
        i = text.find(lab["text"], pos)
        if i < 0:
            i = text.find(lab["text"])
        if i < 0:
            spans.append(None)
            continue
        spans.append((i, i + len(lab["text"])))
        pos = i + len(lab["text"])
    return spans


def chrome_lines(text: str, segments: Iterable[Mapping], gold: Mapping[int, str]) -> list[tuple[int, bool, str | None]]:
    """``(line number, predicted chrome, gold kind or None)`` for every non-blank line of a text case."""
    boiler = [(s["start"], s["end"]) for s in segments if s.get("kind") == "boilerplate"]
    out, pos = [], 0
    for i, line in enumerate(text.split("\n"), 1):
        l0, l1 = pos, pos + len(line)
        pos = l1 + 1
        nonspace = [k for k in range(l0, l1) if not text[k].isspace()]
        if nonspace:
            covered = sum(1 for k in nonspace if any(b0 <= k < b1 for b0, b1 in boiler))
            out.append((i, covered * 2 > len(nonspace), gold.get(i)))
    return out


def title_correct(labels: list[dict], segments: Iterable[Mapping]) -> bool:
    """The case's headline is its first headline label before its first body label (else it has none); the
    title is right when a title segment overlaps it, or there is no title segment when the case has none."""
    first_body = next((k for k, lb in enumerate(labels) if lb["part"] == "body"), len(labels))
    head = next((lb for lb in labels[:first_body] if lb["part"] == "headline"), None)
    titles = [s for s in segments if s.get("kind") == "title"]
    if head is None:
        return not titles
    return any(overlaps(head["start"], head["end"], s["start"], s["end"]) for s in titles)


def _on_chrome(text: str, seg: Mapping, gold: Mapping[int, str]) -> bool:
    """Whether most of a segment's non-space characters lie on lines labelled chrome."""
    chars = [k for k in range(seg["start"], seg["end"]) if not text[k].isspace()]
    on = sum(text.count("\n", 0, k) + 1 in gold for k in chars)
    return bool(chars) and on * 2 > len(chars)


def _deciders(seg: Mapping) -> list[str]:
    """What flagged a segment: its flagging finding codes, else the language model's score."""
    return flagging_codes(f["code"] for f in seg.get("findings", [])) or [LM_CODE]


def figures(bench: Bench, records: Mapping[str, Mapping[str, Any]], body_only: bool = False) -> dict[str, Any]:
    """The benchmark's figures for ``records`` (``mtqa.article`` dicts by article id = case name)."""
    kinds = ("body",) if body_only else ("body", "title")
    s, a, ch = Counter(), Counter(), Counter()
    found_kinds, total_kinds, ch_found, ch_total = Counter(), Counter(), Counter(), Counter()
    hit_by, fa_by = Counter(), Counter()
    titles = Counter()
    ranked: list[tuple[float, bool]] = []
    per_case, missing = [], []
    for case, path in bench.cases.items():
        labs = [lb for lb in bench.labels.get(case, []) if not (body_only and lb.get("part") == "headline")]
        sure = [lb for lb in labs if lb["garbled"] and not lb["unsure"]]
        rec = records.get(case)
        if rec is None or rec.get("status") != "ok":
            missing.append(case)
            s["garbled_sure"] += len(sure)
            total_kinds.update(k for lb in sure for k in lb["kinds"])
            continue
        text = rec.get("text") or ""
        use_offsets = path.suffix == ".txt" and path.read_text(encoding="utf-8") == text
        spans = locate(text, labs, use_offsets)
        s["unlocated"] += sum(sp is None for sp in spans)
        segs = rec.get("segments", [])
        preds = [g for g in segs if g.get("flagged") and g.get("kind") in kinds]
        c_found = 0
        for lb, sp in zip(labs, spans, strict=True):
            if not lb["garbled"]:
                continue
            hit = sp is not None and any(overlaps(*sp, g["start"], g["end"]) for g in preds)
            if lb["unsure"]:
                s["garbled_unsure"] += 1
                s["garbled_unsure_found"] += hit
                continue
            s["garbled_sure"] += 1
            s["garbled_sure_found"] += hit
            c_found += hit
            total_kinds.update(lb["kinds"])
            if hit:
                found_kinds.update(lb["kinds"])
        for lb, sp in zip(labs, spans, strict=True):
            if sp is None or (lb["garbled"] and lb["unsure"]):
                continue
            scores = [g["score"] for g in segs if g.get("score") is not None and overlaps(*sp, g["start"], g["end"])]
            if scores:
                ranked.append((max(scores), bool(lb["garbled"])))
        c_hits = c_fa = 0
        for g in preds:
            over = [
                lb
                for lb, sp in zip(labs, spans, strict=True)
                if sp is not None and lb["garbled"] and overlaps(*sp, g["start"], g["end"])
            ]
            if any(not lb["unsure"] for lb in over):
                s["hits"] += 1
                c_hits += 1
                hit_by.update(_deciders(g))
            elif over:
                s["on_unsure"] += 1
            else:
                s["false_alarms"] += 1
                c_fa += 1
                fa_by.update(_deciders(g))
                s["false_alarms_native"] += case.startswith("native-")
        s["flagged"] += len(preds)
        verdict = rec.get("verdict")
        if sure:
            a["garbled"] += 1
            a["garbled_flagged"] += verdict in ("review", "fail")
            a["garbled_fail"] += verdict == "fail"
        else:
            key = "native" if case.startswith("native-") else "clean_mt"
            a[key] += 1
            a[f"{key}_pass"] += verdict == "pass"
        if path.suffix == ".txt" and use_offsets:
            gold_lines = bench.chrome.get(case, {})
            s["false_alarms_on_chrome"] += sum(_on_chrome(text, g, gold_lines) for g in preds)
            for _, pred, gold in chrome_lines(text, segs, gold_lines):
                ch["lines"] += 1
                ch["tp"] += pred and gold is not None
                ch["fp"] += pred and gold is None
                ch["fn"] += gold is not None and not pred
                if gold is not None:
                    ch_total[gold] += 1
                    ch_found[gold] += pred
            titles["cases"] += 1
            titles["correct"] += title_correct(bench.labels.get(case, []), segs)
        per_case.append(
            {
                "case": case,
                "verdict": verdict,
                "score": rec.get("score"),
                "sure": len(sure),
                "found": c_found,
                "hits": c_hits,
                "false_alarms": c_fa,
            }
        )
    precision = ratio(s["hits"], s["hits"] + s["false_alarms"])
    recall = ratio(s["garbled_sure_found"], s["garbled_sure"])
    pos = [x for x, g in ranked if g]
    neg = [x for x, g in ranked if not g]
    auc = ratio(sum((p > q) + 0.5 * (p == q) for p in pos for q in neg), len(pos) * len(neg))
    cp, cr = ratio(ch["tp"], ch["tp"] + ch["fp"]), ratio(ch["tp"], ch["tp"] + ch["fn"])
    return {
        "scope": "body" if body_only else "body+headlines",
        "sentences": {
            **s,
            "precision": precision,
            "recall": recall,
            "f1": f1(precision, recall),
            "score_auc": auc,
            "recall_by_kind": {k: [found_kinds[k], n] for k, n in total_kinds.most_common()},
            "hits_by": dict(hit_by.most_common()),
            "false_alarms_by": dict(fa_by.most_common()),
        },
        "articles": dict(a),
        "chrome": {
            **ch,
            "precision": cp,
            "recall": cr,
            "f1": f1(cp, cr),
            "recall_by_kind": {k: [ch_found[k], n] for k, n in ch_total.most_common()},
        },
        "titles": {**titles, "accuracy": ratio(titles["correct"], titles["cases"])},
        "per_case": per_case,
        "missing": missing,
    }


def eval_realworld(pipeline, bench_dir: Path) -> dict[str, Any]:
    """Score the cases with ``pipeline`` through the run loop (as ``mtqa score`` would) and measure them."""
    from mtqa.report import article_to_dict
    from mtqa.run import iter_scores

    bench = load(bench_dir)
    records = {r.id: article_to_dict(r) for r in iter_scores(list(bench.cases.values()), pipeline=pipeline)}
    return {
        "benchmark": "realworld-dev",
        "split": "dev",
        "n_cases": len(bench.cases),
        "signature": pipeline.signature,
        "all": figures(bench, records),
        "body_only": figures(bench, records, body_only=True),
    }


def markdown(result: Mapping[str, Any]) -> str:
    """The figures as the tables docs/evaluation.md quotes."""
    lines = [
        f"### realworld-dev ({result['n_cases']} cases)",
        "",
        "| scope | flagged | hits | false alarms (native) | precision | recall | F1 | score ROC-AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("all", "body_only"):
        x = result[key]["sentences"]
        lines.append(
            f"| {result[key]['scope']} | {x['flagged']} | {x['hits']} | {x['false_alarms']} "
            f"({x['false_alarms_native']}) | {_f(x['precision'])} | {_f(x['recall'])} | {_f(x['f1'])} "
            f"| {_f(x['score_auc'])} |"
        )
    al = result["all"]
    s, a, c, t = al["sentences"], al["articles"], al["chrome"], al["titles"]
    lines += [
        "",
        f"Sure garbled found {s['garbled_sure_found']}/{s['garbled_sure']} "
        f"(unsure {s['garbled_unsure_found']}/{s['garbled_unsure']}); by kind: "
        + ", ".join(f"{k} {n[0]}/{n[1]}" for k, n in s["recall_by_kind"].items()),
        f"Hits decided by: {_counts(s['hits_by'])}; false alarms by: {_counts(s['false_alarms_by'])}; "
        f"flagged segments on chrome lines: {s['false_alarms_on_chrome']}",
        "",
        f"Articles: garbled cases sent to review or fail {a['garbled_flagged']}/{a['garbled']} "
        f"({a['garbled_fail']} fail); native controls pass {a['native_pass']}/{a['native']}; "
        f"clean translated cases pass {a['clean_mt_pass']}/{a['clean_mt']}",
        f"Chrome lines (text cases): precision {_f(c['precision'])}, recall {_f(c['recall'])}, "
        f"F1 {_f(c['f1'])}; recall by kind: " + ", ".join(f"{k} {n[0]}/{n[1]}" for k, n in c["recall_by_kind"].items()),
        f"Titles right (text cases): {t['correct']}/{t['cases']} ({_f(t['accuracy'])})",
    ]
    if al["missing"]:
        lines.append(f"Not scored: {', '.join(al['missing'])}")
    lines += ["", f"Signature: `{result['signature']}`", ""]
    return "\n".join(lines)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _counts(c: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in c.items()) or "-"
