"""Benchmark 4: `helm template` of the chart with every feature on, against a chart
holding one ConfigMap (helm's own start-up and rendering cost), on Helm 4 and Helm 3.

    python -m bench.render [--runs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from dataclasses import dataclass

from bench import stats
from bench.stats import Check, Comparison

CHART = stats.ROOT / "charts" / "semantic-router"
EVERYTHING = CHART / "ci" / "everything-values.yaml"
BASELINE = stats.ROOT / "bench" / "baseline-chart"
TARGET = 2.0
MAJORS = (4, 3)


def helm_template(major: int, *args: str) -> float:
    """Seconds one `helm template` takes (its output is checked, then dropped)."""
    env = {**os.environ, "HELM_CACHE_HOME": str(stats.ROOT / ".cache" / "helm-home")}
    argv = [str(stats.ROOT / "bin" / f"helm{major}"), "template", "bench", *args]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.decode()[-2000:]}")
    return elapsed


@dataclass
class Result:
    # per helm major: the chart with everything enabled (measured), one ConfigMap.
    majors: dict[int, Comparison]
    runs: int

    def checks(self) -> list[Check]:
        return [
            Check(
                f"everything-enabled / one ConfigMap, Helm {major}",
                stats.ratio(m.ratio),
                f"≤ {TARGET:g}{stats.TIMES}",
                m.ratio <= TARGET,
            )
            for major, m in self.majors.items()
        ]

    def markdown(self) -> str:
        rows = [
            m.row(f"Helm {major} ({stats.helm_version(major)})", stats.ratio)
            for major, m in self.majors.items()
        ]
        return "\n\n".join(
            [
                stats.table(
                    ["helm", "semantic-router, everything-values", "one ConfigMap", "ratio"],
                    rows,
                ),
                f"{self.runs} runs of each, alternating, after one warm-up run of each.",
            ]
        )


def measure(runs: int = 20) -> Result:
    majors = {}
    for major in MAJORS:
        result = majors[major] = Comparison(f"Helm {major}")
        chart_args = (str(CHART), "-f", str(EVERYTHING))
        helm_template(major, *chart_args)
        helm_template(major, str(BASELINE))
        for _ in range(runs):
            result.measured.add(helm_template(major, *chart_args))
            result.reference.add(helm_template(major, str(BASELINE)))
    return Result(majors, runs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.render")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    result = measure(args.runs)
    print(result.markdown())
    print()
    print(stats.checks_table(result.checks()))


if __name__ == "__main__":
    main()
