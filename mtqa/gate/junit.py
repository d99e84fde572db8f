"""JUnit XML for CI systems: one testsuite ``mtqa``, one testcase per article (name = id, classname = input)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from mtqa.gate import GateFailure, GateOutcome, worst_failure
from mtqa.text import truncate

# Characters XML 1.0 forbids (C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF).
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(s: Any) -> str:
    return _XML_BAD.sub("", str(s))


def failure_details(outcome: GateOutcome) -> str:
    """Plain-text list of an article's counted failures and other flagged sentences (the failure's text)."""
    o = outcome
    lines = [f"{o.id} ({o.input}): score {o.score}, verdict {o.verdict}"]
    by_segment: dict[int | None, list[GateFailure]] = {}
    for f in o.failures:
        by_segment.setdefault(f.segment, []).append(f)
    for index, found in by_segment.items():
        lines.append(f"sentence {index}: {found[0].sentence}" if index is not None else "article:")
        lines += [f"  - {f.describe()} [{f.fingerprint}]" for f in found]
    if o.others:
        lines.append("other flagged sentences (not counted by the gate):")
        lines += [f"  sentence {i} (score {score}): {truncate(text)}" for i, score, text in o.others]
    lines += [r for r in o.reasons if not r.startswith(("sentence ", "article: "))]
    return "\n".join(lines)


def junit_xml(outcomes: Iterable[GateOutcome]) -> bytes:
    outcomes = list(outcomes)
    n_fail = sum(not o.passed and not o.unreadable for o in outcomes)
    n_err = sum(o.unreadable for o in outcomes)
    root = ET.Element("testsuites", name="mtqa", tests=str(len(outcomes)), failures=str(n_fail), errors=str(n_err))
    suite = ET.SubElement(
        root, "testsuite", name="mtqa", tests=str(len(outcomes)), failures=str(n_fail), errors=str(n_err), skipped="0"
    )
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", name=_xml(o.id), classname=_xml(o.input))
        if o.unreadable:
            err = ET.SubElement(case, "error", message=_xml(truncate(o.error or "unreadable", 500)), type="ReadError")
            err.text = _xml(f"{o.input}: {o.error}")
        elif not o.passed:
            top = worst_failure(o)
            message = truncate("; ".join(o.reasons), 500)
            fail = ET.SubElement(case, "failure", message=_xml(message), type=_xml(top.code if top else "mtqa.gate"))
            fail.text = _xml(failure_details(o))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
