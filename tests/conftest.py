"""Shared fixtures: the real language model and pipeline, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
MISSION = (
    "The spokesman read out a statement, adding that \"in order to safeguard Russia's sovereign rights and "
    "development The people of your country express their full support and solidarity to the people of your "
    'country who are united in the sacred cause of defending the motherland."'
)

#: The mtqa.article/2 contract: its keys in order, and those of each segment (mtqa/report/contract.py).
CONTRACT_KEYS = [
    "schema",
    "id",
    "title",
    "input",
    "status",
    "error",
    "score",
    "verdict",
    "n_sentences",
    "n_flagged",
    "signature",
    "text",
    "segments",
    "article_findings",
    "reference",
]
SEGMENT_KEYS = [
    "index",
    "kind",
    "text",
    "start",
    "end",
    "continues",
    "score",
    "flagged",
    "features",
    "findings",
    "reference",
]


@pytest.fixture(scope="session")
def pipeline():
    from mtqa.pipeline import Pipeline
    from mtqa.settings import Settings

    return Pipeline(Settings(cache=False))


@pytest.fixture(scope="session")
def lm(pipeline):
    return pipeline.scorer


@pytest.fixture(scope="session")
def demo_results(pipeline):
    """The bundled samples scored once, shared by the end-to-end tests."""
    from mtqa.run import score_articles

    return score_articles([SAMPLES], pipeline=pipeline)
