"""The operator package stays readable: small modules, short functions.

Limits: no module of the package over 500 lines, no function (or method) over 50 lines,
counted from its `def` line (decorators excluded) to its last line, docstring included.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "semantic_router_operator"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 50


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
