"""mtqa: find garbled machine-translated sentences and scraping boilerplate in English news.

>>> import mtqa
>>> results = mtqa.score_articles(["data/samples"])          # doctest: +SKIP
>>> mtqa.write_reports(results, "reports/mine")              # doctest: +SKIP
"""

from mtqa.gate import GateOutcome, check, evaluate_gate
from mtqa.pipeline import Pipeline
from mtqa.report import ReportWriter, write_reports
from mtqa.run import iter_scores, run, score_articles, score_text
from mtqa.settings import ConfigError, Settings, load_settings
from mtqa.types import Article, ArticleFinding, ArticleResult, Finding, ReadError, Segment
from mtqa.version import __version__

__all__ = [
    "Article",
    "ArticleFinding",
    "ArticleResult",
    "ConfigError",
    "Finding",
    "GateOutcome",
    "Pipeline",
    "ReadError",
    "ReportWriter",
    "Segment",
    "Settings",
    "__version__",
    "check",
    "evaluate_gate",
    "iter_scores",
    "load_settings",
    "run",
    "score_articles",
    "score_text",
    "write_reports",
]
