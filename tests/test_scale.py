"""Scoring at scale: streamed inputs, per-chunk Parquet output, progress lines, and the Dask engine."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from mtqa.io import count_inputs, decode_text, read_inputs, read_table
from mtqa.progress import RunProgress
from mtqa.report import ReportWriter
from mtqa.report.summary import SUMMARY_COLUMNS
from mtqa.types import SEVERITY_RANK, Article, ReadError

from .conftest import SAMPLES

TEXT = "Seoul talks end\nThe talks ended on Monday in Seoul. Officials said both sides would meet again.\n"


def _corpus_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"art-{i}" for i in range(n)],
            "text": [None if i == 4 else TEXT.replace("Monday", f"day {i}") for i in range(n)],
            "title": [f"Title {i}" if i % 2 else None for i in range(n)],
            "url": [f"https://example.org/{i}" for i in range(n)],
        }
    )


# --------------------------------------------------------------------------- streamed input


def test_parquet_read_in_batches_gives_the_articles_of_a_whole_read(tmp_path):
    df = _corpus_frame(11)
    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=4)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3

    batched = list(read_table(path, batch_rows=3))  # 3-row batches straddle the 4-row groups
    whole = list(read_table(path, batch_rows=1000))
    assert batched == whole and len(batched) == 11
    expected = [
        ReadError(f"{path}#row{i + 1}", "empty or null 'text'", id=rec["id"])
        if rec["text"] is None
        else Article(id=rec["id"], text=rec["text"], input=f"{path}#row{i + 1}", title=rec["title"], url=rec["url"])
        for i, rec in enumerate(pd.read_parquet(path).astype(object).where(df.notna(), None).to_dict(orient="records"))
    ]
    assert batched == expected
    assert batched[5].title == "Title 5" and batched[6].title is None


def test_a_damaged_row_group_keeps_the_rows_before_it_and_names_where_it_broke(tmp_path):
    path = tmp_path / "damaged.parquet"
    pq.write_table(
        pa.Table.from_pandas(_corpus_frame(9), preserve_index=False), path, row_group_size=3, compression="none"
    )
    page = pq.ParquetFile(path).metadata.row_group(2).column(1).data_page_offset
    data = bytearray(path.read_bytes())
    data[page : page + 8] = b"\xff" * 8  # the page header of the last group's text column
    path.write_bytes(bytes(data))

    items = list(read_table(path, batch_rows=3))  # the batch size is what may be lost before the damage
    assert [x.id for x in items[:6]] == [f"art-{i}" for i in range(6)]  # rows 1-6 were read and yielded first
    assert len(items) == 7 and isinstance(items[6], ReadError) and items[6].input == str(path)
    assert items[6].message.startswith("could not read table from row 7 on (6 rows before it were read): ")


def test_csv_read_in_chunks_gives_the_articles_of_a_whole_read(tmp_path):
    path = tmp_path / "corpus.csv"
    _corpus_frame(7).to_csv(path, index=False)
    chunked, whole = list(read_table(path, batch_rows=2)), list(read_table(path, batch_rows=1000))
    assert chunked == whole
    assert [x.input for x in chunked] == [f"{path}:{line}" for line in range(2, 9)]
    assert isinstance(chunked[4], ReadError) and chunked[3].title == "Title 3" and chunked[3].url.endswith("/3")


def test_non_utf8_csv_with_a_byte_order_mark_is_read_in_chunks_with_the_fallback(tmp_path):
    path = tmp_path / "cp.csv"
    rows = "".join(f'r{i},"Caf\u00e9 owners said \u201cno\u201d {i} times."\n' for i in range(5))
    path.write_bytes(b"\xef\xbb\xbf" + ("id,text\n" + rows).encode("cp1252"))
    arts = list(read_table(path, batch_rows=2))
    assert [a.id for a in arts] == [f"r{i}" for i in range(5)]  # the BOM is not part of the first header
    assert arts[4].text == "Caf\u00e9 owners said \u201cno\u201d 4 times."
    note = decode_text(path.read_bytes())[1]  # what a whole-file read says
    assert note == "not valid UTF-8 (byte 18); decoded as cp1252"
    assert {a.notes for a in arts} == {(("input-encoding", note),)}


def test_header_only_csv_without_a_text_column_is_an_error(tmp_path):
    (tmp_path / "h.csv").write_text("id,body\n", encoding="utf-8")
    [err] = read_inputs([tmp_path / "h.csv"])
    assert isinstance(err, ReadError) and err.message == "no 'text' column (columns: id, body)"


def test_inputs_are_counted_without_reading_them_when_that_is_cheap(tmp_path):
    pq.write_table(pa.Table.from_pandas(_corpus_frame(11), preserve_index=False), tmp_path / "c.parquet")
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    assert count_inputs([tmp_path, SAMPLES]) == 11 + 1 + 8
    assert count_inputs([tmp_path, tmp_path / "missing.txt"]) == 13  # the missing file is one error row
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "j", "text": TEXT}) + "\n", encoding="utf-8")
    assert count_inputs([tmp_path]) is None and count_inputs(["-"]) is None


# --------------------------------------------------------------------------- Parquet out


def test_sentences_parquet_is_appended_per_chunk_and_matches_the_json_reports(tmp_path, demo_results):
    writer = ReportWriter(tmp_path, demo_results[0].signature)
    for i, result in enumerate(demo_results):
        writer.add(result)
        if i % 3 == 2:
            writer.flush()  # as `mtqa score` does after each chunk
    paths = writer.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the temp file was renamed

    table = pq.ParquetFile(paths["sentences"])
    assert table.metadata.num_row_groups == 3  # flushed after 3 and 6 articles, and the last 2 at close
    assert table.schema_arrow.metadata[b"mtqa.signature"] == demo_results[0].signature.encode()
    rows = table.read().to_pylist()
    expected = []
    for row in pd.read_parquet(paths["parquet"]).itertuples():
        d = json.loads((tmp_path / row.report).with_suffix(".json").read_text(encoding="utf-8"))
        for s in d["segments"]:
            if s["kind"] == "body":
                worst = max(s["findings"], key=lambda f: SEVERITY_RANK[f["severity"]], default=None)
                expected.append(
                    {
                        "id": d["id"],
                        "index": s["index"],
                        "start": s["start"],
                        "end": s["end"],
                        "continues": s["continues"],
                        "text": s["text"],
                        "score": s["score"],
                        "flagged": s["flagged"],
                        "top_finding": worst and worst["code"],
                    }
                )
    assert rows == expected and len(rows) == sum(r.n_sentences for r in demo_results)
    fused = next(r for r in rows if "development The people" in r["text"])
    assert fused["flagged"] and fused["top_finding"] in ("fused-sentence", "repeated-phrase")
    assert list(writer.rows[0]) == SUMMARY_COLUMNS and "text" not in writer.rows[0]  # no article text


# --------------------------------------------------------------------------- progress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _log(total, log_every):
    out, clock = io.StringIO(), _Clock()
    console = Console(file=out, force_terminal=False, width=200)
    with RunProgress(total, log_every=log_every, console=console, clock=clock) as progress:
        for _ in range(4):
            clock.now += 10
            progress.update(articles=64, sentences=640)
    return out.getvalue().splitlines()


def test_progress_in_a_log_prints_a_plain_line_every_n_chunks_with_eta_when_the_total_is_known():
    assert _log(total=512, log_every=2) == [
        "mtqa: 128 of 512 articles, 1,280 sentences, 64.0 sentences/s, ETA 0:01:00, 0:00:20 elapsed",
        "mtqa: 256 of 512 articles, 2,560 sentences, 64.0 sentences/s, ETA 0:00:40, 0:00:40 elapsed",
    ]
    assert _log(total=None, log_every=4) == ["mtqa: 256 articles, 2,560 sentences, 64.0 sentences/s, 0:00:40 elapsed"]
    assert _log(total=512, log_every=0) == []  # quiet by default


def test_progress_in_a_terminal_is_a_live_display():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with RunProgress(100, console=console) as progress:
        progress.update(articles=40, sentences=400)
        progress.update(articles=10, sentences=100)
        assert progress._live is not None and progress.done.articles == 50
        assert progress.line(with_articles=False).startswith("500 sentences, ")
    assert "50/100" in out.getvalue()


# --------------------------------------------------------------------------- the Dask engine

MTQA = str(Path(sys.executable).parent / "mtqa")


def test_worker_processes_share_this_model_cache_and_never_download(monkeypatch, tmp_path):
    from mtqa.engines import worker_env

    monkeypatch.setenv("MTQA_CACHE_DIR", str(tmp_path))
    env = worker_env()
    assert env["MTQA_CACHE_DIR"] == str(tmp_path)
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"


def test_engine_options_that_do_not_fit_together_are_usage_errors(tmp_path):
    from mtqa.settings import ConfigError, Settings

    for options, message in [
        ({"engine": "spark"}, "'engine' must be 'local' or 'dask'"),
        ({"workers": 0}, "'workers' must be a whole number from 1 up"),
        ({"scheduler": "tcp://127.0.0.1:9"}, "needs the dask engine"),
        ({"engine": "dask", "scheduler": "tcp://127.0.0.1:9", "workers": 2}, "own workers"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Settings().with_overrides(**options)
    out = tmp_path / "out"
    proc = subprocess.run(
        [MTQA, "score", str(SAMPLES), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "needs the dask engine (--engine dask)" in proc.stderr
    assert not out.exists()  # refused before anything was written


def test_two_dask_workers_give_the_local_engine_reports(tmp_path):
    """`mtqa score --workers 2`: a LocalCluster of 2 single-threaded worker processes scores the samples and a
    JSONL with a malformed line in chunks of 3; every JSON report equals the local engine's on the same chunks.
    (The fake scorer: this is about the engines' plumbing; the model's own batching is tested in test_lm.)"""
    from mtqa.pipeline import Pipeline
    from mtqa.report import article_to_dict
    from mtqa.run import score_articles
    from mtqa.settings import Settings

    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "\n".join(
            [
                json.dumps({"id": "j1", "text": TEXT}),
                "{broken",
                json.dumps({"id": "j2", "text": TEXT.replace("Seoul", "Busan")}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    inputs = [SAMPLES, feed]
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            MTQA,
            "score",
            *map(str, inputs),
            "--out",
            str(out),
            "--workers",
            "2",
            "--model",
            "fake",
            "--no-cache",
            "--chunk-articles",
            "3",
            "--log-every",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr  # the malformed line
    assert f"error: {feed}:2: malformed JSON" in proc.stderr
    progress = [line for line in proc.stderr.splitlines() if line.startswith("mtqa: ") and "sentences/s" in line]
    assert len(progress) == 4 and progress[-1].startswith("mtqa: 11 articles, ")  # 4 chunks, no total for JSONL

    local = score_articles(inputs, pipeline=Pipeline(Settings(model="fake", chunk_articles=3, cache=False)))
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary.id) == [r.id for r in local] and len(local) == 11  # input order, error row included
    for r, report in zip(local, summary.report, strict=True):
        d = json.loads((out / report).with_suffix(".json").read_text(encoding="utf-8"))
        assert d == article_to_dict(r), r.id  # exact: the same chunks give the same results, bit for bit
    assert len(pq.read_table(out / "sentences.parquet")) == sum(r.n_sentences for r in local)


def test_a_small_corpus_is_cut_so_that_every_worker_gets_chunks():
    from mtqa.engines import WINDOW_PER_THREAD, chunk_size

    assert chunk_size(3, 40, 4) == 3  # --chunk-articles wins
    assert chunk_size(None, 40, 1) == chunk_size(None, None, 4) == 64  # one thread, or size unknown (JSONL)
    assert chunk_size(None, 40, 2) == 10 and chunk_size(None, 1, 8) == 1
    assert chunk_size(None, 100_000, 4) == 64  # big corpora keep full LM batches
    for total, threads in [(40, 2), (7, 3), (500, 4), (9, 4)]:  # no thread is left without a chunk
        assert -(-total // chunk_size(None, total, threads)) >= min(total, threads)
    assert -(-40 // chunk_size(None, 40, 2)) == WINDOW_PER_THREAD * 2  # and each gets a window's worth


def test_a_worker_killed_mid_chunk_gives_error_rows_and_the_run_goes_on(monkeypatch):
    """A worker process that dies while scoring (OOM killer, a lost machine) fails only its chunk: those
    articles become error rows naming the failure, the other chunks are scored, none is dropped.
    (Dask would retry the chunk elsewhere; allowed-failures 0 makes the failure reach mtqa at once.)"""
    import os
    import signal
    import threading
    import time

    import dask
    import distributed  # noqa: F401  (its config defaults must be in place before dask.config.set)

    from mtqa.engines import DaskEngine
    from mtqa.settings import Settings

    articles = [a for a in read_inputs([SAMPLES]) if isinstance(a, Article)]
    chunks = [(k, articles[k : k + 2]) for k in range(0, len(articles), 2)]
    monkeypatch.setenv("MTQA_FAKE_SECONDS", "0.1")  # the workers inherit it: every chunk takes a second or more
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        engine = DaskEngine(Settings(model="fake", workers=2, cache=False))
    pids = engine.client.run(os.getpid)  # worker address -> its process
    killed: list[str] = []

    def kill_a_busy_worker() -> None:  # as the OOM killer would: SIGKILL, mid-chunk
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            busy = [w for w, keys in engine.client.processing().items() if keys]
            if busy:
                killed.append(busy[0])
                os.kill(pids[busy[0]], signal.SIGKILL)
            time.sleep(0.05)

    with engine:
        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        results = [r for _, rs in engine.map(chunks) for r in rs]
        killer.join()
    assert killed and [r.id for r in results] == [a.id for a in articles]  # input order, none dropped
    failed = [k for k, r in enumerate(results) if r.status == "error"]
    assert failed and len(failed) < len(results) and all(k ^ 1 in failed for k in failed)  # whole chunks
    assert all("a Dask worker failed on this chunk" in results[k].error for k in failed)
    assert engine.stats.counts["chunk_errors"] == len(failed) // 2
    assert all(r.verdict in ("pass", "review", "fail") for r in results if r.status == "ok")


def test_run_json_says_what_copies_the_cache_and_resume_saved(tmp_path):
    """The corpus summary reports reuse: exact copies, score-cache hits, and reports kept by --resume."""
    wire = (SAMPLES / "05-kim-putin-fused.txt").read_text(encoding="utf-8")
    other = "Rain is expected in Seoul on Friday, the weather agency said. Temperatures will fall to 3 degrees."
    rows = [{"id": "wire", "text": wire}, {"id": "copy", "text": wire}, {"id": "other", "text": other}]
    corpus = tmp_path / "feed.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cache = tmp_path / "cache"

    def run(out: Path, *extra: str) -> dict:
        proc = subprocess.run(
            [MTQA, "score", str(corpus), "--out", str(out), "--cache", str(cache), "--model", "fake", *extra],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads((out / "run.json").read_text(encoding="utf-8"))

    cold = run(tmp_path / "cold")
    assert cold["schema"] == "mtqa.run/1" and (cold["articles_analysed"], cold["articles_copied"]) == (2, 1)
    n = cold["sentences_lm_scored"]
    assert n > 0 and cold["sentences_from_cache"] == 0 and cold["sentences_repeated"] >= n // 2
    assert 'id="run"' in (tmp_path / "cold" / "index.html").read_text(encoding="utf-8")
    warm = run(tmp_path / "warm")  # a new folder: everything is analysed again, no sentence is scored again
    assert (warm["sentences_lm_scored"], warm["sentences_from_cache"]) == (0, n)
    again = run(tmp_path / "warm", "--resume")
    assert again["reports_reused"] == 3 and again["articles_analysed"] == 0 and again["sentences_lm_scored"] == 0
    assert pd.read_csv(tmp_path / "warm" / "summary.csv").id.tolist() == ["wire", "copy", "other"]
