"""One settings object for everything a run decides and how it runs, read the same way by every command.

Sources, lowest priority first: the defaults below, ``[tool.mtqa]`` in ``./pyproject.toml``, ``./mtqa.toml`` (or
the file given with ``--config``), then the command-line flags the user actually gave. Every field is a config
key; the gate's older key names are accepted as documented aliases (:data:`ALIASES`). Bad keys and values are
:class:`ConfigError` naming the key and the file, a usage error (exit status 2).

The policy fields (which sentences are flagged, which articles are sent to review or fail) are applied in one
place, :mod:`mtqa.policy`; the scoring fields by :mod:`mtqa.pipeline`; the execution fields change how fast a
run is, never what it says, so they stay out of the run signature.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

SEVERITIES = ("minor", "major")


class ConfigError(ValueError):
    """A configuration problem (unknown key, bad value, unreadable file): a usage error, exit status 2."""


@dataclass(frozen=True)
class Settings:
    """Every threshold, policy and option of a run. Fields are also the keys of ``mtqa.toml``/``[tool.mtqa]``."""

    # -- scoring: what produces a sentence's probability (in the run signature)
    model: str | None = None  # None: SmolLM2; a name from mtqa.lm.MODELS, a .gguf file or a transformers folder
    backend: str = "torch"  # "onnx": the transformer body in ONNX Runtime (exported once; see mtqa.lm)
    calibration: str | None = None  # None: the model's shipped calibration (data/calibration*.json)
    context: str = "previous"  # "previous": each sentence alone after the last context_tokens tokens of the one
    # before it (better on real pages and MQM, docs/language-model.md); "passage": each article read in
    # content-defined passages (mtqa.lm.passages), each token once: fewer tokens, measured weaker
    passage_units: int = 8  # units per passage on average (0: the whole article as one passage)
    context_tokens: int = 32  # "previous": tokens of the sentence before (0, with either context: no context)
    max_tokens: int = 512  # the model's window, start token included
    precision: str = "auto"  # the transformer body's: fp32, bf16, fp16 (autocast; the head stays fp32), or auto:
    # bf16 on a CPU that computes it natively (it passed the eval rule), else fp32 (mtqa.lm.transformer)
    device: str = "auto"  # cpu, cuda, or auto: the GPU when torch sees one
    # -- the flag policy (mtqa.policy; in the run signature)
    flag_threshold: float = 0.5  # a sentence at or above this probability is flagged
    flag_severity: str = "minor"  # a flagging finding of at least this severity flags its sentence
    # a headline is flagged from this probability up: headlines are compressed language that the model reads as
    # less fluent than prose (on the real-world dev pages, titles at 0.5-0.7: 0 garbled of 2; from 0.7: 2 of 3)
    title_threshold: float = 0.7
    ignore_rules: tuple[str, ...] = ()  # finding codes (or "lm-score") that never flag, review or fail anything
    review_threshold: float = 0.5  # a sentence at or above this probability sends its article to review
    fail_threshold: float = 0.8  # a sentence at or above this probability fails its article (gate: max_score)
    fail_severity: str = "major"  # a finding of at least this severity fails its article (gate: min_severity)
    # -- the CI gate (mtqa check)
    fail_on: str = "fail"  # "review": the gate also fails articles the report sends to review
    max_flagged_share: float = 1.0  # fail when more than this share of an article's sentences is flagged (1: off)
    min_chrf: float | None = None  # fail an article whose chrF against its reference is lower (0-100; off)
    min_sentence_chrf: float | None = None  # fail a sentence whose chrF against its reference sentence is lower
    # -- repairs (mtqa fix; not in the signature: reports show every suggestion with its score)
    fix_min_gain: float = 0.0  # apply a suggestion only when the LM reads its sentence this many nats better
    fix_min_margin: float = 2.0  # ... and, when it had alternatives, this many nats better than the runner-up
    # -- execution: how the run goes, never what it says (not in the signature)
    threads: int | None = None  # torch threads (None: all cores; with workers, an equal share each)
    batch_tokens: int = 1024  # padded tokens per LM batch
    chunk_articles: int | None = None  # articles scored together (None: 64, fewer so every worker gets work)
    cache: str | bool = True  # the persistent sentence score cache: True: the user cache dir; a folder; False: off
    engine: str = "local"  # "dask": chunks go to a Dask cluster
    workers: int | None = None  # a local cluster of this many worker processes (> 1 implies engine "dask")
    scheduler: str | None = None  # address of a running Dask scheduler (engine "dask")

    def __post_init__(self) -> None:
        """Every value is checked here, so no later step has to: a bad one is a ConfigError naming the key."""
        for name in KEYS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _check(name, value, "settings"))
        if self.scheduler and self.engine != "dask":
            raise ConfigError("settings: a scheduler address needs the dask engine (--engine dask)")
        if self.scheduler and self.workers:
            raise ConfigError(
                "settings: workers sets the size of a local cluster; the cluster at a scheduler has its own workers"
            )

    @property
    def reads_passages(self) -> bool:
        """Articles are read as passages (the default), not sentence by sentence after a context."""
        return self.context == "passage" and self.context_tokens > 0

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with ``values`` checked like config keys (aliases allowed); None values are not given."""
        given = {k: v for k, v in values.items() if v is not None}
        return replace(self, **{_canonical(k): _check(k, v, "arguments") for k, v in given.items()})


#: The gate's key names of earlier versions, still accepted in config files and by ``with_overrides``.
ALIASES = {
    "max_score": "fail_threshold",
    "min_severity": "fail_severity",
    "fail_on_verdict": "fail_on",
    "review_score": "review_threshold",
}
KEYS = tuple(f.name for f in fields(Settings))


def _canonical(key: str) -> str:
    return ALIASES.get(key, key)


def _number(lo: float, hi: float, what: str) -> Callable[[Any], Any]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise ValueError(what)
        return float(v)

    return check


def _integer(lo: int) -> Callable[[Any], Any]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"a whole number from {lo} up")
        return v

    return check


def _choice(*options: str) -> Callable[[Any], Any]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(" or ".join(f"'{o}'" for o in options))
        return v

    return check


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError("a non-empty string")
    return v


def _codes(v: Any) -> tuple[str, ...]:
    from mtqa import codes

    if isinstance(v, str) or not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise ValueError("a list of rule codes")
    known = codes.registry()
    unknown = [x for x in v if x not in known]
    if unknown:
        raise LookupError(f"unknown rule code {unknown[0]!r} in 'ignore_rules' (known: {', '.join(sorted(known))})")
    return tuple(dict.fromkeys(v))


def _cache(v: Any) -> str | bool:
    if isinstance(v, bool):
        return v
    return _text(v)


def _backend(v: Any) -> str:
    from mtqa.lm import BACKENDS

    return _choice(*BACKENDS)(v)


def _precision(v: Any) -> str:
    from mtqa.lm import PRECISIONS

    return _choice(*PRECISIONS)(v)


def _device(v: Any) -> str:
    from mtqa.lm import DEVICES

    return _choice(*DEVICES)(v)


_PROBABILITY = _number(0.0, 1.0, "a number from 0 to 1")
_CHRF = _number(0.0, 100.0, "a chrF from 0 to 100")
CHECKS: dict[str, Callable[[Any], Any]] = {
    "model": _text,
    "backend": _backend,
    "calibration": _text,
    "context": _choice("passage", "previous"),
    "passage_units": _integer(0),
    "context_tokens": _integer(0),
    "max_tokens": _integer(16),
    "precision": _precision,
    "device": _device,
    "flag_threshold": _PROBABILITY,
    "flag_severity": _choice(*SEVERITIES),
    "title_threshold": _PROBABILITY,
    "ignore_rules": _codes,
    "review_threshold": _PROBABILITY,
    "fail_threshold": _PROBABILITY,
    "fail_severity": _choice(*SEVERITIES),
    "fail_on": _choice("fail", "review"),
    "max_flagged_share": _PROBABILITY,
    "min_chrf": _CHRF,
    "min_sentence_chrf": _CHRF,
    "threads": _integer(1),
    "batch_tokens": _integer(16),
    "chunk_articles": _integer(1),
    "cache": _cache,
    "engine": _choice("local", "dask"),
    "workers": _integer(1),
    "scheduler": _text,
    "fix_min_gain": _number(-1000.0, 1000.0, "a number of nats"),
    "fix_min_margin": _number(0.0, 1000.0, "a number of nats from 0"),
}
assert set(CHECKS) == set(KEYS), "every settings field needs a check"


def _check(key: str, value: Any, where: str) -> Any:
    name = _canonical(key)
    if name not in CHECKS:
        raise ConfigError(
            f"{where}: unknown key {key!r} (known keys: {', '.join(KEYS)}; older names: {', '.join(ALIASES)})"
        )
    try:
        return CHECKS[name](value)
    except LookupError as exc:
        raise ConfigError(f"{where}: {exc.args[0]}") from None
    except ValueError as exc:
        raise ConfigError(f"{where}: '{key}' must be {exc}, got {value!r}") from None


def _check_table(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(table).__name__}")
    return {_canonical(key): _check(key, value, where) for key, value in table.items()}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _tool_table(path: Path) -> dict[str, Any] | None:
    tool = _read_toml(path).get("tool", {})
    return tool.get("mtqa") if isinstance(tool, Mapping) else None


def cache_folder(settings: Settings) -> str | None:
    """The score cache's folder for ``settings.cache``, or None when the cache is off."""
    if settings.cache is False:
        return None
    if settings.cache is True:
        from mtqa.lm import cache_dir

        return str(cache_dir())
    return str(settings.cache)


def load_settings(
    cwd: str | Path | None = None, config_file: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Settings from defaults < ``[tool.mtqa]`` in ``cwd/pyproject.toml`` < ``cwd/mtqa.toml`` (or
    ``config_file``) < ``overrides`` (the flags the user gave; ``None`` values are not given). ``ignore_rules``
    from the flags are added to those of the files. Raises :class:`ConfigError` naming the key and file."""
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    values: dict[str, Any] = {}
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        table = _tool_table(pyproject)
        if table is not None:
            values.update(_check_table(table, f"{pyproject} [tool.mtqa]"))
    path = Path(config_file) if config_file is not None else cwd / "mtqa.toml"
    if config_file is not None and not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    if path.is_file():
        if path.name == "pyproject.toml":
            values.update(_check_table(_tool_table(path) or {}, f"{path} [tool.mtqa]"))
        else:
            values.update(_check_table(_read_toml(path), str(path)))
    flags = _check_table({k: v for k, v in (overrides or {}).items() if v is not None}, "command line")
    if "ignore_rules" in flags:
        flags["ignore_rules"] = tuple(dict.fromkeys([*values.get("ignore_rules", ()), *flags["ignore_rules"]]))
    values.update(flags)
    return Settings(**values)
