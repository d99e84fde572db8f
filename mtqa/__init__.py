"""mtqa: find garbled machine-translated sentences and scraping boilerplate in English news.

>>> import mtqa
>>> results = mtqa.score_articles(["data/samples"])          # doctest: +SKIP
>>> mtqa.write_reports(results, "reports/mine")              # doctest: +SKIP
"""

__version__ = "0.1.0"

from mtqa.gate import GateOutcome, check, evaluate_gate  # noqa: E402
from mtqa.pipeline import Pipeline  # noqa: E402
from mtqa.report import ReportWriter, write_reports  # noqa: E402
from mtqa.run import iter_scores, run, score_articles, score_text  # noqa: E402
from mtqa.settings import ConfigError, Settings, load_settings  # noqa: E402
from mtqa.types import Article, ArticleFinding, ArticleResult, Finding, ReadError, Segment  # noqa: E402

__all__ = [
    "Article", "ArticleFinding", "ArticleResult", "ConfigError", "Finding", "GateOutcome", "Pipeline", "ReadError",
    "ReportWriter", "Segment", "Settings", "check", "evaluate_gate", "iter_scores", "load_settings", "run",
    "score_articles", "score_text", "write_reports",
]
