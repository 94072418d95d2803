"""The chart alone, without the operator: every ci/*.yaml values file is installed into the real
API server with Helm 4 (server-side apply) and with Helm 3, waits for its Deployment to be
ready, and is uninstalled leaving nothing labelled with its instance.

Values files whose chart renders kinds of other projects (Route, ServiceMonitor, and in gateway
mode HTTPRoute, BackendTLSPolicy, EnvoyExtensionPolicy, ClientTrafficPolicy, EnvoyFilter) need
those APIs: tests/e2e/apis.py installs the projects' own CRDs for this module when the cluster
lacks them, and removes them after, so the real API server (CEL rules included) admits what
the chart renders."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import apis
from tests.e2e.apis import missing_apis
from tests.support.helm import CHART, CI_VALUES, helm_binary, render
from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import new_namespace

TIMEOUT = 120.0
CREATED: list[tuple[str, str]] = []  # cluster-scoped prerequisites this module created
LEFT_OVER = "deployments,replicasets,pods,services,configmaps,serviceaccounts,pvc,hpa,pdb,ingresses"


@pytest.fixture(scope="module")
def third_party_apis(kubectl: Kubectl) -> Iterator[set[str]]:
    kinds = {"HTTPRoute", "BackendTLSPolicy", "EnvoyExtensionPolicy", "ClientTrafficPolicy"}
    kinds |= {"EnvoyFilter", "Route", "ServiceMonitor"}
    with apis.installed(kubectl, kinds) as served:
        yield served


@pytest.fixture(scope="module")
def chart_namespace(kubectl: Kubectl, third_party_apis: set[str]) -> Iterator[str]:
    name = new_namespace(kubectl, "sr-e2e-chart")
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)
    for kind, created in CREATED:
        kubectl.run("delete", kind, created, "--ignore-not-found", "--wait=false", check=False)


def helm(kubectl: Kubectl, major: int, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **kubectl.env,
        "HELM_CACHE_HOME": str(tmp / "cache"),
        "HELM_CONFIG_HOME": str(tmp / "config"),
        "HELM_DATA_HOME": str(tmp / "data"),
    }
    return subprocess.run(
        [helm_binary(major), *args], capture_output=True, text=True, env=env, timeout=TIMEOUT + 60
    )


def existing_claim(kubectl: Kubectl, values: Path, namespace: str) -> None:
    """The PersistentVolumeClaim a values file names in `persistence.existingClaim`, created
    as its user would have (pods cannot be scheduled without it)."""
    claim = ((yaml.safe_load(values.read_text()) or {}).get("persistence") or {}).get(
        "existingClaim"
    )
    if claim and kubectl.get("pvc", claim, namespace) is None:
        kubectl.apply(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )


def gateway_namespace(kubectl: Kubectl, values: Path) -> None:
    """The namespace of the Gateway a values file names: the attachment (Istio's EnvoyFilter,
    Envoy Gateway's ClientTrafficPolicy) lives there, beside the Gateway its user runs."""
    ref = ((yaml.safe_load(values.read_text()) or {}).get("gateway") or {}).get("existingRef")
    namespace = (ref or {}).get("namespace")
    if namespace and kubectl.get("namespace", namespace) is None:
        CREATED.append(("namespace", namespace))
        kubectl.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def storage_class(kubectl: Kubectl, values: Path, release: str) -> None:
    """The StorageClass a values file names (gp3-csi on OpenShift on AWS, say) and a volume of
    it, where the cluster has none: what that platform's provisioner would have provided."""
    persistence = (yaml.safe_load(values.read_text()) or {}).get("persistence") or {}
    name = persistence.get("storageClassName")
    if not name or persistence.get("enabled") is False:
        return
    if kubectl.get("storageclass", name) is None:
        CREATED.append(("storageclass", name))
        kubectl.apply(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": name},
                "provisioner": "kubernetes.io/no-provisioner",
                "volumeBindingMode": "Immediate",
            }
        )
    if name == "standard":
        return
    CREATED.append(("persistentvolume", f"pv-{release}"))
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{release}"},
            "spec": {
                "capacity": {"storage": "100Gi"},
                "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": name,
                "hostPath": {"path": f"/tmp/pv-{release}"},
            },
        }
    )


def least_replicas(values: dict[str, Any]) -> int:
    """The replicas a values file asks for. With an autoscaler the chart leaves `replicas` out
    (so helm never fights the autoscaler): the Deployment starts at 1 and the real HPA
    controller raises it to `minReplicas` after helm's wait has already passed."""
    autoscaling = values.get("autoscaling") or {}
    if autoscaling.get("enabled"):
        return int(autoscaling.get("minReplicas", 1))
    return int(values.get("replicas", 1))


def serving(kubectl: Kubectl, ns: str, name: str, least: int) -> bool:
    """The Deployment wants at least `least` replicas and every replica it wants is ready."""
    deployment = kubectl.json("get", "deployment", name, "-n", ns)
    wanted = deployment["spec"].get("replicas", 1)
    return bool(wanted >= least and deployment["status"].get("readyReplicas") == wanted)


CASES = [(major, values) for major in (4, 3) for values in CI_VALUES]


@pytest.mark.parametrize(("major", "values"), CASES, ids=[f"helm{m}-{v.stem}" for m, v in CASES])
def test_every_ci_values_file_installs_and_uninstalls(
    kubectl: Kubectl,
    chart_namespace: str,
    third_party_apis: set[str],
    major: int,
    values: Path,
    tmp_path: Path,
) -> None:
    kinds = {o["kind"] for o in render([values])}
    missing = missing_apis(kinds, third_party_apis)
    assert not missing, f"{values.name} renders {sorted(missing)}, which the cluster does not serve"
    existing_claim(kubectl, values, chart_namespace)
    gateway_namespace(kubectl, values)
    release = f"ci{major}-{values.stem.removesuffix('-values')}-{uuid.uuid4().hex[:4]}"
    storage_class(kubectl, values, release)
    ns = chart_namespace
    wait = ["--wait=watcher", "--server-side=true"] if major == 4 else ["--wait"]
    installed = helm(
        kubectl, major, "install", release, str(CHART), "-n", ns, "-f", str(values),
        *wait, f"--timeout={int(TIMEOUT)}s", tmp=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    status = json.loads(
        helm(kubectl, major, "status", release, "-n", ns, "-o", "json", tmp=tmp_path).stdout
    )
    assert status["info"]["status"] == "deployed"
    selector = f"app.kubernetes.io/instance={release}"
    deployments = kubectl.json("get", "deployments", "-n", ns, "-l", selector)["items"]
    assert len(deployments) == 1
    name = deployments[0]["metadata"]["name"]
    least = least_replicas(yaml.safe_load(values.read_text()))
    wait_for(
        f"{least}+ ready replicas of {name}", lambda: serving(kubectl, ns, name, least), TIMEOUT
    )
    if "PersistentVolumeClaim" in kinds:

        def bound() -> bool:
            claims = kubectl.json("get", "pvc", "-n", ns, "-l", selector)["items"]
            return bool(claims) and all(c["status"]["phase"] == "Bound" for c in claims)

        wait_for(f"the claims of {release} Bound", bound, TIMEOUT)
    uninstalled = helm(kubectl, major, "uninstall", release, "-n", ns, "--wait", tmp=tmp_path)
    assert uninstalled.returncode == 0, uninstalled.stderr

    def gone() -> bool:
        return not kubectl.json("get", LEFT_OVER, "-n", ns, "-l", selector)["items"]

    wait_for(f"nothing left labelled {selector}", gone, TIMEOUT)
