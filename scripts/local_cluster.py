"""A local Kubernetes control plane on loopback, for development and the end-to-end tier.

    python -m scripts.local_cluster up [--state .cluster]      start it (idempotent), print the
                                                               `export KUBECONFIG=...` line
    python -m scripts.local_cluster down [--state .cluster]   stop what it started, remove its state
    python -m scripts.local_cluster status [--state .cluster]  exit 0 when it answers

What runs, each a process of this machine listening on 127.0.0.1 only: etcd; kube-apiserver
(TLS, RBAC authorization, a client-certificate admin credential, ServiceAccount tokens);
kube-controller-manager (ReplicaSets, pods, garbage collection, namespace deletion, ServiceAccount
tokens, PersistentVolume binding); kube-scheduler; kwok, which plays the kubelet of two fake
nodes so that scheduled pods become Running and Ready without a container runtime (no container
runs: probes are not executed, images are not pulled). PersistentVolumeClaims bind to
PersistentVolumes created here behind the default StorageClass ``standard``.

The binaries come from scripts/build-control-plane.sh (built from tools/, cached by version);
kubectl is the one `make dev` installs into the virtualenv.
The state directory holds the certificates, etcd's data, one log per process, the pids and the
admin kubeconfig (``<state>/kubeconfig``). `down` signals only the pids written there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import deploy_manifests

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE = ROOT / ".cluster"
BUILD_SCRIPT = ROOT / "scripts" / "build-control-plane.sh"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_ISSUER = "https://kubernetes.default.svc.cluster.local"
NODES = ("kwok-node-1", "kwok-node-2")
PERSISTENT_VOLUMES = 64
PERSISTENT_VOLUME_SIZE = "100Gi"
STORAGE_CLASS = "standard"
START_TIMEOUT = 120.0
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


class ClusterError(Exception):
    """The control plane could not be started; the message says which part and where its log is."""


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one control plane."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @staticmethod
    def free() -> Ports:
        sockets = [socket.socket() for _ in range(6)]
        try:
            for sock in sockets:
                sock.bind(("127.0.0.1", 0))
            return Ports(*(sock.getsockname()[1] for sock in sockets))
        finally:
            for sock in sockets:
                sock.close()


@dataclass(frozen=True)
class Layout:
    """Where each file of a control plane's state lives."""

    state: Path

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def pids(self) -> Path:
        return self.state / "pids.json"

    @property
    def ports(self) -> Path:
        return self.state / "ports.json"

    def log(self, component: str) -> Path:
        return self.state / "logs" / f"{component}.log"

    def pem(self, name: str) -> Path:
        return self.pki / name


def commands(bin_dir: Path, layout: Layout, ports: Ports) -> dict[str, list[str]]:
    """The command line of each component, in start order (a pure function of its inputs)."""
    pki = layout.pem
    kubeconfig = str(layout.kubeconfig)
    etcd_url = f"http://127.0.0.1:{ports.etcd_client}"
    return {
        "etcd": [
            str(bin_dir / "etcd"),
            f"--data-dir={layout.state / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{ports.etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{ports.etcd_peer}",
            f"--initial-cluster=default=http://127.0.0.1:{ports.etcd_peer}",
            "--listen-metrics-urls=",
            # A throwaway store: fsync buys nothing here and costs seconds per test run.
            "--unsafe-no-fsync",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ],
        "kube-apiserver": [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # Loopback cannot back the `kubernetes` Service's endpoints; nothing in the cluster
            # calls the API server through it (the operator runs outside, as the tests do).
            "--endpoint-reconciler-type=none",
            f"--secure-port={ports.apiserver}",
            f"--tls-cert-file={pki('apiserver.crt')}",
            f"--tls-private-key-file={pki('apiserver.key')}",
            f"--client-ca-file={pki('ca.crt')}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={SERVICE_ISSUER}",
            f"--service-account-key-file={pki('sa.pub')}",
            f"--service-account-signing-key-file={pki('sa.key')}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=0",
        ],
        "kube-controller-manager": [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.controller_manager}",
            f"--cert-dir={layout.state / 'controller-manager'}",
            f"--service-account-private-key-file={pki('sa.key')}",
            f"--root-ca-file={pki('ca.crt')}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--profiling=false",
            "--v=0",
        ],
        "kube-scheduler": [
            str(bin_dir / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.scheduler}",
            f"--cert-dir={layout.state / 'scheduler'}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=0",
        ],
        "kwok": [
            str(bin_dir / "kwok"),
            f"--kubeconfig={kubeconfig}",
            f"--config={bin_dir / 'kwok-stages.yaml'}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
            "--server-address=127.0.0.1:" + str(ports.kwok),
        ],
    }


def kubeconfig(server: str, ca_pem: str, user: Mapping[str, str], name: str = "local") -> str:
    """A kubeconfig (JSON, which is YAML) for one server and one credential."""
    import base64

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    credential = {
        (
            "client-certificate-data"
            if key == "cert"
            else "client-key-data"
            if key == "key"
            else key
        ): (b64(value) if key in ("cert", "key") else value)
        for key, value in user.items()
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}
        ],
        "users": [{"name": name, "user": credential}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return json.dumps(config, indent=2) + "\n"


def bootstrap_objects() -> list[dict[str, Any]]:
    """What the cluster holds before anyone uses it: the fake nodes, the default StorageClass and
    the PersistentVolumes claims bind to."""
    nodes: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            },
        }
        for name in NODES
    ]
    storage_class: dict[str, Any] = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain",
    }
    volumes: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"local-pv-{i:02d}"},
            "spec": {
                "capacity": {"storage": PERSISTENT_VOLUME_SIZE},
                "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": STORAGE_CLASS,
                "hostPath": {"path": f"/tmp/local-pv-{i:02d}"},
            },
        }
        for i in range(PERSISTENT_VOLUMES)
    ]
    return [*nodes, storage_class, *volumes]


# --- I/O below -----------------------------------------------------------------------------


def _openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def make_pki(layout: Layout) -> None:
    """A CA, the API server's serving certificate, an admin client certificate (system:masters)
    and the ServiceAccount token signing key, once per state directory."""
    pki = layout.pki
    if (pki / "done").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    p = layout.pem
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(p("ca.key")))
    _openssl(
        "req", "-x509", "-new", "-key", str(p("ca.key")), "-subj", "/CN=local-cluster-ca",
        "-days", "3650", "-out", str(p("ca.crt")),
    )  # fmt: skip
    sans = (
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    )
    for name, subject, extensions in (
        ("apiserver", "/CN=kube-apiserver", [sans, "extendedKeyUsage=serverAuth"]),
        ("admin", "/O=system:masters/CN=local-admin", ["extendedKeyUsage=clientAuth"]),
    ):
        _openssl(
            "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(p(f"{name}.key"))
        )
        ext_args = [arg for ext in extensions for arg in ("-addext", ext)]
        _openssl(
            "req", "-new", "-key", str(p(f"{name}.key")), "-subj", subject,
            "-out", str(p(f"{name}.csr")), *ext_args,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(p(f"{name}.csr")), "-CA", str(p("ca.crt")),
            "-CAkey", str(p("ca.key")), "-CAcreateserial", "-days", "3650",
            "-copy_extensions", "copyall", "-out", str(p(f"{name}.crt")),
        )  # fmt: skip
    _openssl("genrsa", "-out", str(p("sa.key")), "2048")
    _openssl("rsa", "-in", str(p("sa.key")), "-pubout", "-out", str(p("sa.pub")))
    (pki / "done").write_text("")


def _alive(pid: int) -> bool:
    _reap(pid)  # a child of this process that exited is a zombie until reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def _ssl_context(layout: Layout) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(layout.pem("ca.crt")))
    context.load_cert_chain(str(layout.pem("admin.crt")), str(layout.pem("admin.key")))
    return context


def _get(layout: Layout, port: int, path: str) -> tuple[int, str]:
    url = f"https://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, context=_ssl_context(layout), timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)


def healthy(layout: Layout) -> bool:
    """Every process it started is alive and the API server says it is ready."""
    pids = _read_json(layout.pids)
    ports = _read_json(layout.ports)
    if set(pids) != set(COMPONENTS) or not all(_alive(int(pid)) for pid in pids.values()):
        return False
    return _get(layout, int(ports.get("apiserver", 0)), "/readyz")[0] == 200


def _start(name: str, argv: Sequence[str], layout: Layout) -> int:
    layout.log(name).parent.mkdir(parents=True, exist_ok=True)
    with layout.log(name).open("ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=layout.state,
        )
    pids = _read_json(layout.pids)
    pids[name] = proc.pid
    layout.pids.write_text(json.dumps(pids))
    return proc.pid


def _wait(what: str, layout: Layout, component: str, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pid = int(_read_json(layout.pids)[component])
    while time.monotonic() < deadline:
        if check():
            return
        if not _alive(pid):
            tail = layout.log(component).read_text(errors="replace")[-3000:]
            raise ClusterError(f"{component} exited while waiting for {what}:\n{tail}")
        time.sleep(0.25)
    raise ClusterError(
        f"timed out after {timeout:g}s waiting for {what}; see {layout.log(component)}"
    )


def _kubectl(bin_dir: Path, layout: Layout, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [deploy_manifests.kubectl(), f"--kubeconfig={layout.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def binaries() -> Path:
    """The directory of the built binaries (built now when missing)."""
    proc = subprocess.run([str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"{BUILD_SCRIPT.name} failed (exit {proc.returncode})")
    return Path(proc.stdout.strip().splitlines()[-1])


def up(state: Path, bin_dir: Path | None = None) -> Layout:
    """Start the control plane in `state`, or leave a healthy one running."""
    layout = Layout(state.resolve())
    if healthy(layout):
        return layout
    down(state)
    bin_dir = bin_dir or binaries()
    layout.state.mkdir(parents=True, exist_ok=True)
    (layout.state / ".gitignore").write_text("*\n")
    make_pki(layout)
    ports = Ports.free()
    layout.ports.write_text(json.dumps(ports.__dict__))
    server = f"https://127.0.0.1:{ports.apiserver}"
    pem = layout.pem
    layout.kubeconfig.write_text(
        kubeconfig(
            server,
            pem("ca.crt").read_text(),
            {"cert": pem("admin.crt").read_text(), "key": pem("admin.key").read_text()},
        )
    )
    layout.kubeconfig.chmod(0o600)
    argv = commands(bin_dir, layout, ports)
    try:
        _start("etcd", argv["etcd"], layout)
        _start("kube-apiserver", argv["kube-apiserver"], layout)
        _wait(
            "the API server to be ready",
            layout,
            "kube-apiserver",
            lambda: _get(layout, ports.apiserver, "/readyz")[0] == 200,
            START_TIMEOUT,
        )
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            _start(name, argv[name], layout)
        objects = {"apiVersion": "v1", "kind": "List", "items": bootstrap_objects()}
        _kubectl(bin_dir, layout, "apply", "--server-side", "-f", "-", stdin=json.dumps(objects))
        _wait(
            "the default ServiceAccount and the nodes to be Ready",
            layout,
            "kube-controller-manager",
            lambda: _ready(bin_dir, layout),
            START_TIMEOUT,
        )
    except BaseException:
        down(state, remove=False)
        raise
    return layout


def _ready(bin_dir: Path, layout: Layout) -> bool:
    try:
        _kubectl(bin_dir, layout, "get", "serviceaccount", "default", "-n", "default")
        nodes = json.loads(_kubectl(bin_dir, layout, "get", "nodes", "-o", "json"))["items"]
    except ClusterError:
        return False
    ready = [
        n
        for n in nodes
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (n.get("status") or {}).get("conditions") or []
        )
    ]
    return len(ready) >= len(NODES)


def down(state: Path, remove: bool = True) -> None:
    """Stop the processes started in `state` (by their pids, newest first) and remove the state."""
    layout = Layout(state.resolve())
    pids = _read_json(layout.pids)
    for name in reversed(COMPONENTS):
        pid = pids.get(name)
        if pid and _alive(int(pid)):
            os.kill(int(pid), signal.SIGTERM)
    deadline = time.monotonic() + 20
    for name in reversed(COMPONENTS):
        pid = pids.get(name)
        while pid and _alive(int(pid)) and time.monotonic() < deadline:
            _reap(int(pid))
            time.sleep(0.1)
        if pid and _alive(int(pid)):
            os.kill(int(pid), signal.SIGKILL)
            _reap(int(pid))
    if layout.pids.exists():
        layout.pids.unlink()
    if remove and layout.state.exists():
        import shutil

        shutil.rmtree(layout.state)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local_cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE)
    args = parser.parse_args(argv)
    if args.action == "down":
        down(args.state)
        print(f"local cluster in {args.state} stopped")
        return 0
    layout = Layout(args.state.resolve())
    if args.action == "status":
        ok = healthy(layout)
        print(f"local cluster in {args.state}: {'running' if ok else 'not running'}")
        return 0 if ok else 1
    start = time.monotonic()
    try:
        up(args.state)
    except ClusterError as error:
        print(f"local_cluster up: {error}", file=sys.stderr)
        return 1
    print(f"local cluster ready in {time.monotonic() - start:.1f}s (logs: {layout.state / 'logs'})")
    print(f"export KUBECONFIG={layout.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
