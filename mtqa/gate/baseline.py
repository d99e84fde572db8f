"""Baselines: record the current failures once, then fail only on new ones.

The file is ``{"version": 1, "fingerprints": [...]}``, sorted, so it diffs well in review. A fingerprint
(:func:`mtqa.gate.fingerprint`) is the first 16 hex digits of the sha256 of the article id, the whitespace-
normalised sentence and the code, so the same damage in another article, or new damage in the same one, counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mtqa.gate import GateOutcome
from mtqa.report.files import write_atomic
from mtqa.settings import ConfigError

BASELINE_VERSION = 1


def load_baseline(path: str | Path) -> set[str]:
    """Fingerprints from a baseline file; ConfigError (a usage error) when it cannot be used."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: baseline is not valid JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != BASELINE_VERSION
        or not isinstance(data.get("fingerprints"), list)
        or not all(isinstance(x, str) for x in data["fingerprints"])
    ):
        raise ConfigError(f'{path}: not an mtqa baseline (expected {{"version": 1, "fingerprints": [...]}})')
    return set(data["fingerprints"])


def baseline_dict(outcomes: Iterable[GateOutcome]) -> dict[str, Any]:
    """The baseline recording every current failure (before any earlier baseline was applied)."""
    fps = {fp for o in outcomes for fp in o.candidates}
    return {"version": BASELINE_VERSION, "fingerprints": sorted(fps)}


def write_baseline(path: str | Path, outcomes: Iterable[GateOutcome]) -> int:
    """Record the current failures; returns how many fingerprints were written."""
    data = baseline_dict(outcomes)
    write_atomic(Path(path), json.dumps(data, indent=1) + "\n")
    return len(data["fingerprints"])
