"""The package's shape: no import cycle (executors import the pipeline, never the reverse), and every finding
code any producer reports is in the one registry, described once."""

from __future__ import annotations

import ast
from pathlib import Path

from mtqa import codes, langid, policy, reference, rules

PACKAGE = Path(__file__).resolve().parent.parent / "mtqa"


def _import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, counting imports inside functions too."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mtqa"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("mtqa")}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep, [*path, dep])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_package_has_no_import_cycle():
    graph = _import_graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    assert "mtqa.pipeline" in graph["mtqa.engines"]
    for executor in ("mtqa.engines", "mtqa.run", "mtqa.cli", "mtqa.gate"):
        assert executor not in graph["mtqa.pipeline"]


def test_a_cycle_would_be_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_every_produced_code_is_registered_once():
    registry = codes.registry()
    produced = {r.code: "rules" for r in [*rules.SENTENCE_RULES, *rules.ARTICLE_RULES, *rules.TITLE_RULES]}
    produced |= {
        c: "reference" for c in (reference.ADDITION, reference.OMISSION, reference.NOT_ENGLISH, reference.MISMATCH)
    }
    produced |= {"not-english": "langid", "input-encoding": "io", "duplicate-id": "io", policy.LM_CODE: "policy"}
    for code, producer in produced.items():
        assert registry[code].producer == producer, code
    unproduced = {c for c, row in registry.items() if c not in produced and row.producer != "gate"}
    assert not unproduced  # no stale row
    assert langid.sentence_language  # the langid producer builds its findings through codes.finding


def test_rules_take_severity_and_message_from_the_registry():
    for rule in [*rules.SENTENCE_RULES, *rules.ARTICLE_RULES, *rules.TITLE_RULES]:
        row = codes.get(rule.code)
        assert (rule.severity, rule.message) == (row.severity, row.message)


def test_an_unknown_severity_ranks_as_major_everywhere():
    assert policy.rank("minor") < policy.rank("major") == policy.rank("critical?")
