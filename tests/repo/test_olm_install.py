"""What OLM would create from the bundle's ClusterServiceVersion (scripts/olm_install.py), for
an OwnNamespace and an AllNamespaces install: the operator gets its namespaced rules only
where it watches (cluster-wide only for AllNamespaces), its cluster-scoped reads everywhere,
and its Deployment watches exactly the OperatorGroup's namespaces. Every object is one
Kubernetes accepts.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml
from semantic_router_operator import settings

from scripts import bundle, olm_install
from tests.chart.validators import KUBERNETES_VERSIONS, validate_kubernetes

NS = "sr-operators"


@functools.cache
def csv() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((bundle.BUNDLE / bundle.CSV_FILE).read_text())
    return data


def install(mode: str, targets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return olm_install.install_objects(csv(), mode, NS, targets)


def of(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def rules(name: str) -> list[dict[str, Any]]:
    (permission,) = csv()["spec"]["install"]["spec"][name]
    result: list[dict[str, Any]] = permission["rules"]
    return result


def grants(objs: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(binding kind, namespace or "") -> the rules bound there to the operator's account."""
    roles = {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs
    }
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for binding in of(objs, "RoleBinding") + of(objs, "ClusterRoleBinding"):
        namespace = binding["metadata"].get("namespace", "")
        ref = binding["roleRef"]
        role = roles[(ref["kind"], namespace if ref["kind"] == "Role" else "", ref["name"])]
        assert binding["subjects"] == [
            {
                "kind": "ServiceAccount",
                "name": "semantic-router-operator-controller-manager",
                "namespace": NS,
            }
        ]
        out.setdefault((binding["kind"], namespace), []).extend(role["rules"])
    return out


def watched(objs: list[dict[str, Any]]) -> tuple[str, ...]:
    """The namespaces the operator watches, read as it reads them (SR_OPERATOR_NAMESPACES
    from the pod annotation olm.targetNamespaces)."""
    (deployment,) = of(objs, "Deployment")
    annotation = deployment["spec"]["template"]["metadata"]["annotations"]["olm.targetNamespaces"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (env,) = [e for e in container["env"] if e["name"] == "SR_OPERATOR_NAMESPACES"]
    assert (
        env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.annotations['olm.targetNamespaces']"
    )
    return settings.from_env({"SR_OPERATOR_NAMESPACES": annotation}).namespaces


def test_own_namespace_grants_the_namespaced_rules_in_the_operator_namespace_only() -> None:
    objs = install("OwnNamespace")
    assert grants(objs) == {
        ("RoleBinding", NS): rules("permissions"),
        ("ClusterRoleBinding", ""): rules("clusterPermissions"),
    }
    assert watched(objs) == (NS,)


def test_all_namespaces_grants_the_namespaced_rules_cluster_wide_plus_namespace_reads() -> None:
    objs = install("AllNamespaces")
    cluster = grants(objs)[("ClusterRoleBinding", "")]
    assert cluster == [
        *rules("permissions"),
        olm_install.NAMESPACE_VIEW,
        *rules("clusterPermissions"),
    ]
    assert grants(objs)[("RoleBinding", NS)] == rules("permissions")
    assert watched(objs) == ()


def test_multi_namespace_copies_the_namespaced_rules_into_each_target() -> None:
    objs = install("MultiNamespace", ("team-a", "team-b"))
    assert set(grants(objs)) == {
        ("RoleBinding", NS),
        ("RoleBinding", "team-a"),
        ("RoleBinding", "team-b"),
        ("ClusterRoleBinding", ""),
    }
    assert watched(objs) == ("team-a", "team-b")


@pytest.mark.parametrize("mode", ["OwnNamespace", "AllNamespaces"])
def test_no_install_mode_grants_secrets_cluster_wide_except_all_namespaces(mode: str) -> None:
    cluster = grants(install(mode))[("ClusterRoleBinding", "")]
    secrets = [r for r in cluster if "secrets" in r["resources"]]
    assert bool(secrets) == (mode == "AllNamespaces")


def test_the_deployment_is_the_csv_deployment_in_the_operator_namespace() -> None:
    (deployment,) = of(install("OwnNamespace"), "Deployment")
    (entry,) = csv()["spec"]["install"]["spec"]["deployments"]
    assert deployment["metadata"]["namespace"] == NS
    assert deployment["metadata"]["name"] == entry["name"]
    assert deployment["spec"]["template"]["spec"] == entry["spec"]["template"]["spec"]
    (account,) = of(install("OwnNamespace"), "ServiceAccount")
    assert account["metadata"]["name"] == entry["spec"]["template"]["spec"]["serviceAccountName"]


@pytest.mark.parametrize(
    ("mode", "targets", "message"),
    [
        ("SingleNamespace", (), "SingleNamespace needs one target namespace"),
        ("MultiNamespace", (), "MultiNamespace needs target namespaces"),
        ("Cluster", (), "install mode 'Cluster' is not one of"),
    ],
)
def test_an_install_mode_without_its_targets_is_refused(
    mode: str, targets: tuple[str, ...], message: str
) -> None:
    with pytest.raises(olm_install.InstallError, match=message):
        olm_install.target_namespaces(mode, NS, targets)


def test_an_install_mode_the_csv_does_not_support_is_refused() -> None:
    narrowed = {
        **csv(),
        "spec": {**csv()["spec"], "installModes": [{"type": "OwnNamespace", "supported": True}]},
    }
    with pytest.raises(
        olm_install.InstallError, match="does not support install mode AllNamespaces"
    ):
        olm_install.install_objects(narrowed, "AllNamespaces", NS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("mode", ["OwnNamespace", "AllNamespaces"])
def test_every_object_olm_would_create_is_valid_on_kubernetes(mode: str, version: str) -> None:
    validate_kubernetes(install(mode), version)
