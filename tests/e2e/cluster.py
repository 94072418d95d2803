"""A real Kubernetes cluster for the end-to-end tier, through kubectl.

Which cluster: the current kubeconfig's (``KUBECONFIG`` or ``~/.kube/config``) when its API
server answers; else a throwaway kind cluster when ``kind`` and a running container engine
are installed (``SR_E2E_KIND=0`` turns that off); else none, and `find_cluster` says why in
one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

PROBE_TIMEOUT = 10


class NoCluster(Exception):
    """No cluster is reachable; the message is the one-line reason."""


def kubectl_binary() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    found = shutil.which("kubectl")
    if not found:
        raise NoCluster("no cluster: kubectl is not installed (run `make dev`)")
    return found


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
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
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


def default_kubeconfig() -> str:
    return os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")


def _engine_running() -> bool:
    for engine in ("docker", "podman"):
        if shutil.which(engine):
            proc = subprocess.run(
                [engine, "info"], capture_output=True, text=True, timeout=PROBE_TIMEOUT
            )
            if proc.returncode == 0:
                return True
    return False


@contextmanager
def find_cluster(workdir: Path) -> Iterator[Kubectl]:
    """The cluster to test against (see the module docstring); raises NoCluster."""
    binary = kubectl_binary()
    current = Kubectl(default_kubeconfig(), binary)
    files = [f for f in current.kubeconfig.split(os.pathsep) if f]
    if not any(Path(f).is_file() for f in files):
        where = f"no kubeconfig at {current.kubeconfig}"
    elif current.reachable():
        yield current
        return
    else:
        where = f"the kubeconfig {current.kubeconfig} reaches no API server"
    if os.environ.get("SR_E2E_KIND", "1") == "0":
        raise NoCluster(f"no cluster: {where} (SR_E2E_KIND=0: no kind cluster)")
    kind = shutil.which("kind")
    if not kind:
        raise NoCluster(f"no cluster: {where}, and kind is not installed to create one")
    if not _engine_running():
        raise NoCluster(f"no cluster: {where}, and kind has no running Docker or Podman")
    name = f"sr-e2e-{os.getpid()}"
    kubeconfig = str(workdir / "kind-kubeconfig")
    create = [kind, "create", "cluster", "--name", name, "--kubeconfig", kubeconfig]
    subprocess.run([*create, "--wait", "180s"], check=True, timeout=600)
    try:
        yield Kubectl(kubeconfig, binary)
    finally:
        subprocess.run([kind, "delete", "cluster", "--name", name], timeout=300, check=False)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 2.0) -> T:
    """The first truthy answer of `probe`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
