"""Suggested repairs: tell the editor what the fix is, not only where the damage is.

Much machine-translation and scraping damage has a mechanical fix: a lost sentence boundary ("development The"
-> "development. The"), a missing space ("Seoul.The"), glued words ("JTBCSchlager"), a doubled word or a repeated
phrase (drop the copy), a repetition loop (keep the first occurrence), mojibake and stray HTML entities (the
decoded text), a name spelled two ways (the article's majority spelling); calques get the fluent wording of
``data/rules/calques.tsv``. Every finding of these kinds gets ``suggestions``, ranked by how much the language
model prefers the repaired sentence (:meth:`mtqa.pipeline.Pipeline.repair_step`).

- :mod:`~mtqa.repair.candidates`: the candidates of each finding, and their ranking;
- :mod:`~mtqa.repair.view`: a suggestion as a diff (HTML) or a before/after line (Markdown);
- :mod:`~mtqa.repair.fix`: ``mtqa fix``, the repairs applied and a unified diff per article.
"""

from mtqa.repair.candidates import MAKERS, Job, attach, fix_codes, plan, signature
from mtqa.repair.view import before_after, diff_pieces, n_suggestions, top_suggestion

__all__ = [
    "MAKERS",
    "Job",
    "attach",
    "before_after",
    "diff_pieces",
    "fix_codes",
    "n_suggestions",
    "plan",
    "signature",
    "top_suggestion",
]
