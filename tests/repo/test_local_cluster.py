"""The local control plane's decisions, offline: command lines, bootstrap objects, kubeconfig,
the pinned tools modules and the build script's cache lookup. The control plane itself runs in
the e2e tier."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts import local_cluster
from scripts.local_cluster import Layout, Ports

ROOT = Path(__file__).resolve().parents[2]
TOOL = r"^\s*(?:tool )?([\w./-]+/cmd/[\w-]+|go\.etcd\.io/etcd/server/v3)$"
REPLACE = r"^(?:replace)?\s*(k8s\.io/[\w-]+) => (k8s\.io/[\w-]+) (v\S+)$"
PORTS = Ports(2379, 2380, 6443, 10257, 10259, 10247)


@pytest.fixture
def argv(tmp_path: Path) -> dict[str, list[str]]:
    return local_cluster.commands(tmp_path / "bin", Layout(tmp_path / "state"), PORTS)


def flags(command: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix("--").split("=", 1) for arg in command[1:] if "=" in arg)


def test_every_component_starts_in_order_from_the_built_binaries(
    argv: dict[str, list[str]], tmp_path: Path
) -> None:
    assert list(argv) == list(local_cluster.COMPONENTS)
    for name, command in argv.items():
        assert command[0] == str(tmp_path / "bin" / name)


def test_every_component_listens_on_loopback_only(argv: dict[str, list[str]]) -> None:
    addresses = [
        value
        for command in argv.values()
        for key, value in flags(command).items()
        if key.endswith(("address", "urls")) and value
    ]
    assert addresses
    for value in addresses:
        for url in value.split(","):
            assert "127.0.0.1" in url, url
    assert "0.0.0.0" not in json.dumps(argv)


def test_the_api_server_serves_tls_authorizes_with_rbac_and_issues_service_account_tokens(
    argv: dict[str, list[str]], tmp_path: Path
) -> None:
    api = flags(argv["kube-apiserver"])
    pki = tmp_path / "state" / "pki"
    assert api["authorization-mode"] == "RBAC"
    assert api["tls-cert-file"] == str(pki / "apiserver.crt")
    assert api["client-ca-file"] == str(pki / "ca.crt")
    assert api["service-account-signing-key-file"] == str(pki / "sa.key")
    assert api["service-account-key-file"] == str(pki / "sa.pub")
    assert api["secure-port"] == "6443"
    assert api["etcd-servers"] == "http://127.0.0.1:2379"
    controllers = flags(argv["kube-controller-manager"])
    assert controllers["service-account-private-key-file"] == str(pki / "sa.key")
    assert controllers["root-ca-file"] == str(pki / "ca.crt")


def test_kwok_manages_only_the_annotated_fake_nodes_with_the_module_stages(
    argv: dict[str, list[str]], tmp_path: Path
) -> None:
    kwok = flags(argv["kwok"])
    assert kwok["manage-all-nodes"] == "false"
    assert kwok["manage-nodes-with-annotation-selector"] == "kwok.x-k8s.io/node=fake"
    assert kwok["config"] == str(tmp_path / "bin" / "kwok-stages.yaml")
    nodes = [o for o in local_cluster.bootstrap_objects() if o["kind"] == "Node"]
    assert len(nodes) >= 2
    for node in nodes:
        assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        assert "taints" not in node.get("spec", {})


def test_claims_bind_to_volumes_behind_the_default_storage_class() -> None:
    objs = local_cluster.bootstrap_objects()
    (storage_class,) = [o for o in objs if o["kind"] == "StorageClass"]
    default = "storageclass.kubernetes.io/is-default-class"
    assert storage_class["metadata"]["annotations"][default] == "true"
    assert storage_class["volumeBindingMode"] == "Immediate"
    volumes = [o for o in objs if o["kind"] == "PersistentVolume"]
    assert len(volumes) >= 16
    assert {v["spec"]["storageClassName"] for v in volumes} == {storage_class["metadata"]["name"]}
    assert len({v["metadata"]["name"] for v in volumes}) == len(volumes)


def test_the_kubeconfig_names_the_server_and_its_ca_with_the_client_credential() -> None:
    text = local_cluster.kubeconfig(
        "https://127.0.0.1:6443", "CA PEM", {"cert": "CERT", "key": "KEY"}
    )
    config = yaml.safe_load(text)
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert cluster["certificate-authority-data"] == "Q0EgUEVN"  # base64 of "CA PEM"
    user = config["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}
    assert config["current-context"] == config["contexts"][0]["name"]


def test_down_on_a_state_that_never_ran_changes_nothing_else(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "pids.json").write_text(json.dumps({"etcd": 2**22 + 12345}))
    local_cluster.down(state)
    assert not state.exists()
    assert not local_cluster.healthy(Layout(state))


def test_status_of_a_stopped_cluster_exits_1(tmp_path: Path) -> None:
    assert local_cluster.main(["status", "--state", str(tmp_path / "none")]) == 1


def test_the_kubernetes_tools_module_pins_every_staging_module_to_the_matching_version() -> None:
    go_mod = (ROOT / "tools" / "kubernetes" / "go.mod").read_text()
    (version,) = re.findall(r"^require k8s\.io/kubernetes (v1\.\d+\.\d+)", go_mod, re.M)
    staging = "v0." + version.removeprefix("v1.")
    replaces = re.findall(REPLACE, go_mod, re.M)
    assert len(replaces) >= 30
    for module, target, pinned in replaces:
        assert module == target
        assert pinned == staging, (module, pinned)
    for needed in ("k8s.io/api", "k8s.io/apiserver", "k8s.io/client-go", "k8s.io/component-base"):
        assert needed in {m for m, _, _ in replaces}


def test_the_tools_modules_build_the_control_plane_components() -> None:
    tools = {
        path.parent.name: re.findall(TOOL, path.read_text(), re.M)
        for path in (ROOT / "tools").glob("*/go.mod")
    }
    assert sorted(tools["kubernetes"]) == [
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
    ]
    assert tools["etcd"] == ["go.etcd.io/etcd/server/v3"]
    assert tools["kwok"] == ["sigs.k8s.io/kwok/cmd/kwok"]


def test_the_build_script_reports_an_empty_cache_as_not_built(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "build-control-plane.sh"), "--print"],
        env={"PATH": "/usr/local/go/bin:/usr/bin:/bin", "CONTROL_PLANE_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []
