"""The shipped data files (``data/``, installed as ``mtqa.data``): reading them and hashing them.

Patterns, lexicons, thresholds, coefficients and display settings live in data files so they can be reviewed and
tuned without code changes. Each stage that reads one names it in its ``signature()`` through :func:`digest`, so
editing any shipped data file changes the run signature (tests/test_signature.py checks every file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib.resources import files
from importlib.resources.abc import Traversable

ROOT: Traversable = files("mtqa.data")
SUFFIXES = (".json", ".tsv", ".txt")


def path(name: str) -> Traversable:
    """``data/<name>``; ``name`` may hold one folder (``rules/stopwords.txt``)."""
    node = ROOT
    for part in name.split("/"):
        node = node / part
    return node


def read_bytes(name: str) -> bytes:
    return path(name).read_bytes()


def read_text(name: str) -> str:
    return path(name).read_text(encoding="utf-8")


def folder(name: str) -> list[str]:
    """The data files in ``data/<name>/``, as names for :func:`read_bytes`, sorted."""
    return sorted(f"{name}/{p.name}" for p in path(name).iterdir() if p.is_file() and not p.name.startswith("."))


def shipped() -> list[str]:
    """Every data file the package ships: top-level files and one level of folders (not the samples)."""
    out = [p.name for p in ROOT.iterdir() if p.is_file() and p.name.endswith(SUFFIXES)]
    out += [n for p in ROOT.iterdir() if p.is_dir() and p.name in SHIPPED_FOLDERS for n in folder(p.name)]
    return sorted(out)


SHIPPED_FOLDERS = ("rules",)  # package-data in pyproject.toml: data/*.json, *.tsv, *.txt and rules/*


def digest(names: Iterable[str]) -> str:
    """sha1 (8 hex digits) over the names and contents of data files, read now (never cached), so a run
    signature always describes the files as they are."""
    h = hashlib.sha1()
    for name in sorted(names):
        h.update(name.encode() + b"\0" + read_bytes(name) + b"\0")
    return h.hexdigest()[:8]
