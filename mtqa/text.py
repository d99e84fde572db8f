"""Two small text helpers that findings, reports and the gate share."""

from __future__ import annotations

ELLIPSIS = "\u2026"


def squash(text: str) -> str:
    """Whitespace runs (newlines included) as single spaces, ends trimmed."""
    return " ".join(text.split())


def truncate(text: str, limit: int = 120) -> str:
    """``text`` on one line, cut to at most ``limit`` characters with an ellipsis when it is longer."""
    text = squash(text)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
