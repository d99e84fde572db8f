"""The one registry of finding codes: what each code means, who reports it, and how much it weighs.

Every code mtqa can report is a row of ``data/codes.tsv``: the producer (``rules``, ``langid``, ``io``,
``reference``, ``policy``, ``gate``), its default severity, whether it flags its sentence by default (evidence
that the English is broken, as opposed to a remark an editor may want to see), and the message editors read.
Producers build their findings through :func:`finding` and :func:`article_finding`; the gate, SARIF and the
config checker list codes from here, so a new code is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from mtqa import datafiles
from mtqa.types import ArticleFinding, Finding, Severity

_TSV = "codes.tsv"
_COLUMNS = ["code", "producer", "severity", "flags", "message"]
PRODUCERS = ("rules", "langid", "io", "reference", "policy", "gate")


@dataclass(frozen=True)
class Code:
    """One row of the registry."""

    code: str
    producer: str
    severity: Severity
    flags: bool  # flags its sentence (or sends its article to review) under the default policy
    message: str


def _raw() -> bytes:
    return datafiles.read_bytes(_TSV)


def parse(text: str) -> dict[str, Code]:
    """The registry from TSV text (``#`` lines are comments, the first other line the header)."""
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not rows or rows[0].split("\t") != _COLUMNS:
        raise ValueError(f"{_TSV}: the header must be {' / '.join(_COLUMNS)}")
    out: dict[str, Code] = {}
    for n, row in enumerate(rows[1:], start=2):
        cells = row.split("\t")
        if len(cells) != len(_COLUMNS):
            raise ValueError(f"{_TSV} row {n}: expected {len(_COLUMNS)} tab-separated cells, got {len(cells)}")
        code, producer, severity, flags, message = cells
        if producer not in PRODUCERS or severity not in ("minor", "major") or flags not in ("yes", "no") or code in out:
            raise ValueError(f"{_TSV} row {n}: bad or duplicate row for {code!r}")
        out[code] = Code(code, producer, severity, flags == "yes", message)  # type: ignore[arg-type]
    return out


@cache
def registry() -> dict[str, Code]:
    """Every known code, in table order."""
    return parse(_raw().decode("utf-8"))


def get(code: str) -> Code:
    """The registry row of ``code``; a KeyError names the table, so an unregistered code fails in tests."""
    try:
        return registry()[code]
    except KeyError:
        raise KeyError(f"finding code {code!r} is not in data/{_TSV}") from None


def finding(code: str, start: int, end: int, message: str | None = None, severity: Severity | None = None) -> Finding:
    """A sentence finding of a registered code: its registered message and severity unless given."""
    row = get(code)
    return Finding(code, message or row.message, severity or row.severity, start, end)


def article_finding(code: str, message: str | None = None, severity: Severity | None = None) -> ArticleFinding:
    """An article finding of a registered code."""
    row = get(code)
    return ArticleFinding(code, message or row.message, severity or row.severity)


def signature() -> str:
    """Severities, flags and messages change reports, so the table's hash is part of the run signature."""
    return f"codes:{datafiles.digest([_TSV])}"
