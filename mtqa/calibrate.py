"""Turn LM features and rule hits into a probability that a sentence is garbled.

A small, inspectable logistic regression: standardised features, one coefficient each, fitted on
the dev split of the MQM benchmark only (``scripts/calibrate.py``) and shipped as
``data/calibration.json`` so anyone can read which feature pushes a sentence towards "garbled".
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from mtqa import datafiles
from mtqa.lm.models import shipped_calibration
from mtqa.types import Finding

#: The model's inputs, in order. Changing this list means refitting (scripts/calibrate.py).
FEATURES = (
    "lm_mean_logprob",
    "slor",
    "lm_min_logprob",
    "mean_entropy",
    "max_surprisal_minus_entropy",
    "window_score",
    "max_word_excess",
    "max_onset_excess",
    "mean_word_excess",
    "log_n_tokens",
    "rule_major",
    "rule_minor",
)


def feature_vector(features: dict, findings: list[Finding]) -> list[float]:
    """The calibration inputs of one sentence, from its LM features and rule findings."""
    n = features.get("n_tokens", 0) or 0
    values = {
        "window_score": (features.get("window") or {}).get("score", 0.0),
        "log_n_tokens": math.log1p(n),
        "rule_major": float(sum(f.severity == "major" for f in findings)),
        "rule_minor": float(sum(f.severity == "minor" for f in findings)),
    }
    out = []
    for name in FEATURES:
        v = values[name] if name in values else features.get(name, 0.0)
        out.append(float(v) if v is not None and math.isfinite(float(v)) else 0.0)
    return out


@dataclass
class Calibration:
    """Logistic regression over :data:`FEATURES`: p = sigmoid(intercept + sum(coef * (x - mean) / scale))."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    meta: dict = field(default_factory=dict)
    file_digest: str = ""  # sha1 (8 hex) of the file it was read from: its signature names the file's content

    def predict(self, x: list[float]) -> float:
        z = self.intercept + sum(
            c * (v - m) / (s or 1.0) for c, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    @property
    def version(self) -> str:
        blob = json.dumps([self.features, self.mean, self.scale, self.coef, self.intercept])
        return hashlib.sha1(blob.encode()).hexdigest()[:8]

    @property
    def signature(self) -> str:
        """Part of the run signature: the file's content (its notes included), else the coefficients."""
        return f"calibration:{self.file_digest or self.version}"

    def to_json(self) -> str:
        return json.dumps({"features": self.features, "mean": self.mean, "scale": self.scale,
                           "coef": self.coef, "intercept": self.intercept, "meta": self.meta}, indent=1)


def load_calibration(path: str | Path | None = None, model: str | None = None) -> Calibration:
    """The shipped calibration for ``model`` (:func:`mtqa.lm.models.shipped_calibration`), or one written by
    ``scripts/calibrate.py --out``."""
    if path is None:
        name = shipped_calibration(model)
        where, raw = f"data/{name}", datafiles.read_bytes(name)
    else:
        where, raw = str(path), Path(path).read_bytes()
    d = json.loads(raw)
    cal = Calibration(d["features"], d["mean"], d["scale"], d["coef"], d["intercept"], d.get("meta", {}),
                      hashlib.sha1(raw).hexdigest()[:8])
    if list(cal.features) != list(FEATURES):
        raise ValueError(f"calibration {where} was fitted on other features "
                         f"({cal.features}); refit with scripts/calibrate.py")
    return cal
