"""Recognise scraping debris lines (breadcrumbs, bylines, share prompts, cookie banners, ...).

The patterns live in ``data/boilerplate.tsv`` rather than in code, so they can be reviewed and extended
with an example per row, and so a change to them changes the run signature (:func:`mtqa.segment.signature`).
Each regex must match the *whole* stripped line (``re.fullmatch``, case-insensitive): a news sentence
that happens to start with "By", "See" or "Share" is never cut short into boilerplate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mtqa import datafiles

_TSV_NAME = "boilerplate.tsv"


@dataclass(frozen=True)
class BoilerplatePattern:
    """One TSV row: the name reported for matching lines, its compiled regex and a line it must match."""

    name: str
    regex: re.Pattern
    example: str


def parse_patterns(text: str) -> tuple[BoilerplatePattern, ...]:
    """Parse TSV text: header row, then ``name<TAB>regex<TAB>example`` rows; ``#`` lines are comments."""
    patterns: list[BoilerplatePattern] = []
    seen: set[str] = set()
    rows = text.splitlines()
    for lineno, row in enumerate(rows[1:], start=2):  # rows[0] is the header
        if not row.strip() or row.startswith("#"):
            continue
        fields = row.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{_TSV_NAME}:{lineno}: expected 3 tab-separated fields, got {len(fields)}")
        name, regex, example = fields
        if name in seen:
            raise ValueError(f"{_TSV_NAME}:{lineno}: duplicate pattern name {name!r}")
        seen.add(name)
        try:
            compiled = re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{_TSV_NAME}:{lineno}: bad regex for {name!r}: {exc}") from exc
        patterns.append(BoilerplatePattern(name, compiled, example))
    return tuple(patterns)


_RAW = datafiles.read_bytes(_TSV_NAME)

#: All patterns, in the order they are tried.
PATTERNS: tuple[BoilerplatePattern, ...] = parse_patterns(_RAW.decode("utf-8"))


def match_boilerplate(line: str) -> str | None:
    """Name of the first pattern matching the whole stripped ``line``, or None (also for blank lines)."""
    stripped = line.strip()
    if not stripped:
        return None
    for pattern in PATTERNS:
        if pattern.regex.fullmatch(stripped):
            return pattern.name
    return None
