"""GitHub Actions workflow commands: ``::error file=...,line=...,title=mtqa CODE::message: span``."""

from __future__ import annotations

from collections.abc import Iterable

from mtqa.gate import GateOutcome, input_path
from mtqa.text import truncate


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def github_annotations(outcomes: Iterable[GateOutcome]) -> list[str]:
    out = []
    for o in outcomes:
        file_prop = [] if o.input.startswith("<stdin>") else [f"file={_prop(input_path(o.input))}"]
        if o.unreadable:
            props = ",".join([*file_prop, f"title={_prop('mtqa unreadable input')}"])
            out.append(f"::error {props}::{_data(f'{o.input}: {o.error}')}")
            continue
        for f in o.failures:
            props = list(file_prop)
            if f.line is not None:
                props.append(f"line={f.line}")
            props.append(f"title={_prop(f'mtqa {f.code}')}")
            span = truncate(f.span, 200)
            msg = f"{f.message}: {span}" if span else f.message
            level = "error" if f.severity == "major" else "warning"
            out.append(f"::{level} {','.join(props)}::{_data(f'{msg} (article {o.id})')}")
    return out
