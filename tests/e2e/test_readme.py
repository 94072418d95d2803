"""The README's "Try it without a cluster" block, run as written in a copy of the checkout:
`make cluster` starts a second local control plane there, `make run` the operator with the
admin credential, and `kubectl get sr` shows the Llama Stack sample Running. Only the operator's
ports and timer interval are set through its environment (see the test)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from scripts import local_cluster
from tests.repo.test_docs import COPY_IGNORE, README, fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Try it without a cluster"


def readme_block() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    line = text[:start].count("\n") + 1
    (block, *_) = [b for b in fenced_blocks(README) if b.line > line and b.lang == "bash"]
    return "\n".join(block.lines)


def test_the_readme_walkthrough_shows_the_router_running(tmp_path: Path) -> None:
    checkout = tmp_path / "repo"
    shutil.copytree(ROOT, checkout, ignore=COPY_IGNORE, symlinks=True)
    for linked in (".venv", "bin", ".venv-checkov"):
        if (ROOT / linked).exists():
            (checkout / linked).symlink_to((ROOT / linked).resolve(), target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "MAKEFLAGS", "MAKELEVEL")}
    # Ports of its own (another operator may hold the default 8080/8081 on this machine), and a
    # short status timer: the status follows the pods at the timer's pace (default 60 s).
    env |= {
        "SR_OPERATOR_METRICS_PORT": "0",
        "SR_OPERATOR_LIVENESS_ENDPOINT": "",
        "SR_OPERATOR_TIMER_INTERVAL": "5",
    }
    script = "set -euo pipefail -m\n" + readme_block()
    try:
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        local_cluster.down(checkout / ".cluster")
    log = (checkout / "operator.log").read_text() if (checkout / "operator.log").exists() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr + log[-3000:]
    table = proc.stdout[proc.stdout.index("NAME") :].splitlines()
    assert table[1].split()[:2] == ["semantic-router-llamastack", "Running"], proc.stdout
    assert f"export KUBECONFIG={checkout / '.cluster' / 'kubeconfig'}" in proc.stdout
    assert not (checkout / ".cluster").exists()
