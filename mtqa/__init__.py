"""mtqa: find garbled machine-translated sentences and scraping boilerplate in English news.

>>> import mtqa
>>> results = mtqa.score_articles(["data/samples"])          # doctest: +SKIP
>>> mtqa.write_reports(results, "reports/mine")              # doctest: +SKIP
"""

__version__ = "0.1.0"

from mtqa.engine import Pipeline, Settings, iter_scores, score_articles, score_text  # noqa: E402
from mtqa.gate import GateConfig, GateOutcome, check  # noqa: E402
from mtqa.report import ReportWriter, write_reports  # noqa: E402
from mtqa.types import Article, ArticleFinding, ArticleResult, Finding, ReadError, Segment  # noqa: E402

__all__ = [
    "Article", "ArticleFinding", "ArticleResult", "Finding", "GateConfig", "GateOutcome", "Pipeline", "ReadError",
    "ReportWriter", "Segment", "Settings", "check", "iter_scores", "score_articles", "score_text", "write_reports",
]
