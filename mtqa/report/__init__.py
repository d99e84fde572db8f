"""Per-article reports (JSON, Markdown, HTML) and the run summary (Parquet, CSV, index.html), one concern a module:

- :mod:`~mtqa.report.files`: safe file names, atomic writes;
- :mod:`~mtqa.report.contract`: the ``mtqa.article/2`` and ``mtqa.run/1`` JSON records;
- :mod:`~mtqa.report.display`: what the views share (titles, ordering, spans, bands);
- :mod:`~mtqa.report.html`, :mod:`~mtqa.report.markdown`: the editor's views of one article;
- :mod:`~mtqa.report.summary`: summary rows and tables, histograms, the index page;
- :mod:`~mtqa.report.sentences`: ``sentences.parquet``;
- :mod:`~mtqa.report.writer`: :class:`ReportWriter`, what ``mtqa score --out`` writes, and :data:`FORMATS`.
"""

from mtqa.report.contract import RUN_SCHEMA, SCHEMA, article_from_dict, article_to_dict, run_record
from mtqa.report.display import signature
from mtqa.report.files import safe_id, write_atomic
from mtqa.report.html import render_html
from mtqa.report.markdown import render_markdown
from mtqa.report.summary import summary_rows
from mtqa.report.writer import FORMATS, ReportWriter, write_article, write_reports

__all__ = [
    "FORMATS",
    "RUN_SCHEMA",
    "SCHEMA",
    "ReportWriter",
    "article_from_dict",
    "article_to_dict",
    "render_html",
    "render_markdown",
    "run_record",
    "safe_id",
    "signature",
    "summary_rows",
    "write_article",
    "write_atomic",
    "write_reports",
]
