"""The CI gate behind ``mtqa check``: which articles may be published, and why the others may not.

A scored :class:`~mtqa.types.ArticleResult` passes the gate unless it has *counted* failures: rule findings
of at least ``min_severity`` whose code is not ignored, sentences whose garble probability reaches
``max_score`` (code ``lm-score``), or more than ``max_flagged_share`` of its sentences flagged; and, when a
trusted reference was compared and ``min_chrf``/``min_sentence_chrf`` are set, an article or sentence whose
chrF against it is lower (codes ``reference-chrf``, ``reference-sentence-chrf``). Findings
recorded in a baseline (by fingerprint) do not count, so a team can adopt the gate on an old backlog and
still fail on every new problem.

Thresholds come from, lowest priority first: :class:`GateConfig` defaults, ``[tool.mtqa]`` in
``pyproject.toml``, ``mtqa.toml`` (or ``--config FILE``), command-line flags. This module also renders the
gate's outputs: a human summary, JUnit XML, SARIF 2.1.0, GitHub Actions annotations and JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mtqa import reference, rules
from mtqa.types import SEVERITY_RANK, Article, ArticleResult, ReadError, Segment

LM_CODE = "lm-score"
LM_MESSAGE = "The language model reads this sentence as garbled"
REF_CODE = "reference-chrf"  # the article's chrF against its reference is below min_chrf
REF_MESSAGE = "The article's chrF against its trusted reference is below min_chrf"
REF_SENTENCE_CODE = "reference-sentence-chrf"  # a sentence's chrF against its reference is below min_sentence_chrf
REF_SENTENCE_MESSAGE = "The sentence's chrF against its reference sentence is below min_sentence_chrf"
BASELINE_VERSION = 1
FINGERPRINT_LEN = 16
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_VERDICTS = ("review", "fail")
# Characters XML 1.0 forbids (C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF).
_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_INPUT_SUFFIX = re.compile(r"(:\d+|#item\d+|#row\d+)$")


class ConfigError(ValueError):
    """A configuration problem (unknown key, bad value, unreadable file): a usage error, exit status 2."""


@dataclass
class GateConfig:
    """What makes an article fail the gate. Every field is also a config key (``mtqa.toml``, ``[tool.mtqa]``)."""

    max_score: float = 0.8  # a sentence at or above this garble probability fails ("lm-score")
    max_flagged_share: float = 1.0  # fail when more than this share of sentences is flagged (1.0: off)
    ignore_rules: list[str] = field(default_factory=list)  # rule codes (or "lm-score") that never count
    min_severity: str = "major"  # rule findings of this severity or worse count: "minor" or "major"
    fail_on_verdict: str = "fail"  # "review": also fail what would be sent for review (see below)
    review_score: float = 0.5  # with fail_on_verdict = "review": the sentence probability that fails
    min_chrf: float | None = None  # an article compared with a reference fails below this chrF (0-100; off)
    min_sentence_chrf: float | None = None  # a sentence aligned with the reference fails below this chrF (off)

    # fail_on_verdict = "review" makes the gate as strict as the report's "review" verdict: findings of any
    # severity count (min_severity is treated as "minor") and sentences fail from review_score up.

    @property
    def effective_min_severity(self) -> str:
        return "minor" if self.fail_on_verdict == "review" else self.min_severity

    @property
    def lm_threshold(self) -> float:
        return min(self.max_score, self.review_score) if self.fail_on_verdict == "review" else self.max_score


CONFIG_KEYS = tuple(f.name for f in fields(GateConfig))


def known_codes() -> dict[str, tuple[str, str]]:
    """Every code the gate can report: rule code -> (message, default severity), plus ``lm-score``."""
    codes = {r.code: (r.message, r.severity) for r in [*rules.SENTENCE_RULES, *rules.ARTICLE_RULES]}
    codes[LM_CODE] = (LM_MESSAGE, "major")
    # findings made outside mtqa.rules: language identification (mtqa.langid) and input decoding (mtqa.io)
    codes["not-english"] = ("Text is not in English: it gets this finding instead of a garble score", "major")
    codes["input-encoding"] = ("Input was not valid UTF-8 and was decoded with a fallback encoding", "minor")
    codes["duplicate-id"] = ("The article id occurs more than once in the input; this copy was renamed", "minor")
    codes.update(reference.CODES)  # reference-based checks (mtqa.reference) and their gate thresholds
    codes[REF_CODE] = (REF_MESSAGE, "major")
    codes[REF_SENTENCE_CODE] = (REF_SENTENCE_MESSAGE, "major")
    return codes


# --------------------------------------------------------------------------- configuration


def _check_value(key: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: '{key}' must be {expected}, got {value!r}")

    if key in ("max_score", "max_flagged_share", "review_score"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise bad("a number from 0 to 1")
        return float(value)
    if key in ("min_chrf", "min_sentence_chrf"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 100.0:
            raise bad("a chrF from 0 to 100")
        return float(value)
    if key == "min_severity":
        if value not in SEVERITY_RANK:
            raise bad("'minor' or 'major'")
        return value
    if key == "fail_on_verdict":
        if value not in _VERDICTS:
            raise bad("'review' or 'fail'")
        return value
    if key == "ignore_rules":
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
                isinstance(v, str) for v in value):
            raise bad("a list of rule codes")
        unknown = [v for v in value if v not in known_codes()]
        if unknown:
            raise ConfigError(f"{where}: unknown rule code {unknown[0]!r} in 'ignore_rules' "
                              f"(known: {', '.join(sorted(known_codes()))})")
        return list(value)
    raise ConfigError(f"{where}: unknown key {key!r} (known keys: {', '.join(CONFIG_KEYS)})")


def _check_table(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(table).__name__}")
    return {key: _check_value(key, value, where) for key, value in table.items()}


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


def load_config(cwd: str | Path | None = None, config_file: str | Path | None = None,
                overrides: Mapping[str, Any] | None = None) -> GateConfig:
    """The gate configuration: defaults < ``[tool.mtqa]`` in ``cwd/pyproject.toml`` < ``cwd/mtqa.toml`` (or
    ``config_file``) < ``overrides`` (command-line flags; ``None`` values are not given). ``ignore_rules``
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
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    flags = _check_table(given, "command line")
    if "ignore_rules" in flags:
        flags["ignore_rules"] = list(dict.fromkeys([*values.get("ignore_rules", []), *flags["ignore_rules"]]))
    values.update(flags)
    return GateConfig(**values)


# --------------------------------------------------------------------------- evaluation


def fingerprint(article_id: str, sentence: str, code: str) -> str:
    """Stable id of one finding: sha256 of id, whitespace-normalised sentence and code (first 16 hex)."""
    raw = f"{article_id}\x00{' '.join(sentence.split())}\x00{code}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:FINGERPRINT_LEN]


@dataclass
class GateFailure:
    """One counted problem. ``segment``/``start``/``end`` are None for article findings without a span."""

    article_id: str
    segment: int | None
    sentence: str
    code: str
    message: str
    severity: str
    start: int | None
    end: int | None
    fingerprint: str

    def span_text(self, text: str) -> str:
        return text[self.start:self.end] if self.start is not None and self.end is not None else ""


@dataclass
class GateOutcome:
    """The gate's decision on one article."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    failures: list[GateFailure] = field(default_factory=list)
    suppressed: int = 0  # failures that the baseline suppressed
    unreadable: bool = False  # the input could not be read or analysed (exit status 2)


def _failure(result: ArticleResult, seg: Segment | None, code: str, message: str, severity: str,
             start: int | None, end: int | None, key: str | None = None) -> GateFailure:
    """``key`` replaces the message in an article failure's fingerprint when the message holds a figure."""
    sentence = seg.text if seg is not None else ""
    return GateFailure(result.id, seg.index if seg is not None else None, sentence, code, message, severity,
                       start, end, fingerprint(result.id, sentence or key or message, code))


def reference_failures(result: ArticleResult, cfg: GateConfig) -> list[GateFailure]:
    """Sentences and articles whose chrF against the trusted reference is below the configured minimum."""
    out: list[GateFailure] = []
    ignored = set(cfg.ignore_rules)
    if cfg.min_sentence_chrf is not None and REF_SENTENCE_CODE not in ignored:
        for seg in result.segments:
            chrf = (seg.reference or {}).get("chrf")
            if seg.kind == "body" and chrf is not None and chrf < cfg.min_sentence_chrf:
                message = f"{REF_SENTENCE_MESSAGE} (chrF {chrf:.1f} < {cfg.min_sentence_chrf:g})"
                out.append(_failure(result, seg, REF_SENTENCE_CODE, message, "major", seg.start, seg.end))
    chrf = (result.reference or {}).get("chrf")
    if cfg.min_chrf is not None and REF_CODE not in ignored and chrf is not None and chrf < cfg.min_chrf:
        message = f"{REF_MESSAGE} (chrF {chrf:.1f} < {cfg.min_chrf:g})"
        out.append(_failure(result, None, REF_CODE, message, "major", None, None, key=REF_MESSAGE))
    return out


def candidate_failures(result: ArticleResult, cfg: GateConfig) -> list[GateFailure]:
    """Everything that fails the gate before the baseline is applied."""
    min_rank = SEVERITY_RANK[cfg.effective_min_severity]
    ignored = set(cfg.ignore_rules)
    out: list[GateFailure] = []
    for seg in result.segments:
        hits = [f for f in seg.findings if f.code not in ignored and SEVERITY_RANK.get(f.severity, 2) >= min_rank]
        out += [_failure(result, seg, f.code, f.message, f.severity, f.start, f.end) for f in hits]
        if (seg.kind == "body" and seg.score is not None and seg.score >= cfg.lm_threshold and not hits
                and LM_CODE not in ignored):
            brk = (seg.features or {}).get("break") or {}
            start, end = brk.get("start", seg.start), brk.get("end", seg.end)
            if not (seg.start <= start < end <= seg.end):
                start, end = seg.start, seg.end
            severity = "major" if seg.score >= cfg.max_score else "minor"
            message = f"{LM_MESSAGE} (probability {seg.score:.2f} >= {cfg.lm_threshold:g})"
            out.append(_failure(result, seg, LM_CODE, message, severity, start, end))
    title = next((s for s in result.segments if s.kind == "title"), None)
    for af in result.article_findings:
        if af.code in ignored or SEVERITY_RANK.get(af.severity, 2) < min_rank:
            continue
        if af.code == "headline-damage" and title is not None:
            out.append(_failure(result, title, af.code, af.message, af.severity, title.start, title.end))
        else:
            out.append(_failure(result, None, af.code, af.message, af.severity, None, None))
    return out + reference_failures(result, cfg)


def _flagged_share(result: ArticleResult, cfg: GateConfig) -> float:
    """Share of body sentences flagged in the report, not counting those flagged only by ignored rules."""
    body = [s for s in result.segments if s.kind == "body"]
    if not body:
        return 0.0
    ignored = set(cfg.ignore_rules)

    def counts(s: Segment) -> bool:
        return s.flagged and (not s.findings or any(f.code not in ignored for f in s.findings)
                              or (s.score or 0.0) >= cfg.review_score)

    return sum(counts(s) for s in body) / len(body)


def describe(failure: GateFailure, text: str) -> str:
    """``code (severity): message: "span"`` for one failure."""
    span = " ".join(failure.span_text(text).split())
    where = f": \"{_truncate(span, 80)}\"" if span and failure.code != "headline-damage" else ""
    return f"{failure.code} ({failure.severity}): {failure.message}{where}"


def evaluate_gate(result: ArticleResult, cfg: GateConfig, baseline: Iterable[str] = frozenset()) -> GateOutcome:
    """Does ``result`` pass the gate under ``cfg``? Failures whose fingerprint is in ``baseline`` don't count."""
    if result.status != "ok":
        return GateOutcome(False, [f"could not be read: {result.error}"], unreadable=True)
    base = set(baseline)
    candidates = candidate_failures(result, cfg)
    failures = [f for f in candidates if f.fingerprint not in base]
    reasons = [(f"sentence {f.segment}: " if f.segment is not None else "article: ") + describe(f, result.text)
               for f in failures]
    share = _flagged_share(result, cfg)
    if share > cfg.max_flagged_share:
        reasons.append(f"{share:.0%} of sentences flagged (max_flagged_share {cfg.max_flagged_share:g})")
    return GateOutcome(not reasons, reasons, failures, suppressed=len(candidates) - len(failures))


# --------------------------------------------------------------------------- running


def gate_settings(cfg: GateConfig, **kwargs: Any):
    """Pipeline settings whose report verdicts agree with the gate's score thresholds."""
    from mtqa.engine import Settings

    return Settings(fail_threshold=cfg.max_score, review_threshold=min(cfg.review_score, cfg.max_score), **kwargs)


def iter_check(inputs: Iterable[str | Path] | Iterable[Article | ReadError], cfg: GateConfig | None = None,
               baseline: Iterable[str] = frozenset(), pipeline=None
               ) -> Iterator[tuple[ArticleResult, GateOutcome]]:
    """Score ``inputs`` (paths, ``-``, or Article objects) and judge each result, in input order."""
    from mtqa.engine import Pipeline
    from mtqa.io import read_inputs

    cfg = cfg or GateConfig()
    base = frozenset(baseline)
    pipe = pipeline or Pipeline(gate_settings(cfg))
    items = list(inputs)
    stream = items if all(isinstance(x, Article | ReadError) for x in items) else read_inputs(items)  # type: ignore
    for res in pipe.run(stream):  # type: ignore[arg-type]
        yield res, evaluate_gate(res, cfg, base)


def check(inputs: Iterable[str | Path] | Iterable[Article | ReadError], cfg: GateConfig | None = None,
          baseline: Iterable[str] = frozenset(), pipeline=None) -> list[tuple[ArticleResult, GateOutcome]]:
    """``mtqa check`` as a function: ``[(result, outcome), ...]``, one per article or unreadable input.

    >>> pairs = check(["feed.xml"], GateConfig(ignore_rules=["run-on"]))   # doctest: +SKIP
    >>> all(o.passed for _, o in pairs)                                    # doctest: +SKIP
    """
    return list(iter_check(inputs, cfg, baseline, pipeline))


def exit_code(pairs: list[tuple[ArticleResult, GateOutcome]]) -> int:
    """0: every article passes; 1: some article fails; 2: some input could not be read (2 wins)."""
    if any(o.unreadable for _, o in pairs):
        return 2
    return 1 if any(not o.passed for _, o in pairs) else 0


# --------------------------------------------------------------------------- baseline


def load_baseline(path: str | Path) -> set[str]:
    """Fingerprints from a baseline file (``{"version": 1, "fingerprints": [...]}``); ConfigError if bad."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: baseline is not valid JSON: {exc}") from None
    if (not isinstance(data, dict) or data.get("version") != BASELINE_VERSION
            or not isinstance(data.get("fingerprints"), list)
            or not all(isinstance(x, str) for x in data["fingerprints"])):
        raise ConfigError(f"{path}: not an mtqa baseline (expected {{\"version\": 1, \"fingerprints\": [...]}})")
    return set(data["fingerprints"])


def baseline_dict(results: Iterable[ArticleResult], cfg: GateConfig) -> dict[str, Any]:
    """The baseline recording every current failure of ``results`` (any earlier baseline is not applied)."""
    fps = {f.fingerprint for r in results for f in evaluate_gate(r, cfg).failures}
    return {"version": BASELINE_VERSION, "fingerprints": sorted(fps)}


# --------------------------------------------------------------------------- outputs


def _truncate(s: str, n: int = 120) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def input_path(input_: str) -> str:
    """The file an input names, without ``:LINE``, ``#itemN`` or ``#rowN``."""
    return _INPUT_SUFFIX.sub("", input_)


def _input_line(result: ArticleResult, offset: int | None) -> int | None:
    """Line in the input file: the corpus line for ``path:LINE``, the text line for a plain text file."""
    m = re.search(r":(\d+)$", result.input)
    if m:
        return int(m.group(1)) if not result.input.startswith("<stdin>") else None
    if offset is not None and Path(result.input).suffix.lower() in (".txt", ".text"):
        return result.text.count("\n", 0, offset) + 1
    return None


def _worst_first(pairs: list[tuple[ArticleResult, GateOutcome]]) -> list[tuple[ArticleResult, GateOutcome]]:
    failing = [(r, o) for r, o in pairs if not o.passed and not o.unreadable]
    return sorted(failing, key=lambda p: (-max((SEVERITY_RANK.get(f.severity, 0) for f in p[1].failures), default=0),
                                          -(p[0].score or 0.0), -len(p[1].failures)))


def _worst_failure(result: ArticleResult, outcome: GateOutcome) -> GateFailure | None:
    score = {s.index: s.score or 0.0 for s in result.segments}
    return max(outcome.failures, default=None,
               key=lambda f: (SEVERITY_RANK.get(f.severity, 0), f.segment is not None, score.get(f.segment, 0.0)))


def summary_text(pairs: list[tuple[ArticleResult, GateOutcome]], worst: int = 5) -> str:
    """The human summary printed on stderr: counts, then the worst failing articles and every unreadable input."""
    n = len(pairs)
    unreadable = [(r, o) for r, o in pairs if o.unreadable]
    failed = _worst_first(pairs)
    passed = n - len(failed) - len(unreadable)
    suppressed = sum(o.suppressed for _, o in pairs)
    lines = [f"mtqa check: {n} article{'s' if n != 1 else ''}: {passed} passed, {len(failed)} failed, "
             f"{len(unreadable)} unreadable" + (f" ({suppressed} known findings suppressed by the baseline)"
                                                 if suppressed else "")]
    for r, o in failed[:worst]:
        lines.append(f"FAIL {r.id} ({r.input})")
        top = _worst_failure(r, o)
        shown: set[str] = set()
        if top is not None and top.segment is not None:
            lines.append(f"  sentence {top.segment}: \"{_truncate(top.sentence)}\"")
            for f in [f for f in o.failures if f.segment == top.segment][:3]:
                lines.append(f"    {describe(f, r.text)}")
                shown.add(f"sentence {f.segment}: {describe(f, r.text)}")
        others = [x for x in o.reasons if x not in shown]
        lines += [f"  {_truncate(x, 160)}" for x in others[:2]]
        if len(others) > 2:
            lines.append(f"  ... and {len(others) - 2} more")
    if len(failed) > worst:
        lines.append(f"... and {len(failed) - worst} more failing articles (see --junit/--json/--sarif)")
    lines += [f"ERROR {r.input}: {r.error}" for r, _ in unreadable]
    return "\n".join(lines) + "\n"


def _xml(s: Any) -> str:
    return _XML_BAD.sub("", str(s))


def failure_details(result: ArticleResult, outcome: GateOutcome) -> str:
    """Plain-text list of an article's flagged sentences and counted findings (JUnit failure text)."""
    lines = [f"{result.id} ({result.input}): score {result.score}, verdict {result.verdict}"]
    by_segment: dict[int | None, list[GateFailure]] = {}
    for f in outcome.failures:
        by_segment.setdefault(f.segment, []).append(f)
    for index, found in by_segment.items():
        lines.append(f"sentence {index}: {found[0].sentence}" if index is not None else "article:")
        lines += [f"  - {describe(f, result.text)} [{f.fingerprint}]" for f in found]
    flagged = [s for s in result.segments if s.flagged and s.index not in by_segment]
    if flagged:
        lines.append("other flagged sentences (not counted by the gate):")
        lines += [f"  sentence {s.index} (score {s.score}): {_truncate(s.text)}" for s in flagged]
    lines += [r for r in outcome.reasons if not r.startswith(("sentence ", "article: "))]
    return "\n".join(lines)


def junit_xml(pairs: list[tuple[ArticleResult, GateOutcome]]) -> bytes:
    """One testsuite ``mtqa``, one testcase per article (name = id, classname = input)."""
    n_fail = sum(not o.passed and not o.unreadable for _, o in pairs)
    n_err = sum(o.unreadable for _, o in pairs)
    root = ET.Element("testsuites", name="mtqa", tests=str(len(pairs)), failures=str(n_fail), errors=str(n_err))
    suite = ET.SubElement(root, "testsuite", name="mtqa", tests=str(len(pairs)), failures=str(n_fail),
                          errors=str(n_err), skipped="0")
    for r, o in pairs:
        case = ET.SubElement(suite, "testcase", name=_xml(r.id), classname=_xml(r.input))
        if o.unreadable:
            err = ET.SubElement(case, "error", message=_xml(_truncate(r.error or "unreadable", 500)), type="ReadError")
            err.text = _xml(f"{r.input}: {r.error}")
        elif not o.passed:
            top = _worst_failure(r, o)
            message = _truncate("; ".join(o.reasons), 500)
            fail = ET.SubElement(case, "failure", message=_xml(message), type=_xml(top.code if top else "mtqa.gate"))
            fail.text = _xml(failure_details(r, o))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_uri() if p.is_absolute() else quote(p.as_posix(), safe="/")


def sarif(pairs: list[tuple[ArticleResult, GateOutcome]]) -> dict[str, Any]:
    """SARIF 2.1.0: one result per gate failure, located by character offsets into the article text."""
    from mtqa import __version__

    codes = known_codes()
    order = list(codes)
    rules_out = [{"id": code, "name": code, "shortDescription": {"text": msg},
                  "defaultConfiguration": {"level": "error" if sev == "major" else "warning"}}
                 for code, (msg, sev) in codes.items()]
    results: list[dict[str, Any]] = []
    for r, o in pairs:
        for f in o.failures:
            location: dict[str, Any] = {"logicalLocations": [{"name": r.id, "kind": "module"}]}
            if not r.input.startswith("<stdin>"):
                physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(input_path(r.input))}}
                if f.start is not None and f.end is not None:
                    physical["region"] = {"charOffset": f.start, "charLength": f.end - f.start}
                location["physicalLocation"] = physical
            span = " ".join(f.span_text(r.text).split())
            res: dict[str, Any] = {
                "ruleId": f.code,
                "level": "error" if f.severity == "major" else "warning",
                "message": {"text": f"{f.message}" + (f": \"{_truncate(span, 200)}\"" if span else "")
                            + f" (article {r.id})"},
                "locations": [location],
                "partialFingerprints": {"mtqaFingerprint/v1": f.fingerprint},
                "properties": {"articleId": r.id, "input": r.input, "segment": f.segment},
            }
            if f.code in codes:
                res["ruleIndex"] = order.index(f.code)
            results.append(res)
    invocations = [{"executionSuccessful": not any(o.unreadable for _, o in pairs),
                    "toolExecutionNotifications": [
                        {"level": "error", "message": {"text": f"{r.input}: {r.error}"}}
                        for r, o in pairs if o.unreadable]}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "mtqa", "version": __version__, "rules": rules_out}},
        "invocations": invocations, "results": results}]}


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def github_annotations(pairs: list[tuple[ArticleResult, GateOutcome]]) -> list[str]:
    """GitHub Actions workflow commands (``::error file=...,title=mtqa CODE::message: span``)."""
    out = []
    for r, o in pairs:
        path = input_path(r.input)
        file_prop = [] if r.input.startswith("<stdin>") else [f"file={_gh_prop(path)}"]
        if o.unreadable:
            props = ",".join([*file_prop, f"title={_gh_prop('mtqa unreadable input')}"])
            out.append(f"::error {props}::{_gh_data(f'{r.input}: {r.error}')}")
            continue
        for f in o.failures:
            props = list(file_prop)
            line = _input_line(r, f.start)
            if line is not None:
                props.append(f"line={line}")
            props.append(f"title={_gh_prop(f'mtqa {f.code}')}")
            span = _truncate(f.span_text(r.text), 200)
            msg = f"{f.message}: {span}" if span else f.message
            level = "error" if f.severity == "major" else "warning"
            out.append(f"::{level} {','.join(props)}::{_gh_data(f'{msg} (article {r.id})')}")
    return out


def json_records(pairs: list[tuple[ArticleResult, GateOutcome]]) -> list[dict[str, Any]]:
    """The ``mtqa.article/1`` records, each with ``"gate": {"passed", "reasons"}`` added."""
    from mtqa.report import article_to_dict

    return [{**article_to_dict(r), "gate": {"passed": o.passed, "reasons": list(o.reasons)}} for r, o in pairs]


def write_outputs(pairs: list[tuple[ArticleResult, GateOutcome]], *, junit: str | Path | None = None,
                  json_path: str | Path | None = None, sarif_path: str | Path | None = None) -> None:
    """Write the requested machine-readable outputs atomically."""
    from mtqa.report import _write_atomic

    if junit:
        _write_atomic(Path(junit), junit_xml(pairs))
    if json_path:
        text = json.dumps(json_records(pairs), ensure_ascii=False, indent=1, allow_nan=False) + "\n"
        _write_atomic(Path(json_path), text, errors="replace")
    if sarif_path:
        text = json.dumps(sarif(pairs), ensure_ascii=False, indent=1) + "\n"
        _write_atomic(Path(sarif_path), text, errors="replace")


def write_baseline(path: str | Path, results: Iterable[ArticleResult], cfg: GateConfig) -> int:
    """Record the current failures of ``results``; returns how many fingerprints were written."""
    from mtqa.report import _write_atomic

    data = baseline_dict(results, cfg)
    _write_atomic(Path(path), json.dumps(data, indent=1) + "\n")
    return len(data["fingerprints"])
