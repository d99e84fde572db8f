"""Bad input and interruptions: nothing crashes, nothing is lost silently, and every oddity is reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from mtqa.io import decode_text, read_inputs
from mtqa.report import article_to_dict
from mtqa.run import score_articles
from mtqa.types import Article, ReadError

ENGLISH = (
    "Seoul talks end\nThe talks between the two delegations ended on Monday in Seoul. "
    "Officials said that both sides had agreed to meet again next month.\n"
)


def _split(items):
    items = list(items)
    return [x for x in items if isinstance(x, Article)], [x for x in items if isinstance(x, ReadError)]


# --------------------------------------------------------------------------- 1. encodings


def test_decode_falls_back_to_cp1252_then_latin1():
    assert decode_text("Caf\u00e9".encode()) == ("Caf\u00e9", None)
    assert decode_text(b"\xef\xbb\xbfBOM") == ("BOM", None)
    assert decode_text(b"\xef\xbb\xbfab\x93c") == ("ab\u201cc", "not valid UTF-8 (byte 5); decoded as cp1252")
    assert decode_text(b"smart \x93quotes\x94") == (
        "smart \u201cquotes\u201d",
        "not valid UTF-8 (byte 6); decoded as cp1252",
    )
    # 0x81 is undefined in cp1252: latin-1 decodes every byte
    assert decode_text(b"x\x81y") == ("x\x81y", "not valid UTF-8 (byte 1); decoded as latin-1")


def test_non_utf8_text_and_jsonl_line_are_kept_and_reported(tmp_path, pipeline):
    (tmp_path / "cp.txt").write_bytes(ENGLISH.replace("Officials", "\u201cOfficials\u201d").encode("cp1252"))
    line = json.dumps({"id": "j1", "text": ENGLISH.replace("Seoul", "S\u00e9oul")}, ensure_ascii=False)
    (tmp_path / "c.jsonl").write_bytes(line.encode("latin-1") + b"\n")
    arts, errs = _split(read_inputs([tmp_path]))
    assert errs == [] and [a.id for a in arts] == ["j1", "cp"]
    assert "S\u00e9oul" in arts[0].text and "\u201cOfficials\u201d" in arts[1].text
    results = {r.id: r for r in score_articles(arts, pipeline=pipeline)}
    for rid in ("j1", "cp"):
        r = results[rid]
        assert r.status == "ok" and r.verdict in ("review", "fail")  # an article finding is at least review
        enc = [f for f in r.article_findings if f.code == "input-encoding"]
        assert len(enc) == 1 and enc[0].severity == "minor" and "not valid UTF-8 (byte" in enc[0].message
        assert article_to_dict(r)["article_findings"][0]["code"] == "input-encoding"
    assert "decoded as cp1252" in results["cp"].article_findings[0].message


def test_non_utf8_csv_is_read_with_the_fallback(tmp_path):
    (tmp_path / "t.csv").write_bytes('id,text\nr1,"Caf\u00e9 owners said \u201cno\u201d."\n'.encode("cp1252"))
    arts, errs = _split(read_inputs([tmp_path / "t.csv"]))
    assert errs == [] and arts[0].text == "Caf\u00e9 owners said \u201cno\u201d."
    assert arts[0].notes == (("input-encoding", "not valid UTF-8 (byte 15); decoded as cp1252"),)


# --------------------------------------------------------------------------- 2. binary and unreadable files


def test_binary_files_are_errors_naming_the_file(tmp_path):
    (tmp_path / "nul.txt").write_bytes(b"PK\x03\x04\x00\x00 some zip")
    (tmp_path / "ctrl.txt").write_bytes(bytes(range(1, 9)) * 20 + b" a few letters")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "ok.txt").write_text(ENGLISH, encoding="utf-8")
    arts, errs = _split(read_inputs([tmp_path]))
    assert [a.id for a in arts] == ["ok"]
    msgs = {e.id: e.message for e in errs}
    assert msgs["nul"] == f"binary file, not text: {tmp_path / 'nul.txt'}"
    assert msgs["ctrl"].startswith("binary file, not text") and msgs["empty"] == "empty file"


def test_unreadable_file_in_a_folder_is_an_error_and_the_rest_is_read(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(ENGLISH, encoding="utf-8")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (tmp_path / "locked.txt").write_text(ENGLISH, encoding="utf-8")
    (tmp_path / "z.txt").write_text(ENGLISH, encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self):  # tests run as root, where chmod 000 does not stop reading
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    items = list(read_inputs([tmp_path]))
    assert [(type(x).__name__, x.id) for x in items] == [
        ("Article", "a"),
        ("ReadError", "dangling"),
        ("ReadError", "locked"),
        ("Article", "z"),
    ]
    assert "dangling.txt" in items[1].message and "No such file" in items[1].message
    assert items[2].message == f"cannot read {tmp_path / 'locked.txt'}: Permission denied"


# --------------------------------------------------------------------------- 3. language identification

GERMAN = (
    "Gespräche in Seoul beendet\nDie Gespräche zwischen den beiden Delegationen endeten am Montag in Seoul. "
    "Beamte sagten, beide Seiten hätten vereinbart, sich im nächsten Monat erneut zu treffen. "
    "Weitere Einzelheiten wurden zunächst nicht bekannt gegeben.\n"
)


def test_non_english_article_gets_a_finding_not_a_score(pipeline):
    r = score_articles([Article(id="de", text=GERMAN, input="<t>")], pipeline=pipeline)[0]
    assert [(f.code, f.severity) for f in r.article_findings] == [("not-english", "major")]
    assert "German (de)" in r.article_findings[0].message
    body = [s for s in r.segments if s.kind == "body"]
    assert body and all(s.score is None and not s.flagged and s.features == {} and not s.findings for s in body)
    assert r.verdict == "fail" and r.score == 0.0
    d = article_to_dict(r)
    assert all(s["score"] is None for s in d["segments"] if s["kind"] == "body")
    from mtqa.report import render_html, render_markdown

    assert "German (de)" in render_markdown(r) and "Gespr\u00e4che" in render_html(r)


def test_untranslated_sentence_in_an_english_article(pipeline):
    foreign = "Die Gespräche zwischen den beiden Delegationen endeten am Montag ohne eine Einigung."
    text = ENGLISH.rstrip("\n") + " " + foreign + " The next round is planned for April in Busan.\n"
    r = score_articles([Article(id="mix", text=text, input="<t>")], pipeline=pipeline)[0]
    assert not any(f.code == "not-english" for f in r.article_findings)
    body = [s for s in r.segments if s.kind == "body"]
    de = next(s for s in body if s.text == foreign)
    assert [(f.code, f.start, f.end) for f in de.findings if f.code == "not-english"] == [
        ("not-english", de.start, de.end)
    ]
    assert de.score is None and de.flagged and "German" in de.findings[0].message
    assert all(s.score is not None for s in body if s is not de)  # English sentences are scored as usual
    assert r.verdict in ("review", "fail")


# --------------------------------------------------------------------------- 4. interruption and --resume

MTQA = str(Path(sys.executable).parent / "mtqa")
TOWNS = ["Busan", "Daegu", "Incheon", "Gwangju", "Daejeon", "Ulsan", "Suwon", "Changwon"]


def _corpus(folder: Path) -> list[str]:
    folder.mkdir()
    for n, town in enumerate(TOWNS):
        (folder / f"{n}-{town.lower()}.txt").write_text(
            f"Port of {town} reopens\nThe port of {town} reopened on day {n + 3} after the storm had passed. "
            f"Officials in {town} said that {n + 12} ships were waiting to unload grain and steel. "
            f"Dock workers in {town} expect the queue to clear within {n + 2} days, the city said.\n",
            encoding="utf-8",
        )
    return [f"{n}-{town.lower()}" for n, town in enumerate(TOWNS)]


def test_sigint_writes_finished_reports_and_summary_then_resume_completes(tmp_path):
    ids = _corpus(tmp_path / "in")
    out = tmp_path / "out"
    cmd = [
        MTQA,
        "score",
        str(tmp_path / "in"),
        "--out",
        str(out),
        "--no-cache",
        "--chunk-articles",
        "1",
        "--model",
        "fake",
    ]
    slow = {**os.environ, "MTQA_FAKE_SECONDS": "0.1"}  # the fake scorer, slowed so the signal lands mid-run
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slow)
    deadline = time.monotonic() + 300
    while not list((out / "articles").glob("*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "--resume" in err

    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary.id) == sorted(ids)  # every input exactly once
    assert set(summary.status) <= {"ok", "not_done"} and (summary.status == "not_done").any()
    assert set(summary[summary.status == "not_done"].error) == {"not done: interrupted"}
    finished = {p.stem: p.stat().st_mtime_ns for p in (out / "articles").glob("*.json")}
    assert set(finished) == set(summary[summary.status == "ok"].id)
    for stem in finished:
        d = json.loads((out / "articles" / f"{stem}.json").read_text(encoding="utf-8"))  # complete JSON
        assert d["status"] == "ok" and d["verdict"] in ("pass", "review", "fail")
    assert not list(out.rglob("*.tmp"))

    proc = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"{len(finished)} reused from an earlier run" in proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.id) == sorted(ids) and set(summary.status) == {"ok"}
    assert {p.stem: p.stat().st_mtime_ns for p in (out / "articles").glob("*.json") if p.stem in finished} == finished
    assert len(list((out / "articles").glob("*.json"))) == len(ids)


def test_sigterm_is_caught_and_maps_to_exit_status_143():
    import os

    from mtqa.run import Interrupt

    before = signal.getsignal(signal.SIGTERM)
    with Interrupt() as interrupt:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert interrupt.signum == signal.SIGTERM and 128 + interrupt.signum == 143
    assert signal.getsignal(signal.SIGTERM) is before


def test_article_json_reads_back_for_resume(pipeline):
    from mtqa.report import article_from_dict

    foreign = "Die Gespräche zwischen den beiden Delegationen endeten am Montag ohne eine Einigung."
    r = score_articles([Article(id="rt", text=ENGLISH + foreign + "\n", input="<t>")], pipeline=pipeline)[0]
    d = json.loads(json.dumps(article_to_dict(r)))
    back = article_from_dict(d)
    assert article_to_dict(back) == d and back.n_flagged == r.n_flagged and back.n_sentences == r.n_sentences


def test_atomic_write_leaves_old_file_and_no_temp_when_interrupted(tmp_path, monkeypatch):
    import os

    import pytest

    from mtqa import report

    target = tmp_path / "a.json"
    target.write_text('{"old": true}\n', encoding="utf-8")

    def boom(src, dst):
        raise KeyboardInterrupt  # as if Ctrl-C arrived between writing and renaming

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        report.write_atomic(target, '{"new": true}\n')
    assert target.read_text(encoding="utf-8") == '{"old": true}\n' and os.listdir(tmp_path) == ["a.json"]
