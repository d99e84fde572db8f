"""Cutting a token sequence into model windows of bounded length, each token's log-prob computed once.

A document is one token sequence: its (trimmed) context, then its units. A window is one forward pass: the
start token, a stretch of already-scored text as context, then new tokens whose log-probs it reports. Windows
end at a unit boundary when one fits, so a sentence is read whole whenever it can be; a unit longer than a
window is cut where the window is full and continued in the next. Each window after the first re-reads at
least the previous unit as context (between ``max_tokens // 8`` and ``max_tokens // 4`` tokens), so a
sentence at a window boundary is still conditioned on the one before it, and time stays linear in length.

The layout depends only on the token counts, never on which units are wanted, so a unit's scores are the
same whichever of its neighbours are asked for.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """One forward pass over ``stream[start:end]`` (after the start token), reporting ``stream[first:end]``."""

    start: int
    first: int
    end: int


def context_bounds(max_tokens: int) -> tuple[int, int]:
    """(least, most) tokens a window after the first re-reads as context."""
    return max(1, max_tokens // 8), max(1, max_tokens // 4)


def layout(n_context: int, bounds: Sequence[int], max_tokens: int) -> list[Window]:
    """Windows over a stream of ``n_context`` context tokens followed by units.

    ``bounds`` are the stream positions where units start, then the end of the stream (so ``bounds[0] ==
    n_context`` and ``bounds[-1]`` is the stream's length). Every position from ``n_context`` on is reported
    by exactly one window; no window holds more than ``max_tokens - 1`` tokens (the start token comes first).
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens must be at least 8, not {max_tokens}")
    n = bounds[-1]
    room = max_tokens - 1
    least, most = context_bounds(max_tokens)
    windows: list[Window] = []
    pos = n_context
    while pos < n:
        if not windows:
            start = max(0, pos - most)
        else:
            # the unit before ``pos`` (or, in the middle of a long unit, the unit's own start)
            k = bisect_left(bounds, pos)
            unit_start = bounds[k - 1] if k > 0 else 0
            start = pos - min(max(pos - unit_start, least), most, pos)
        limit = start + room
        if limit >= n:
            end = n
        else:
            # the last unit boundary that fits; none: the unit is longer than the room, cut it where it is full
            k = bisect_left(bounds, limit + 1) - 1
            end = bounds[k] if bounds[k] > pos else limit
        windows.append(Window(start, pos, end))
        pos = end
    return windows
