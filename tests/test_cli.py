"""The real CLI as a subprocess: reports written, bad input reported, nothing written outside --out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .conftest import SAMPLES

MTQA = str(Path(sys.executable).parent / "mtqa")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MTQA, *args], capture_output=True, text=True, timeout=600)


def test_score_writes_reports_and_reports_bad_rows(tmp_path):
    corpus = tmp_path / "feed.jsonl"
    rows = [
        {"id": "../../escape", "text": "Talks end\nThe talks ended on Monday <script>alert(1)</script> in Seoul."},
        "{broken",
        {"id": "/abs/path", "text": "Rain is expected in Seoul on Friday, the weather agency said."},
    ]
    corpus.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = _run("score", str(SAMPLES / "05-kim-putin-fused.txt"), str(corpus), "--out", str(out), "--model", "fake")
    assert proc.returncode == 2, proc.stderr  # one input could not be read
    assert f"{corpus}:2" in proc.stderr and "malformed JSON" in proc.stderr

    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and set(summary.status) == {"ok", "error"}
    assert pd.read_parquet(out / "summary.parquet").shape[0] == 4
    fused = summary[summary.id == "05-kim-putin-fused"].iloc[0]
    assert fused.verdict in ("review", "fail") and fused.n_flagged >= 1

    # every file stays inside --out, whatever the ids
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(out.resolve()) or p == corpus for p in written)
    jsons = sorted((out / "articles").glob("*.json"))
    assert len(jsons) == 4
    for p in jsons:
        d = json.loads(p.read_text(encoding="utf-8"))
        assert d["schema"] == "mtqa.article/2"
        for s in d["segments"]:
            assert d["text"][s["start"] : s["end"]] == s["text"]
    escaped = next(p for p in jsons if "escape" in p.name)
    html = escaped.with_suffix(".html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert (out / "index.html").is_file() and "05-kim-putin-fused" in (out / "index.html").read_text()


def test_format_json_prints_one_article(tmp_path):
    proc = _run("score", str(SAMPLES / "01-rate-decision-clean.txt"), "--format", "json", "--model", "fake")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["id"] == "01-rate-decision-clean" and d["title"].startswith("Bank of Korea holds rates")
    assert not list(tmp_path.iterdir())


def test_missing_input_is_a_usage_error(tmp_path):
    proc = _run("score", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_eval_with_a_missing_benchmark_folder_is_a_clear_error(tmp_path):
    proc = _run("eval", "--benchmark", "mqm-zhen", "--split", "dev", "--benchmarks", str(tmp_path))
    assert proc.returncode == 2
    assert "cannot read benchmark mqm-zhen" in proc.stderr and str(tmp_path) in proc.stderr


def test_a_corrupt_model_exits_2_naming_the_file(tmp_path):
    """The model loads on first use, mid-run: its error must still be one clear line, exit 2, no summary."""
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    out = tmp_path / "out"
    proc = _run(
        "score", str(SAMPLES / "01-rate-decision-clean.txt"), "--model", str(bad), "--out", str(out), "--no-cache"
    )
    assert proc.returncode == 2 and "broken.gguf" in proc.stderr and "Traceback" not in proc.stderr
    assert not (out / "summary.csv").exists() and not list(out.rglob("*.tmp*"))
    proc = _run("check", str(SAMPLES / "01-rate-decision-clean.txt"), "--model", str(bad), "--no-cache")
    assert proc.returncode == 2 and "broken.gguf" in proc.stderr and "Traceback" not in proc.stderr
