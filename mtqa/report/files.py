"""Report file names and atomic writes: nothing an article id says can write outside the output folder, and no
reader ever sees a half-written file."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

MAX_STEM = 100  # safe_id stems are at most this long (plus "-N" when made unique against `taken`)


_HASH_LEN = 10


_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


_SAFE_STEM = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


# Names Windows refuses whatever the extension; reports are often copied onto shared drives.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(10))}


def _sha(raw: str) -> str:
    # surrogatepass: ids decoded with surrogateescape must still hash, not crash the run.
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def safe_id(article_id: str, taken: set[str] | None = None) -> str:
    """A file-name stem for ``article_id`` that cannot escape the output directory.

    Only ``[A-Za-z0-9._-]`` survive, leading dots go, and whenever anything was changed or cut a short
    sha1 of the raw id is appended, so ``"a/b"`` and ``"a_b"`` get different stems. With ``taken``, the
    stem is also made unique (case-insensitively, for macOS/Windows disks) and recorded in ``taken``
    together with its lower-cased form.
    """
    raw = str(article_id)
    base = _SAFE_CHARS.sub("_", raw).lstrip(".")
    if base.split(".")[0].upper() in _WINDOWS_RESERVED:
        base = "_" + base
    if base != raw or not base or len(base) > MAX_STEM:
        base = base[: MAX_STEM - _HASH_LEN - 1].rstrip(".")
        base = f"{base}-{_sha(raw)}" if base else f"article-{_sha(raw)}"
    if taken is None:
        return base
    stem, n = base, 1
    while stem in taken or stem.lower() in taken:
        n += 1
        stem = f"{base}-{n}"
    taken.add(stem)
    taken.add(stem.lower())
    return stem


def check_stem(stem: str) -> None:
    """Refuse stems that did not come from safe_id: a path in a stem would write outside out_dir."""
    if not _SAFE_STEM.fullmatch(stem) or len(stem) > MAX_STEM + 12:
        raise ValueError(f"unsafe report file stem {stem!r}; use safe_id()")


def write_atomic(path: Path, data: str | bytes, errors: str = "strict") -> None:
    """Write via a temp file in the same directory and rename, so readers never see partial files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode("utf-8", errors))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
