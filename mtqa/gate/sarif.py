"""SARIF 2.1.0 for code-scanning tools: one result per gate failure, located by character offset."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mtqa import codes
from mtqa.gate import GateOutcome, input_path
from mtqa.text import truncate

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_uri() if p.is_absolute() else quote(p.as_posix(), safe="/")


def _level(severity: str) -> str:
    return "error" if severity == "major" else "warning"


def sarif(outcomes: Iterable[GateOutcome]) -> dict[str, Any]:
    from mtqa.version import __version__

    known = codes.registry()
    order = list(known)
    rules_out = [
        {
            "id": c.code,
            "name": c.code,
            "shortDescription": {"text": c.message},
            "defaultConfiguration": {"level": _level(c.severity)},
        }
        for c in known.values()
    ]
    outcomes = list(outcomes)
    results: list[dict[str, Any]] = []
    for o in outcomes:
        for f in o.failures:
            location: dict[str, Any] = {"logicalLocations": [{"name": o.id, "kind": "module"}]}
            if not o.input.startswith("<stdin>"):
                physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(input_path(o.input))}}
                if f.start is not None and f.end is not None:
                    physical["region"] = {"charOffset": f.start, "charLength": f.end - f.start}
                location["physicalLocation"] = physical
            span = " ".join(f.span.split())
            res: dict[str, Any] = {
                "ruleId": f.code,
                "level": _level(f.severity),
                "message": {
                    "text": f"{f.message}" + (f': "{truncate(span, 200)}"' if span else "") + f" (article {o.id})"
                },
                "locations": [location],
                "partialFingerprints": {"mtqaFingerprint/v1": f.fingerprint},
                "properties": {"articleId": o.id, "input": o.input, "segment": f.segment},
            }
            if f.code in known:
                res["ruleIndex"] = order.index(f.code)
            results.append(res)
    invocations = [
        {
            "executionSuccessful": not any(o.unreadable for o in outcomes),
            "toolExecutionNotifications": [
                {"level": "error", "message": {"text": f"{o.input}: {o.error}"}} for o in outcomes if o.unreadable
            ],
        }
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "mtqa", "version": __version__, "rules": rules_out}},
                "invocations": invocations,
                "results": results,
            }
        ],
    }
