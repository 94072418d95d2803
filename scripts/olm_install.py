#!/usr/bin/env python3
"""The objects OLM creates from the bundle's ClusterServiceVersion for one install, as data
(pure): what a test cluster without OLM applies to run the operator the way OLM would.

Read from operator-framework/operator-lifecycle-manager (the install plan's RBAC steps, and
pkg/controller/operators/olm/operatorgroup.go: ensureRBACInTargetNamespace,
ensureSingletonRBAC, ensureTenantRBAC) and operator-framework/api (operatorgroup_types.go):

- a ServiceAccount per `serviceAccountName`, in the operator's namespace;
- `permissions`: a Role and RoleBinding in the operator's namespace; copied into every other
  target namespace; for AllNamespaces instead turned into a ClusterRole (plus get/list/watch
  on Namespaces, which OLM adds) and ClusterRoleBinding;
- `clusterPermissions`: a ClusterRole and ClusterRoleBinding, in every install mode;
- each Deployment in the operator's namespace, its pod template annotated with
  olm.operatorGroup, olm.operatorNamespace and olm.targetNamespaces (comma-separated; empty
  for AllNamespaces).

Object names are this module's own (OLM generates others); what is granted to whom, and where,
is OLM's. Not modelled: the CRD, owner references, CSV annotations copied onto the pods, and
the proxy environment OLM injects on OpenShift.

Usage:
  scripts/olm_install.py --mode OwnNamespace|SingleNamespace|MultiNamespace|AllNamespaces
                         [--namespace NS] [--targets a,b]    print the objects as YAML
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import bundle

MODES = ("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces")
OPERATOR_GROUP = "semantic-router-operator"
RBAC = "rbac.authorization.k8s.io"
# What OLM adds to the ClusterRole it makes of `permissions` for AllNamespaces.
NAMESPACE_VIEW = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}


class InstallError(ValueError):
    """The install mode or its target namespaces do not fit the ClusterServiceVersion."""


def target_namespaces(mode: str, operator_namespace: str, targets: Sequence[str]) -> list[str]:
    """The OperatorGroup's target namespaces for `mode` ([""] means all namespaces)."""
    if mode == "OwnNamespace":
        return [operator_namespace]
    if mode == "AllNamespaces":
        return [""]
    if mode == "SingleNamespace" and len(targets) == 1:
        return list(targets)
    if mode == "MultiNamespace" and targets:
        return list(dict.fromkeys(targets))
    if mode in MODES:
        count = "one target namespace" if mode == "SingleNamespace" else "target namespaces"
        raise InstallError(f"{mode} needs {count}, got {list(targets)}")
    raise InstallError(f"install mode {mode!r} is not one of {', '.join(MODES)}")


def _name(csv_name: str, account: str, kind: str, index: int) -> str:
    digest = hashlib.sha256(f"{csv_name}/{account}/{kind}/{index}".encode()).hexdigest()[:8]
    return f"{csv_name.split('.v')[0][:54]}-{digest}"


def _subject(account: str, namespace: str) -> list[dict[str, str]]:
    return [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]


def _role_pair(
    kind: str, name: str, namespace: str, rules: Any, account: str, home: str
) -> list[dict[str, Any]]:
    meta: dict[str, Any] = {"name": name} | ({"namespace": namespace} if namespace else {})
    binding_kind = "RoleBinding" if kind == "Role" else "ClusterRoleBinding"
    return [
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": kind,
            "metadata": dict(meta),
            "rules": copy.deepcopy(rules),
        },
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": binding_kind,
            "metadata": dict(meta),
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": name},
            "subjects": _subject(account, home),
        },
    ]


def install_objects(
    csv: Mapping[str, Any], mode: str, operator_namespace: str, targets: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The ServiceAccounts, RBAC and Deployments OLM creates for this CSV and install mode."""
    supported = {m["type"] for m in csv["spec"]["installModes"] if m["supported"]}
    if mode not in supported:
        raise InstallError(f"the CSV does not support install mode {mode}")
    namespaces = target_namespaces(mode, operator_namespace, targets)
    every = namespaces == [""]
    strategy = csv["spec"]["install"]["spec"]
    csv_name = csv["metadata"]["name"]
    accounts = [p["serviceAccountName"] for p in strategy.get("permissions", [])]
    accounts += [p["serviceAccountName"] for p in strategy.get("clusterPermissions", [])]
    accounts += [
        d["spec"]["template"]["spec"].get("serviceAccountName", "default")
        for d in strategy["deployments"]
    ]
    objs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": a, "namespace": operator_namespace},
        }
        for a in dict.fromkeys(accounts)
        if a != "default"
    ]
    for i, permission in enumerate(strategy.get("permissions", [])):
        account, rules = permission["serviceAccountName"], permission["rules"]
        name = _name(csv_name, account, "Role", i)
        objs += _role_pair("Role", name, operator_namespace, rules, account, operator_namespace)
        if every:
            objs += _role_pair(
                "ClusterRole", name, "", [*rules, NAMESPACE_VIEW], account, operator_namespace
            )
            continue
        for namespace in namespaces:
            if namespace != operator_namespace:
                objs += _role_pair("Role", name, namespace, rules, account, operator_namespace)
    for i, permission in enumerate(strategy.get("clusterPermissions", [])):
        account = permission["serviceAccountName"]
        name = _name(csv_name, account, "ClusterRole", i)
        objs += _role_pair(
            "ClusterRole", name, "", permission["rules"], account, operator_namespace
        )
    for entry in strategy["deployments"]:
        spec = copy.deepcopy(entry["spec"])
        template_meta = spec["template"].setdefault("metadata", {})
        template_meta["annotations"] = {
            **template_meta.get("annotations", {}),
            "olm.operatorGroup": OPERATOR_GROUP,
            "olm.operatorNamespace": operator_namespace,
            "olm.targetNamespaces": ",".join(namespaces),
        }
        objs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": entry["name"],
                    "namespace": operator_namespace,
                    "labels": dict(entry.get("label", {})),
                },
                "spec": spec,
            }
        )
    return objs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--namespace", default=bundle.SUGGESTED_NAMESPACE)
    parser.add_argument("--targets", default="", help="comma-separated target namespaces")
    args = parser.parse_args(argv)
    csv = yaml.safe_load((bundle.BUNDLE / bundle.CSV_FILE).read_text())
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    try:
        objs = install_objects(csv, args.mode, args.namespace, targets)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
