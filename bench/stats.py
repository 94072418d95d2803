"""Figures over repeated runs (median and spread), targets, and the machine they ran on."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EN_DASH = "\u2013"
TIMES = "\u00d7"


@dataclass
class Figure:
    """One measured quantity over repeated runs."""

    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def low(self) -> float:
        return min(self.samples) if self.samples else float("nan")

    @property
    def high(self) -> float:
        return max(self.samples) if self.samples else float("nan")

    @property
    def iqr(self) -> tuple[float, float]:
        """First and third quartiles (min and max under four samples)."""
        if len(self.samples) < 4:
            return self.low, self.high
        q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q1, q3

    def show(self, fmt: Callable[[float], str], *, spread: str = "range") -> str:
        """``median (low to high, n runs)``; with spread="iqr", the interquartile range."""
        low, high = (
            self.iqr if spread == "iqr" and len(self.samples) >= 4 else (self.low, self.high)
        )
        label = "IQR " if spread == "iqr" and len(self.samples) >= 4 else ""
        runs = f"{len(self.samples)} run" + ("s" if len(self.samples) != 1 else "")
        if len(self.samples) == 1:
            return f"{fmt(self.median)} ({runs})"
        return f"{fmt(self.median)} ({label}{fmt(low)}{EN_DASH}{fmt(high)}, {runs})"


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def ratio(value: float) -> str:
    return f"{value:.2f}{TIMES}"


def count(value: float) -> str:
    return f"{value:g}"


def per_cr(value: float) -> str:
    return f"{value:.2f}"


@dataclass
class Comparison:
    """The same work timed two ways (`measured` against `reference`), on one subject."""

    subject: str
    measured: Figure = field(default_factory=Figure)
    reference: Figure = field(default_factory=Figure)

    @property
    def ratio(self) -> float:
        """measured / reference, of the medians."""
        return self.measured.median / self.reference.median

    def row(self, label: str, show_ratio: Callable[[float], str]) -> list[str]:
        """A table row: `label`, both figures in ms (median and IQR), the ratio."""
        return [
            label,
            self.measured.show(ms, spread="iqr"),
            self.reference.show(ms, spread="iqr"),
            show_ratio(self.ratio),
        ]


@dataclass(frozen=True)
class Check:
    """A figure against its target."""

    what: str
    value: str
    target: str
    met: bool

    @property
    def verdict(self) -> str:
        return "met" if self.met else "**missed**"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def checks_table(checks: Sequence[Check]) -> str:
    return table(
        ["figure", "median (spread)", "target", "verdict"],
        [[c.what, c.value, c.target, c.verdict] for c in checks],
    )


# --- the machine ---------------------------------------------------------------------------------


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return "unknown"


def helm_version(major: int) -> str:
    binary = ROOT / "bin" / f"helm{major}"
    try:
        out = subprocess.run(
            [str(binary), "version", "--short"], capture_output=True, text=True, timeout=30
        )
    except OSError:
        return "not installed"
    return out.stdout.strip() or "unknown"


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[tuple[str, str]]:
    """What the figures depend on: hardware and versions."""
    memory = _first("/proc/meminfo", "MemTotal")
    if memory.endswith("kB") and memory[:-2].strip().isdigit():
        memory = f"{int(memory[:-2]) / 1024 / 1024:.1f} GiB"
    return [
        ("CPU", _first("/proc/cpuinfo", "model name")),
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("kopf", package_version("kopf")),
        ("pyhelm3", package_version("pyhelm3")),
        ("pydantic", package_version("pydantic")),
        ("kmock (API emulator)", package_version("kmock")),
        ("Helm 4", helm_version(4)),
        ("Helm 3", helm_version(3)),
    ]
