"""House rules that hold by themselves (issue 18): no import circles, a reason on every
import inside a function of product code, a domain of the standard library only, and no
function above complexity grade C outside a short named list. The layer contracts are in
``.importlinter`` (``make lint`` runs ``lint-imports``)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
from radon.complexity import cc_rank, cc_visit
from radon.visitors import Class

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "redfire_core",
    "redfire_api",
    "redfire_orders",
    "redfire_risk",
    "redfire_ingest",
    "redfire_outbox",
    "redfire_stream",
    "redfire_strategies",
    "redfire_infra",
    "redfire_cli",
    "benchmarks",
    "tests",
)
# What runs in a Lambda function or synthesizes the stacks: its imports sit at the top.
PRODUCT = ("layers", "functions", "infra")
# Everything but the tests is held to the complexity gate.
GATED = (*PRODUCT, "devtools", "benchmarks")
LAZY_MARK = "# lazy:"
DOMAIN = ROOT / "layers/redfire_core/redfire_core/domain"

# Functions allowed above grade C, each with its reason. The gate fails when one of them
# gets simpler (take it off the list) as well as when anything else grows past C.
COMPLEXITY_EXCEPTIONS = {
    "layers/redfire_core/redfire_core/backtest/stats.py::compute_statistics": (
        "one pass over the equity curve computing backtesting.py's statistics in its order, "
        "so the parity test compares figure by figure"
    ),
    "layers/redfire_core/redfire_core/backtest/data.py::_read_plain": (
        "the CSV fast path (issue 15 goal 5): one loop over 256 KiB blocks that splits, "
        "converts and checks each row inline; function calls per row cost a third of the run"
    ),
    "benchmarks/aws_calls.py::run": (
        "the benchmark's script: runs every scenario and tabulates its calls in sequence"
    ),
    "benchmarks/cold_import.py::run": (
        "the benchmark's script: interleaved rounds of every handler and reference, then the "
        "comparison rows, in the order the report prints them"
    ),
    "layers/redfire_core/redfire_core/hs256.py::decode": (
        "a token's checks in the order PyJWT makes them (header, signature, each required "
        "claim, times, audience, issuer), each one refusal; split, the order would hide"
    ),
}


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others() -> None:
    # Type-checking and function-level imports count: a circle is a circle however it runs.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)

    assert _circles(graph) == []


def _function_level_imports(path: Path) -> Iterator[tuple[int, str]]:
    source = path.read_text()
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                span = lines[inner.lineno - 1 : inner.end_lineno]
                yield inner.lineno, "\n".join(span)


def test_every_import_inside_a_function_of_product_code_says_why() -> None:
    unmarked = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _python_files(*PRODUCT)
        for line, text in _function_level_imports(path)
        if LAZY_MARK not in text
    ]

    assert unmarked == [], (
        "move these imports to the top of their module, or mark each one "
        f"'{LAZY_MARK} <reason>' when it keeps a cold start lean"
    )


def _imported_roots(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_the_domain_imports_only_the_domain_and_the_standard_library() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _python_files(str(DOMAIN.relative_to(ROOT)))
        for line, module in _imported_roots(path)
        if module.split(".")[0] not in sys.stdlib_module_names
        and not (module + ".").startswith("redfire_core.domain.")
    ]

    assert outside == []


def _functions(blocks: list[Any], owner: str = "") -> Iterator[tuple[str, int]]:
    """Every function, method and closure radon measured, named as ``Class.method``."""
    for block in blocks:
        if isinstance(block, Class):
            yield from _functions(block.methods, f"{owner}{block.name}.")
        elif not (block.is_method and not owner):  # methods come with their class
            yield f"{owner}{block.name}", block.complexity
            yield from _functions(block.closures, f"{owner}{block.name}.")


def _grades() -> dict[str, tuple[str, int]]:
    return {
        f"{path.relative_to(ROOT)}::{name}": (cc_rank(complexity), complexity)
        for path in _python_files(*GATED)
        for name, complexity in _functions(cc_visit(path.read_text()))
    }


def test_no_function_is_more_complex_than_grade_c_outside_the_named_list() -> None:
    grades = _grades()

    too_complex = {
        name: grade
        for name, grade in grades.items()
        if grade[0] > "C" and name not in COMPLEXITY_EXCEPTIONS
    }
    simpler_now = [
        name for name in COMPLEXITY_EXCEPTIONS if name not in grades or grades[name][0] <= "C"
    ]

    assert too_complex == {}, "split these functions (radon grade above C)"
    assert simpler_now == [], "these are grade C or better now: take them off the list"


def _private_imports(path: Path) -> Iterator[str]:
    """``from our.module import _name`` lines of a file: names another module keeps to itself."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield f"{path.relative_to(ROOT)}: from {node.module} import {alias.name}"


def test_no_module_imports_another_modules_private_names() -> None:
    # A leading underscore says "mine": a name another module needs is public, or moves.
    found = [line for path in _python_files(*GATED) for line in _private_imports(path)]

    assert found == []
