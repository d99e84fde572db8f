"""The run signature names everything that changes a score, a flag or a report: each stage owns its part, and
editing any shipped data file changes it (so --resume never reuses a stale report)."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files

import pytest

from mtqa import datafiles
from mtqa.pipeline import Pipeline
from mtqa.settings import Settings

FAKE = Settings(model="fake", cache=False)


def _signature(settings: Settings = FAKE) -> str:
    return Pipeline(settings).signature  # a new Pipeline reads every data file's hash afresh


def test_the_signature_joins_every_stage():
    parts = [p.split(":")[0] for p in _signature().split("|")]
    for stage in (
        "mtqa",
        "segment",
        "rules",
        "langid",
        "lm",
        "context",
        "features",
        "calibration",
        "reference",
        "codes",
        "flag",
        "review",
        "fail",
        "ignore",
        "report",
    ):
        assert stage in parts, stage


def test_every_shipped_data_file_is_read_by_a_stage():
    shipped = set(datafiles.shipped())
    assert {"boilerplate.tsv", "codes.tsv", "calibration.json", "reference.json", "report.json"} <= shipped
    assert any(name.startswith("rules/") for name in shipped)
    # data/*.json, *.tsv, *.txt and rules/* are what pyproject.toml ships
    on_disk = {p.name for p in files("mtqa.data").iterdir() if p.is_file() and p.suffix in datafiles.SUFFIXES}
    assert on_disk <= shipped


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the shipped data files that the stages read instead of the real ones."""
    root = tmp_path / "data"
    shutil.copytree(str(files("mtqa.data")), root, ignore=shutil.ignore_patterns("__pycache__", "samples"))
    monkeypatch.setattr(datafiles, "ROOT", root)
    return root


def _edit(path) -> None:
    """A change that keeps the file valid: a new key in a JSON object, a comment line in a list or table."""
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        data["edited_by_test"] = 1
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_text(path.read_text(encoding="utf-8") + "# edited by a test\n", encoding="utf-8")


@pytest.mark.parametrize("name", datafiles.shipped())
def test_editing_any_shipped_data_file_changes_the_signature(name, data_copy):
    settings = FAKE
    if name.startswith("calibration-"):  # a model's own calibration: the run of that model names it
        from mtqa.calibrate import load_calibration

        stem = name.removeprefix("calibration-").removesuffix(".json")
        context = "passage" if stem.endswith("passage") else "previous"
        model = stem.removesuffix("passage").removesuffix("-") or None
        before = load_calibration(model=model, context=context).signature
        _edit(data_copy / name)
        assert load_calibration(model=model, context=context).signature != before
        return
    before = _signature(settings)
    _edit(data_copy / name)
    assert _signature(settings) != before, name
