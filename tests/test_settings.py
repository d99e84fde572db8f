"""One settings object: where values come from, their checks, the gate's older names, and score and check
reading it the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mtqa.settings import ALIASES, KEYS, ConfigError, Settings, load_settings

from .conftest import SAMPLES

MTQA = str(Path(sys.executable).parent / "mtqa")


def test_config_sources_in_priority_order(tmp_path):
    assert load_settings(tmp_path) == Settings()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.mtqa]\nmax_score = 0.7\nignore_rules = ["run-on"]\nmin_severity = "minor"\n'
    )
    cfg = load_settings(tmp_path)
    assert (cfg.fail_threshold, cfg.ignore_rules, cfg.fail_severity) == (0.7, ("run-on",), "minor")
    (tmp_path / "mtqa.toml").write_text('max_score = 0.6\nfail_on_verdict = "review"\n')
    cfg = load_settings(tmp_path)
    assert (cfg.fail_threshold, cfg.ignore_rules, cfg.fail_on) == (0.6, ("run-on",), "review")
    cfg = load_settings(tmp_path, overrides={"max_score": 0.5, "ignore_rules": ["calque"], "min_severity": None})
    assert (cfg.fail_threshold, cfg.ignore_rules, cfg.fail_severity) == (0.5, ("run-on", "calque"), "minor")
    other = tmp_path / "ci.toml"
    other.write_text("max_flagged_share = 0.25\n")
    cfg = load_settings(tmp_path, config_file=other)  # --config replaces ./mtqa.toml, pyproject still applies
    assert (cfg.fail_threshold, cfg.max_flagged_share, cfg.fail_on) == (0.7, 0.25, "fail")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("max_scor = 0.5\n", "unknown key 'max_scor'"),
        ("max_score = 2\n", "'max_score' must be a number from 0 to 1"),
        ('min_severity = "critical"\n', "'min_severity' must be 'minor' or 'major'"),
        ('ignore_rules = "fused-sentence"\n', "'ignore_rules' must be a list"),
        ('ignore_rules = ["fused"]\n', "unknown rule code 'fused'"),
        ("max_score = \n", "not valid TOML"),
    ],
)
def test_config_errors_name_key_and_file(tmp_path, content, expected):
    (tmp_path / "mtqa.toml").write_text(content)
    with pytest.raises(ConfigError, match=expected) as err:
        load_settings(tmp_path)
    assert str(tmp_path / "mtqa.toml") in str(err.value)


def test_config_errors_from_pyproject_flags_and_missing_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.mtqa]\nbogus = 1\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.mtqa\].*unknown key 'bogus'"):
        load_settings(tmp_path)
    with pytest.raises(ConfigError, match="command line.*'fail_on_verdict'"):
        load_settings(tmp_path / "nowhere", overrides={"fail_on_verdict": "pass"})
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "nowhere", config_file=tmp_path / "missing.toml")


def test_every_field_is_a_key_with_a_check_and_the_old_gate_names_are_aliases():
    assert set(KEYS) == {f for f in Settings.__dataclass_fields__}
    assert ALIASES == {
        "max_score": "fail_threshold",
        "min_severity": "fail_severity",
        "fail_on_verdict": "fail_on",
        "review_score": "review_threshold",
    }
    new = Settings().with_overrides(fail_threshold=0.7, fail_severity="minor", fail_on="review", review_threshold=0.4)
    old = Settings().with_overrides(max_score=0.7, min_severity="minor", fail_on_verdict="review", review_score=0.4)
    assert new == old
    with pytest.raises(ConfigError, match="'flag_threshold' must be a number from 0 to 1"):
        Settings(flag_threshold=1.5)  # checked when made, whatever the source
    assert Settings(ignore_rules=["run-on"]).ignore_rules == ("run-on",)


def test_score_and_check_read_the_same_config_and_flags_win(tmp_path):
    """`mtqa score` honours mtqa.toml as `mtqa check` does; a flag the user gives beats the file."""
    (tmp_path / "mtqa.toml").write_text(
        'ignore_rules = ["fused-sentence", "addressee-leak", "headline-damage"]\n'
        "fail_threshold = 1.0\nflag_threshold = 1.0\n"
    )
    fused = SAMPLES / "05-kim-putin-fused.txt"

    def score(*extra: str) -> str:
        out = tmp_path / "out"
        proc = subprocess.run(
            [MTQA, "score", str(fused), "--out", str(out), "--model", "fake", "--no-cache", *extra],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        report = json.loads((out / "articles" / "05-kim-putin-fused.json").read_text(encoding="utf-8"))
        assert "ignore:addressee-leak,fused-sentence,headline-damage" in report["signature"]
        return pd.read_csv(out / "summary.csv").verdict[0]

    assert score() != "fail"  # without the file the fused clauses fail the article (test_engine)
    assert score("--fail-severity", "minor") == "fail"  # a flag beats the file: minor findings (doubled words) fail
    proc = subprocess.run(
        [MTQA, "check", str(fused), "--model", "fake", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr  # the gate reads the same file: nothing left to fail on
