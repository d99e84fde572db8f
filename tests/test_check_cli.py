"""``mtqa check`` as a subprocess: exit codes, the stderr summary, JUnit/JSON/SARIF, baseline, config, stdin.

These are about the gate's plumbing, so they run on the fake scorer (``--model fake``): the findings that fail
articles here come from the rules; the model's scores are tested in test_lm and test_engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from mtqa.gate import fingerprint

from .conftest import SAMPLES

MTQA = str(Path(sys.executable).parent / "mtqa")
CLEAN = SAMPLES / "01-rate-decision-clean.txt"
FUSED = SAMPLES / "05-kim-putin-fused.txt"
LEAK = "The message said the DPRK will always stand together with your country in the struggle."
NEW_DAMAGE = (
    "The minister said both sides would deepen cooperation in trade and investment The two leaders "
    "also agreed to meet again next year."
)
RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>http://example.com/</link><description>d</description>
<item><title>Port reopens after storm</title><link>http://example.com/port</link><guid>urn:wire:port</guid>
<description>&lt;p&gt;The port of Busan reopened on Monday after the storm.&lt;/p&gt;
&lt;p&gt;Officials said &lt;b&gt;ships&lt;/b&gt; were moving again.&lt;/p&gt;</description></item>
</channel></rss>
"""


def _run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MTQA, "check", "--model", "fake", *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=600
    )


def test_check_mixed_batch_with_config_and_reports(tmp_path):
    """Clean, damaged, a corpus with a malformed line and an RSS feed; mtqa.toml ignores two rules."""
    (tmp_path / "mtqa.toml").write_text('ignore_rules = ["addressee-leak", "headline-damage"]\n')
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        json.dumps({"id": "leak", "text": f"Kim sends greetings to Putin\n{LEAK}"}) + "\n{broken\n", encoding="utf-8"
    )
    feed = tmp_path / "wire.rss"
    feed.write_text(RSS, encoding="utf-8")
    proc = _run(
        tmp_path,
        str(CLEAN),
        str(FUSED),
        "corpus.jsonl",
        "wire.rss",
        "--junit",
        "junit.xml",
        "--json",
        "gate.json",
        "--sarif",
        "gate.sarif",
        "--github",
    )
    assert proc.returncode == 2, proc.stderr  # unreadable line wins over the failing article
    err = proc.stderr
    assert "5 articles: 3 passed, 1 failed, 1 unreadable" in err
    assert "FAIL 05-kim-putin-fused" in err and '"development The"' in err and "fused-sentence (major)" in err
    assert "ERROR corpus.jsonl:2: malformed JSON" in err
    assert "addressee-leak" not in err  # ignored by mtqa.toml: the 'leak' article passes

    cases = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite").findall("testcase")
    by_name = {c.get("name"): c for c in cases}
    assert list(by_name) == ["01-rate-decision-clean", "05-kim-putin-fused", "leak", "corpus.jsonl:2", "urn:wire:port"]
    assert by_name["05-kim-putin-fused"].get("classname") == str(FUSED)
    assert "development The" in by_name["05-kim-putin-fused"].find("failure").text
    assert by_name["corpus.jsonl:2"].find("error") is not None
    for name in ("01-rate-decision-clean", "leak", "urn:wire:port"):
        assert list(by_name[name]) == [], name

    records = json.loads((tmp_path / "gate.json").read_text(encoding="utf-8"))
    assert [(r["id"], r["status"], r["gate"]["passed"]) for r in records] == [
        ("01-rate-decision-clean", "ok", True),
        ("05-kim-putin-fused", "ok", False),
        ("leak", "ok", True),
        ("corpus.jsonl:2", "error", False),
        ("urn:wire:port", "ok", True),
    ]
    port = records[-1]
    assert port["schema"] == "mtqa.article/2" and port["input"] == "wire.rss#item1"
    assert port["text"].startswith("Port reopens after storm\nThe port of Busan reopened")

    sarif = json.loads((tmp_path / "gate.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"fused-sentence"}
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    text = FUSED.read_text(encoding="utf-8")
    assert text[region["charOffset"] : region["charOffset"] + region["charLength"]] == "development The"
    assert proc.stdout.startswith(f"::error file={FUSED},line=6,title=mtqa fused-sentence::")


def test_baseline_workflow_and_stdin(tmp_path):
    damaged = tmp_path / "feed" / FUSED.name
    damaged.parent.mkdir()
    damaged.write_text(FUSED.read_text(encoding="utf-8"), encoding="utf-8")
    proc = _run(tmp_path, str(damaged), "--write-baseline", "baseline.json")
    assert proc.returncode == 0, proc.stderr
    assert "1 failed" in proc.stderr and "wrote 3 fingerprints to baseline.json" in proc.stderr
    recorded = json.loads((tmp_path / "baseline.json").read_text())["fingerprints"]
    leak = next(line for line in damaged.read_text().splitlines() if "go hand in hand" in line)
    assert fingerprint("05-kim-putin-fused", leak, "addressee-leak") in recorded

    # the same damaged input passes with its baseline; the clean article, read as JSONL on stdin, passes too
    stdin = json.dumps({"id": "clean", "text": CLEAN.read_text(encoding="utf-8")}) + "\n"
    proc = _run(tmp_path, str(damaged), "-", "--baseline", "baseline.json", "--json", "out.json", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert "2 articles: 2 passed, 0 failed, 0 unreadable (3 known findings suppressed" in proc.stderr
    records = json.loads((tmp_path / "out.json").read_text())
    assert [(r["id"], r["input"]) for r in records] == [("05-kim-putin-fused", str(damaged)), ("clean", "<stdin>:1")]

    # new damage in the same article fails again; the recorded findings stay suppressed
    damaged.write_text(damaged.read_text(encoding="utf-8") + NEW_DAMAGE + "\n", encoding="utf-8")
    proc = _run(tmp_path, str(damaged), "--baseline", "baseline.json", "--junit", "junit.xml")
    assert proc.returncode == 1, proc.stderr
    assert '"investment The"' in proc.stderr and "development The" not in proc.stderr
    failure = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite/testcase/failure")
    assert failure is not None and "investment The" in failure.text and "development The" not in failure.text


def test_usage_errors_exit_2_before_loading_the_model(tmp_path):
    (tmp_path / "mtqa.toml").write_text("max_scor = 0.5\n")
    proc = _run(tmp_path, str(CLEAN))
    assert proc.returncode == 2
    assert "unknown key 'max_scor'" in proc.stderr and "mtqa.toml" in proc.stderr
    proc = _run(tmp_path, str(CLEAN), "--config", str(tmp_path / "none.toml"), "--min-severity", "bad")
    assert proc.returncode == 2 and "no such config file" in proc.stderr


def test_check_runs_on_workers_and_resumes_like_score(tmp_path):
    """check shares score's run loop: two worker processes give the in-process outcome, and --resume reuses the
    reports of --out that have this run's signature instead of scoring again."""
    args = [str(CLEAN), str(FUSED), str(SAMPLES / "07-flood-relief-repeats.txt"), "--no-cache"]
    here = _run(tmp_path, *args, "--json", "here.json")
    spread = _run(tmp_path, *args, "--json", "spread.json", "--workers", "2", "--chunk-articles", "1")
    assert here.returncode == spread.returncode == 1, spread.stderr
    assert here.stderr == spread.stderr
    records = [json.loads((tmp_path / f).read_text(encoding="utf-8")) for f in ("here.json", "spread.json")]
    assert records[0] == records[1]

    first = _run(tmp_path, *args, "--out", "out")
    reports = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "articles").glob("*.json")}
    assert len(reports) == 3
    again = _run(tmp_path, *args, "--out", "out", "--resume", "--json", "again.json")
    assert again.returncode == first.returncode == 1 and again.stderr == first.stderr
    assert {p: p.stat().st_mtime_ns for p in reports} == reports  # reused, not rewritten
    assert json.loads((tmp_path / "again.json").read_text(encoding="utf-8")) == records[0]
    assert json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["reports_reused"] == 3
    usage = _run(tmp_path, *args, "--resume")
    assert usage.returncode == 2 and "--resume reuses the reports of --out DIR" in usage.stderr
