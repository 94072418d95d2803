"""A real Kubernetes cluster for the end-to-end tier, through kubectl.

Which cluster: the one ``KUBECONFIG`` names, when it is set (kind, OpenShift, any cluster: it
must answer, else the tier fails); else a local control plane (scripts/local_cluster.py: etcd,
kube-apiserver, kube-controller-manager, kube-scheduler and kwok's fake nodes on 127.0.0.1)
started for the run and stopped after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from scripts import deploy_manifests, local_cluster

T = TypeVar("T")

PROBE_TIMEOUT = 10


def kubectl_binary() -> str:
    """kubectl from this Python's environment (installed by `make dev`), else from PATH."""
    return deploy_manifests.kubectl()


class KubectlError(AssertionError):
    """kubectl exited non-zero; the message holds the command and its stderr."""


@dataclass(frozen=True)
class Kubectl:
    """kubectl bound to one kubeconfig."""

    kubeconfig: str
    binary: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": self.kubeconfig}

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def get(self, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        ns = ["-n", namespace] if namespace else []
        proc = self.run("get", kind, name, *ns, "-o", "json", "--ignore-not-found", check=True)
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def apply(self, obj: dict[str, Any], namespace: str = "") -> None:
        ns = ["-n", namespace] if namespace else []
        self.run("apply", "--server-side", "-f", "-", *ns, stdin=yaml.safe_dump(obj))

    def reachable(self) -> bool:
        proc = self.run(
            "get", "--raw", "/version", f"--request-timeout={PROBE_TIMEOUT}s", check=False
        )
        return proc.returncode == 0

    def served_groups(self) -> set[str]:
        groups = json.loads(self.run("get", "--raw", "/apis").stdout)
        return {g["name"] for g in groups.get("groups", [])}


@contextmanager
def find_cluster(workdir: Path) -> Iterator[Kubectl]:
    """The cluster to test against (see the module docstring)."""
    binary = kubectl_binary()
    given = os.environ.get("KUBECONFIG", "")
    if given:
        current = Kubectl(given, binary)
        if not current.reachable():
            raise AssertionError(
                f"KUBECONFIG={given} reaches no API server: start that cluster, or unset "
                "KUBECONFIG to run the tier on a local control plane"
            )
        yield current
        return
    state = workdir / "control-plane"
    layout = local_cluster.up(state)
    try:
        yield Kubectl(str(layout.kubeconfig), binary)
    finally:
        local_cluster.down(state)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 2.0) -> T:
    """The first truthy answer of `probe`, polled until `timeout` seconds have passed. A kubectl
    call that fails or hangs inside `probe` (an API server slow under load) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    last: T | Exception | None = None
    while time.monotonic() < deadline:
        try:
            answer = probe()
        except (KubectlError, subprocess.TimeoutExpired) as trouble:
            last = trouble
        else:
            if answer:
                return answer
            last = answer
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
