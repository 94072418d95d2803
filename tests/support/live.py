"""The operator on a real cluster, for the end-to-end tier and the live benchmarks: the
CRD and the operator's RBAC from config/, ServiceAccount tokens from the TokenRequest API,
and the operator run as its own `semantic-router-operator run` process."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import deploy_manifests
from tests.support.helm import CHART, helm_binary
from tests.support.kubectl import Kubectl, KubectlError, wait_for

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "vllm.ai_semanticrouters.yaml"
CRD_NAME = "semanticrouters.vllm.ai"
OPERATOR_NAMESPACE = "semantic-router-operator-system"
OPERATOR_DEPLOYMENT = "semantic-router-operator-controller-manager"
OPERATOR_SERVICE_ACCOUNT = "semantic-router-operator-controller-manager"
TOKEN_DURATION = "3h"
RBAC_KINDS = {
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Namespace",
}


def wait_established(kubectl: Kubectl, name: str) -> None:
    """Wait for a CRD's Established condition (`kubectl wait` fails while it has no conditions)."""

    def established() -> bool:
        crd = kubectl.get("crd", name) or {}
        conditions = (crd.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    wait_for(f"CRD {name} Established", established, 60, every=0.2)
    # Then served: API discovery, which clients read to find the kind, follows a moment later.
    wait_for(f"the resource {name} served", lambda: served(kubectl, name), 60, every=0.2)


# What kubectl says of a resource the API server does not serve: unknown to discovery, or
# still in kubectl's discovery cache but gone from the server.
NOT_SERVED = ("doesn't have a resource type", "could not find the requested resource")


def served(kubectl: Kubectl, resource: str) -> bool:
    """Whether the API server serves `resource` (plural.group); any other kubectl failure (the
    API server slow or restarting) is raised, so that a poll tries again."""
    args = ("get", resource, "--all-namespaces", "-o", "name", "--request-timeout=10s")
    proc = kubectl.run(*args, check=False)
    if proc.returncode == 0:
        return True
    if any(text in proc.stderr for text in NOT_SERVED):
        return False
    raise KubectlError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")


def wait_removed_crd(kubectl: Kubectl, name: str) -> None:
    """Wait until the CRD `name` is deleted and discovery no longer offers its resource."""

    def gone() -> bool:
        return kubectl.get("crd", name) is None and not served(kubectl, name)

    wait_for(f"CRD {name} removed", gone, 120, every=0.5)


def new_namespace(kubectl: Kubectl, prefix: str = "sr-e2e") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    return name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def operator_manifests() -> list[dict[str, Any]]:
    """config/default as `make deploy` builds it."""
    manifest = deploy_manifests.kustomize(deploy_manifests.DEFAULT_DIR)
    return deploy_manifests.objects(manifest)


def token_kubeconfig(kubectl: Kubectl, token: str, path: Path) -> Kubectl:
    """A kubeconfig for the same API server as `kubectl`'s whose only credential is `token`."""
    current = json.loads(kubectl.run("config", "view", "--raw", "--minify", "-o", "json").stdout)
    cluster = current["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": cluster}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "operator"}}],
        "current-context": "e2e",
    }
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return Kubectl(str(path), kubectl.binary)


def request_token(kubectl: Kubectl, namespace: str, service_account: str) -> str:
    """A token of `service_account` from the TokenRequest API (`kubectl create token`)."""
    token = kubectl.run(
        "create", "token", service_account, "-n", namespace, f"--duration={TOKEN_DURATION}"
    ).stdout.strip()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["sub"] == f"system:serviceaccount:{namespace}:{service_account}", payload
    return token


@dataclass
class OperatorProcess:
    """One `semantic-router-operator run` process and its log."""

    proc: subprocess.Popen[bytes]
    log: Path
    helm_log: Path

    def __str__(self) -> str:
        return f"process {self.proc.pid} (log: {self.log})"

    def helm_runs(self) -> list[str]:
        """The helm command lines the operator ran so far (from the helm wrapper's log)."""
        if not self.helm_log.exists():
            return []
        return [line for line in self.helm_log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


def helm_recorder(workdir: Path, helm: str) -> tuple[Path, Path]:
    """A helm executable that appends its arguments to a log, then runs the real helm: the
    operator runs it like helm, and a test can count what it ran."""
    log = workdir / "helm-runs.log"
    wrapper = workdir / "helm"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{helm}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def start_operator(
    credentials: Kubectl,
    namespaces: list[str],
    workdir: Path,
    helm_version: int = 4,
    env: Mapping[str, str] | None = None,
    settings: dict[str, str] | None = None,
    pod_namespace: str | None = None,
) -> OperatorProcess:
    """The operator as its own process, with `credentials`' kubeconfig, watching `namespaces`.
    `env`, when given, is the environment its Deployment sets (SR_OPERATOR_NAMESPACES and
    RELATED_IMAGE_* among it), over the process's own: the harness keeps choosing the helm
    binary, the chart, the ports and the timer. `settings` adds or overrides SR_OPERATOR_*
    variables last. `pod_namespace` is the namespace its pod would run in: a pod reads it from
    its ServiceAccount's files, which a process does not have, so it is given as the
    Lease's namespace (leader election)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    helm, helm_log = helm_recorder(workdir, helm_binary(helm_version))
    environment = {
        **credentials.env,
        "SR_OPERATOR_NAMESPACES": ",".join(namespaces),
        **(env or {}),
        "SR_OPERATOR_HELM_BINARY": str(helm),
        "SR_OPERATOR_CHART_PATH": str(CHART),
        "SR_OPERATOR_METRICS_PORT": "0",
        "SR_OPERATOR_LIVENESS_ENDPOINT": health,
        "SR_OPERATOR_TIMER_INTERVAL": "10",
        "HELM_CACHE_HOME": str(workdir / "helm-cache"),
        "HELM_CONFIG_HOME": str(workdir / "helm-config"),
        "HELM_DATA_HOME": str(workdir / "helm-data"),
        **({"SR_OPERATOR_LEASE_NAMESPACE": pod_namespace} if pod_namespace else {}),
        **(settings or {}),
    }
    command = Path(sys.executable).parent / "semantic-router-operator"
    log_path = workdir / "operator.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(command), "run"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = OperatorProcess(proc, log_path, helm_log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"the operator exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
            )
        return _healthy(health)

    try:
        wait_for(f"the operator's liveness endpoint {health}", ready, timeout=120, every=0.5)
    except BaseException:
        running.stop()
        raise
    return running


def delete_routers(kubectl: Kubectl, namespace: str) -> None:
    """Delete the SemanticRouters of `namespace` while their operator still runs, so that its
    finalizer uninstalls each release (else the namespace and the CRD would wait for it forever)."""
    kubectl.run("delete", "semanticrouters", "--all", "-n", namespace, "--wait=false", check=False)

    def none_left() -> bool:
        if not served(kubectl, CRD_NAME):  # no CRD, no router
            return True
        return not kubectl.json("get", "semanticrouters", "-n", namespace)["items"]

    # A router left behind would hold its finalizer with no operator to lift it, and a later
    # test would time out far from the cause: fail here instead.
    wait_for(f"every SemanticRouter of {namespace} uninstalled", none_left, 300, every=1)
