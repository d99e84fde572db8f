"""Turn a sentence's language-model features into a probability that it is garbled.

A small, inspectable logistic regression over five features: three of the sentence (its mean log-probability,
SLOR, length) and the same two fluency figures over the article it sits in (the median of its body sentences),
so a sentence is judged against its own article: machine-translated pages are disfluent throughout, native
pages fluent throughout. Fitted on the real-world dev pages (``scripts/calibrate.py``: leave-one-case-out
figures in its ``meta``) and shipped as ``data/calibration.json`` so anyone can read which feature pushes a
sentence towards "garbled". Rule findings are not inputs: they flag sentences on their own (mtqa.policy).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtqa import datafiles
from mtqa.lm.models import shipped_calibration

#: Per sentence; the article's figures are the median of these over its body sentences.
SENTENCE_FEATURES = ("lm_mean_logprob", "slor", "log_n_tokens")
#: An article of n body sentences has figures (n * its median + PRIOR_WEIGHT * the training articles' mean) /
#: (n + PRIOR_WEIGHT): a feed item of one or two sentences is not judged against itself alone.
PRIOR_WEIGHT = 3
ARTICLE_FEATURES = ("article_lm_mean_logprob", "article_slor")
#: The model's inputs, in order. Changing this list means refitting (scripts/calibrate.py).
FEATURES = SENTENCE_FEATURES + ARTICLE_FEATURES


def _sentence_values(features: Mapping) -> dict[str, float]:
    n = features.get("n_tokens", 0) or 0
    values = {
        "lm_mean_logprob": features.get("lm_mean_logprob"),
        "slor": features.get("slor"),
        "log_n_tokens": math.log1p(n),
    }
    return {k: float(v) if v is not None and math.isfinite(float(v)) else 0.0 for k, v in values.items()}


def article_medians(body: Iterable[Mapping]) -> tuple[dict[str, float], int]:
    """The median mean log-probability and SLOR of an article's scored body sentences, and how many there are."""
    scored = [_sentence_values(f) for f in body if f.get("n_tokens")]
    if not scored:
        return {name: 0.0 for name in ARTICLE_FEATURES}, 0
    return {
        "article_lm_mean_logprob": statistics.median(v["lm_mean_logprob"] for v in scored),
        "article_slor": statistics.median(v["slor"] for v in scored),
    }, len(scored)


def article_context(body: Iterable[Mapping], prior: Mapping[str, float] | None = None) -> dict[str, float]:
    """The article's figures: its body sentences' medians, shrunk towards ``prior`` (the training articles'
    mean) by PRIOR_WEIGHT sentences' worth, so a short article leans on what articles usually look like."""
    medians, n = article_medians(body)
    if not prior:
        return medians
    return {k: (n * medians[k] + PRIOR_WEIGHT * prior[k]) / (n + PRIOR_WEIGHT) for k in ARTICLE_FEATURES}


def feature_vector(features: Mapping, context: Mapping[str, float], is_title: bool = False) -> list[float]:
    """The calibration inputs of one sentence (or title), from its LM features and its article's context."""
    values = {**_sentence_values(features), **context, "is_title": float(is_title)}
    return [float(values[name]) for name in FEATURES]


def article_vectors(
    units: Sequence[Mapping], body: Sequence[bool], prior: Mapping[str, float] | None = None
) -> list[list[float]]:
    """Feature vectors of an article's scored units (title and body sentences, ``body[i]`` telling which), all
    against the context of its body sentences."""
    context = article_context((f for f, is_body in zip(units, body, strict=True) if is_body), prior)
    return [feature_vector(f, context, not is_body) for f, is_body in zip(units, body, strict=True)]


@dataclass
class Calibration:
    """Logistic regression over :data:`FEATURES`: p = sigmoid(intercept + sum(coef * (x - mean) / scale))."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    meta: dict = field(default_factory=dict)
    article_prior: dict[str, float] = field(default_factory=dict)  # the training articles' mean figures
    file_digest: str = ""  # sha1 (8 hex) of the file it was read from: its signature names the file's content

    def predict_article(self, units: Sequence[Mapping], body: Sequence[bool]) -> list[float]:
        """The probability of each of an article's scored units (see :func:`article_vectors`)."""
        return [self.predict(x) for x in article_vectors(units, body, self.article_prior)]

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
        return json.dumps(
            {
                "features": self.features,
                "mean": self.mean,
                "scale": self.scale,
                "coef": self.coef,
                "intercept": self.intercept,
                "article_prior": self.article_prior,
                "meta": self.meta,
            },
            indent=1,
        )


def load_calibration(
    path: str | Path | None = None, model: str | None = None, context: str = "previous"
) -> Calibration:
    """The shipped calibration for ``model`` read with ``context`` (:func:`mtqa.lm.models.shipped_calibration`),
    or one written by ``scripts/calibrate.py --out``."""
    if path is None:
        name = shipped_calibration(model, context)
        if name not in datafiles.shipped():
            raise ValueError(
                f"no calibration is shipped for {model or 'smollm2'} with context={context!r} "
                f"(data/{name}); fit one with scripts/calibrate.py --model {model or 'smollm2'} "
                f"--context {context} --out FILE and pass --calibration FILE"
            )
        where, raw = f"data/{name}", datafiles.read_bytes(name)
    else:
        where, raw = str(path), Path(path).read_bytes()
    d = json.loads(raw)
    cal = Calibration(
        d["features"],
        d["mean"],
        d["scale"],
        d["coef"],
        d["intercept"],
        d.get("meta", {}),
        d.get("article_prior") or {},
        hashlib.sha1(raw).hexdigest()[:8],
    )
    if list(cal.features) != list(FEATURES):
        raise ValueError(
            f"calibration {where} was fitted on other features ({cal.features}); refit with scripts/calibrate.py"
        )
    return cal
