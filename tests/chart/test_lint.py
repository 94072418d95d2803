"""`helm lint --strict` passes for every CI values file, with Helm 4 and Helm 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.helm import CHART, CI_VALUES, run_helm


def test_the_chart_has_ci_values_files_to_lint() -> None:
    assert len(CI_VALUES) >= 9, f"{CHART / 'ci'} lacks scenario values files"


@pytest.mark.parametrize("major", [4, 3])
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: Path(p).name)
def test_strict_lint_passes_for_the_ci_values_file(values_file: Path, major: int) -> None:
    out = run_helm(["lint", "--strict", str(CHART), "-f", str(values_file)], major=major)
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out and "[ERROR]" not in out


@pytest.mark.parametrize("major", [4, 3])
def test_strict_lint_passes_with_only_the_default_values(major: int) -> None:
    out = run_helm(["lint", "--strict", str(CHART)], major=major)
    assert "0 chart(s) failed" in out
