"""Reading the chart's Chart.yaml (a chart directory or a packaged .tgz)."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import yaml


def read_chart_name(chart: Path) -> str:
    """``name`` of the chart's Chart.yaml (chart directory or packaged .tgz)."""
    return str(_chart_metadata(chart).get("name") or "")


def read_chart_version(chart: Path) -> str:
    """``version`` of the chart's Chart.yaml (chart directory or packaged .tgz)."""
    version = _chart_metadata(chart).get("version")
    if not version:
        raise ValueError(f"{chart}: Chart.yaml has no version")
    return str(version)


def _chart_metadata(chart: Path) -> dict[str, Any]:
    if chart.is_dir():
        text = (chart / "Chart.yaml").read_text(encoding="utf-8")
    else:
        with tarfile.open(chart) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith("/Chart.yaml"))
            extracted = archive.extractfile(member)
            if extracted is None:
                raise ValueError(f"{chart}: Chart.yaml is not a regular file")
            text = extracted.read().decode("utf-8")
    metadata = yaml.safe_load(text) or {}
    return metadata if isinstance(metadata, dict) else {}


# Characters a YAML stream may not hold raw (helm reads `--values -` as YAML): DEL, the C1
# controls, the BOM, the noncharacters U+FFFE/U+FFFF, and U+0085/U+2028/U+2029, which YAML
