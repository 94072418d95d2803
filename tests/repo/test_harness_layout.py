"""What the tiers and the benchmarks share lives in tests/support: the benchmarks import
nothing of a tier, and tests/support imports nothing of a tier either (a shared module that
reached into one tier would tie every user to it)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def tier_imports(folder: Path) -> list[str]:
    """`file: module` for every import of a tests module outside tests.support."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "tests" and parts[1:2] != ["support"]:
                found.append(f"{path.relative_to(folder)}: {module}")
    return found


@pytest.mark.parametrize("folder", ["bench", "tests/support"])
def test_shared_code_imports_no_tier(folder: str) -> None:
    offenders = tier_imports(ROOT / folder)
    assert not offenders, (
        f"{folder} imports a tier's modules; move what they share into tests/support: {offenders}"
    )


def test_the_check_finds_an_import_of_a_tier(tmp_path: Path) -> None:
    (tmp_path / "uses_a_tier.py").write_text(
        "from tests.support.cluster import Client\nfrom tests.integration.releases import Run\n"
    )
    assert tier_imports(tmp_path) == ["uses_a_tier.py: tests.integration.releases"]
