"""The code stays readable: small modules, short functions, nothing written twice.

Limits: no module of the package over 500 lines, no function (or method) over 50 lines,
counted from its `def` line (decorators excluded) to its last line, docstring included; no run
of 12 lines (indentation and blank lines aside) standing twice anywhere in the project's code
(Python, chart templates, shell scripts).
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "semantic_router_operator"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 50
MIN_REPEATED_LINES = 12
CODE_FOLDERS = ("operator", "tests", "bench", "scripts", "charts", "tools")
CODE_SUFFIXES = frozenset({".py", ".tpl", ".sh"})


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def long_modules(limit: int = MAX_MODULE_LINES) -> list[str]:
    """`path (lines)` of every module over `limit` lines."""
    found = []
    for path in modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(PACKAGE)} ({lines} lines)")
    return found


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`qualified.name (lines)` of every function in `source` longer than `limit` lines."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lines = (child.end_lineno or child.lineno) - child.lineno + 1
                    if lines > limit:
                        found.append(f"{name} ({lines} lines)")
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def code_files() -> list[Path]:
    """The project's own code: no virtualenv, cache or other hidden folder below it."""
    return sorted(
        path
        for folder in CODE_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.suffix in CODE_SUFFIXES
        and path.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__"
            for part in path.relative_to(ROOT / folder).parts
        )
    )


def repeated_runs(texts: Mapping[str, str], size: int = MIN_REPEATED_LINES) -> list[str]:
    """`a:line ~ b:line` for each pair of places sharing a run of `size` lines, compared
    without indentation and with blank lines skipped; each pair of files is named once, at
    its first shared run."""
    places: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for name, text in texts.items():
        lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        for start in range(len(lines) - size + 1):
            run = tuple(line for _, line in lines[start : start + size])
            places[run].append((name, lines[start][0]))
    pairs: dict[tuple[str, str], str] = {}
    for found in places.values():
        for (a, line_a), (b, line_b) in itertools.pairwise(found):
            pairs.setdefault((a, b), f"{a}:{line_a} ~ {b}:{line_b}")
    return sorted(pairs.values())


def test_the_repetition_check_names_a_run_of_twelve_lines_written_twice() -> None:
    run = "\n".join(f"    total += {i}" for i in range(12))
    texts = {
        "a.py": f"def a():\n{run}\n",
        "b.py": f"x = 1\n\nif x:\n{run.replace('    ', '        ')}\n",
    }
    assert repeated_runs(texts) == ["a.py:2 ~ b.py:4"]
    shorter = {name: text.replace("    total += 11\n", "") for name, text in texts.items()}
    assert repeated_runs(shorter) == []


def test_the_repetition_check_reads_the_package_the_tests_the_chart_and_the_scripts() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in code_files()}
    assert {
        "operator/semantic_router_operator/reconcile.py",
        "tests/support/harness.py",
        "bench/run.py",
        "scripts/bundle.py",
        "charts/semantic-router/templates/_config.tpl",
    } <= names
    assert not any("/.venv" in name or "__pycache__" in name for name in names)


def test_no_run_of_twelve_lines_is_written_twice_in_the_code() -> None:
    texts = {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in code_files()
    }
    assert repeated_runs(texts) == [], "give the repeated lines one home and call it"


def test_the_function_length_check_names_a_long_function_and_a_long_method() -> None:
    body = "\n".join(f"x{i} = {i}" for i in range(50))
    method = body.replace("\n", "\n        ")
    source = f"def short():\n    return 1\n\n\nclass C:\n    def long(self):\n        {method}\n"
    assert long_functions(source) == ["C.long (51 lines)"]
    function = body.replace("\n", "\n    ")
    assert long_functions(f"async def top():\n    {function}\n") == ["top (51 lines)"]
    assert long_functions(f"def fits():\n    {function.rsplit(chr(10), 1)[0]}\n") == []


def test_the_check_sees_every_module_of_the_package_and_its_subpackages() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in modules()}
    assert {"handlers.py", "models/__init__.py", "release/helm.py"} <= names


def test_no_module_of_the_operator_is_over_500_lines() -> None:
    assert long_modules() == [], "split these modules by idea (docs/architecture.md)"


def test_no_function_of_the_operator_is_over_50_lines() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in modules()
        for name in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "split these functions into named steps"
