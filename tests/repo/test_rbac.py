"""config/rbac grants the operator exactly what it needs: every kind the chart can render
(helm applies them), every read the operator's code makes, what kopf needs for the
SemanticRouter API, helm's release storage and Events. Nothing more, and no wildcard.
The namespaced rules (role.yaml) and the cluster-scoped reads (cluster_role.yaml) are apart,
so that a namespaced install (config/namespaced, OLM's `permissions`) grants the former
only in the watched namespaces.

The needs are derived from the real artefacts: the chart rendered by real helm with every
feature on, and the API paths written in the operator's source.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from semantic_router_operator import owned

from scripts import deploy_manifests
from tests.support import apis
from tests.support.helm import CHART, CI_VALUES, render

ROOT = Path(__file__).resolve().parents[2]
ROLE_FILE = ROOT / "config" / "rbac" / "role.yaml"
CLUSTER_ROLE_FILE = ROOT / "config" / "rbac" / "cluster_role.yaml"
ELECTION_ROLE_FILE = ROOT / "config" / "rbac" / "leader_election_role.yaml"
PACKAGE = ROOT / "operator" / "semantic_router_operator"
CRD_FILE = ROOT / "crds" / "vllm.ai_semanticrouters.yaml"

# Optional APIs the chart renders for when the cluster serves them.
API_VERSIONS = ("route.openshift.io/v1", "monitoring.coreos.com/v1", "gateway.networking.k8s.io/v1")

# What helm does with the objects of a release: read the live object, create, patch (Helm 3
# three-way merge, Helm 4 server-side apply), replace, delete, list and watch (--wait).
HELM_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})
# A kind the operator only reads: by name or by listing.
READ_VERBS = frozenset({"get", "list"})

Rule = tuple[str, str]  # (apiGroup, resource), e.g. ("apps", "deployments"), ("", "secrets")

# kopf's own needs for the SemanticRouter API, and Events.
KOPF_NEEDS: dict[Rule, frozenset[str]] = {
    ("vllm.ai", "semanticrouters"): frozenset({"get", "list", "watch", "patch", "update"}),
    ("vllm.ai", "semanticrouters/status"): frozenset({"get", "patch", "update"}),
    ("vllm.ai", "semanticrouters/finalizers"): frozenset({"update"}),
    # kopf notices CRDs that appear while it runs.
    ("apiextensions.k8s.io", "customresourcedefinitions"): frozenset({"list", "watch"}),
    ("", "events"): frozenset({"create", "patch"}),
}
# Leader election (leader.py): the Lease is read, created and renewed or taken over, never
# listed; a Role in the operator's namespace grants it (leader_election_role.yaml).
LEASE_NEEDS: dict[Rule, frozenset[str]] = {
    ("coordination.k8s.io", "leases"): frozenset({"get", "create", "update"})
}
# Asked of the API by every client without a rule (system:basic-user): not reads.
SELF_REVIEWS: Rule = ("authorization.k8s.io", "selfsubjectaccessreviews")
NOT_READS = {*LEASE_NEEDS, SELF_REVIEWS}
# The watches of the owned objects (watches.py): one list and watch per kind the chart
# renders (owned.KINDS), on collection paths built from the kind; and API discovery
# (/api/v1, /apis/<group>/<version>), which every authenticated client may read.
WATCH_VERBS = frozenset({"list", "watch"})
# Paths built from a kind or a group, not literal: owned.py (the owned kinds' collections),
# watches.py (API discovery).
BUILT_PATHS = {"owned.py", "watches.py"}
# helm's release storage: one Secret per revision in the release namespace.
HELM_STORAGE: dict[Rule, frozenset[str]] = {("", "secrets"): HELM_VERBS}
# OpenShift: setting a Route's spec.host needs the custom-host subresource.
ROUTE_CUSTOM_HOST: Rule = ("route.openshift.io", "routes/custom-host")
# Cluster-scoped resources among those the operator may touch (Kubernetes API reference:
# StorageClass and CustomResourceDefinition are not namespaced; every kind the chart renders,
# helm's Secrets, Events and the SemanticRouter CRD (scope Namespaced) are).
CLUSTER_SCOPED: frozenset[Rule] = frozenset(
    {("storage.k8s.io", "storageclasses"), ("apiextensions.k8s.io", "customresourcedefinitions")}
)


# --- the chart ---------------------------------------------------------------------------------


def guess_resource(kind: str) -> str:
    """The resource name of a built-in kind, as the API machinery derives it
    (lowercase; `...s` -> `...ses`, `...y` -> `...ies`, else `...s`)."""
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


@functools.cache
def crd_plurals() -> dict[tuple[str, str], str]:
    """(group, kind) -> plural, for the custom kinds the chart renders."""
    plurals = {}
    for crd in apis.crd_manifests():
        names = crd["spec"]["names"]
        plurals[(crd["spec"]["group"], names["kind"])] = names["plural"]
    return plurals


def rule_of(obj: Mapping[str, Any]) -> Rule:
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    group = api_version.rpartition("/")[0]
    return group, crd_plurals().get((group, kind)) or guess_resource(kind)


@functools.cache
def chart_renders() -> tuple[tuple[str, tuple[dict[str, Any], ...]], ...]:
    """Every CI values file rendered with every optional API served, plus everything-values
    in gateway mode (the HTTPRoute replaces the Envoy sidecar there)."""
    renders = []
    for values in CI_VALUES:
        objs = render([values], namespace="sr-system", api_versions=API_VERSIONS)
        renders.append((values.name, tuple(objs)))
    everything = CHART / "ci" / "everything-values.yaml"
    # An HTTPRoute routes only to Services: the external endpoint stays in standalone mode.
    endpoints = yaml.safe_load(everything.read_text())["vllmEndpoints"]
    in_cluster = [e for e in endpoints if e["name"] != "deepseek-external"]
    for implementation in ("envoy-gateway", "istio"):
        gateway = {
            "vllmEndpoints": in_cluster,
            "gateway": {
                "existingRef": {"name": "shared-gateway", "namespace": "gateways"},
                "implementation": implementation,
            },
            "managementApi": {
                "expose": True,
                "tokens": [{"secretKeyRef": {"name": "mgmt", "key": "token"}, "role": "admin"}],
            },
        }
        objs = render([everything], gateway, namespace="sr-system", api_versions=API_VERSIONS)
        renders.append((f"everything-values.yaml + gateway mode ({implementation})", tuple(objs)))
    return tuple(renders)


def rendered_objects() -> Iterator[dict[str, Any]]:
    for _, objs in chart_renders():
        yield from objs


def template_kinds() -> set[tuple[str, str]]:
    """(apiVersion, kind) of every resource template of the chart."""
    kinds: set[tuple[str, str]] = set()
    for path in sorted((CHART / "templates").glob("*.yaml")):
        text = path.read_text()
        versions = re.findall(r"^apiVersion:\s*(\S+)\s*$", text, re.MULTILINE)
        names = re.findall(r"^kind:\s*(\S+)\s*$", text, re.MULTILINE)
        assert len(versions) == len(names), f"{path.name}: apiVersion/kind lines do not pair up"
        kinds.update(zip(versions, names, strict=True))
    return kinds


# --- the operator's reads ----------------------------------------------------------------------

_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[a-z0-9.-]+)/(?P<version>v[a-z0-9]+))"
    r"(?:/namespaces/\{[^}]*\})?/(?P<resource>[a-z]+)(?P<name>/\{[^}]*\})?$"
)


def _template(node: ast.AST, constants: Mapping[str, str]) -> str | None:
    """A string literal as a template: f-string fields become `{...}`, except names of
    module-level string constants, which are resolved to their value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        elif isinstance(value, ast.FormattedValue):
            expr = value.value
            constant = constants.get(expr.id) if isinstance(expr, ast.Name) else None
            parts.append(constant if constant is not None else "{x}")
    return "".join(parts)


def api_reads() -> dict[Rule, set[str]]:
    """(apiGroup, resource) -> where it is read, from every API path in the operator source.

    The operator writes nothing through the API itself (helm does, and kopf for the
    SemanticRouter): every path it builds is a read."""
    reads: dict[Rule, set[str]] = {}
    trees = {path: ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}
    constants = {
        target.id: stmt.value.value
        for tree in trees.values()
        for stmt in tree.body
        if isinstance(stmt, ast.Assign | ast.AnnAssign)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
        for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
        if isinstance(target, ast.Name)
    }
    for path, tree in trees.items():
        # The pieces of an f-string are nodes too: only whole literals count.
        pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            if id(node) in pieces:
                continue
            template = _template(node, constants)
            if template is None or not template.startswith(("/api/", "/apis/")):
                continue
            if path.name in BUILT_PATHS and "{x}" in template.split("/")[2]:
                continue
            match = _PATH.match(template)
            assert match, f"{path.name}: cannot tell which resource {template!r} reads"
            group = "" if match["core"] else match["group"]
            where = f"{path.name}: {template}"
            reads.setdefault((group, match["resource"]), set()).add(where)
    return reads


# --- the role ----------------------------------------------------------------------------------


def rules_of(path: Path) -> list[dict[str, Any]]:
    role = yaml.safe_load(path.read_text())
    assert role["kind"] == ("Role" if path == ELECTION_ROLE_FILE else "ClusterRole")
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def role_rules() -> list[dict[str, Any]]:
    """Everything the operator is granted: the namespaced and the cluster-scoped rules, and
    the Lease of leader election."""
    return rules_of(ROLE_FILE) + rules_of(CLUSTER_ROLE_FILE) + rules_of(ELECTION_ROLE_FILE)


def granted(rules: Iterable[Mapping[str, Any]]) -> dict[Rule, frozenset[str]]:
    """(apiGroup, resource) -> verbs, merged over every rule."""
    out: dict[Rule, set[str]] = {}
    for rule in rules:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                out.setdefault((group, resource), set()).update(rule.get("verbs") or [])
    return {key: frozenset(verbs) for key, verbs in out.items()}


def needed() -> dict[Rule, frozenset[str]]:
    """Everything the operator needs, and why (see the module docstring)."""
    need: dict[Rule, set[str]] = {}

    def add(rule: Rule, verbs: Iterable[str]) -> None:
        need.setdefault(rule, set()).update(verbs)

    for obj in rendered_objects():
        add(rule_of(obj), HELM_VERBS)
        if obj["kind"] == "Route" and (obj.get("spec") or {}).get("host"):
            add(ROUTE_CUSTOM_HOST, {"create", "update"})
    for rule in api_reads():
        if rule not in NOT_READS:
            add(rule, READ_VERBS)
    for kind in owned.KINDS:
        add((kind.group, kind.plural), WATCH_VERBS)
    for rule, verbs in {**KOPF_NEEDS, **HELM_STORAGE, **LEASE_NEEDS}.items():
        add(rule, verbs)
    return {key: frozenset(verbs) for key, verbs in need.items()}


def missing(need: Mapping[Rule, frozenset[str]], have: Mapping[Rule, frozenset[str]]) -> list[str]:
    problems = []
    for (group, resource), verbs in sorted(need.items()):
        lacking = verbs - have.get((group, resource), frozenset())
        if lacking:
            problems.append(f"{group or 'core'}/{resource}: {sorted(lacking)}")
    return problems


# --- tests -------------------------------------------------------------------------------------


def test_the_renders_cover_every_resource_template_of_the_chart() -> None:
    rendered = {(o["apiVersion"], o["kind"]) for o in rendered_objects()}
    assert template_kinds() - rendered == set(), "a chart kind is never rendered by the tests"


@pytest.mark.parametrize("name", [name for name, _ in chart_renders()])
def test_every_kind_a_chart_render_holds_is_granted_the_verbs_helm_uses(name: str) -> None:
    (objs,) = [objs for n, objs in chart_renders() if n == name]
    need = {rule_of(o): HELM_VERBS for o in objs}
    assert missing(need, granted(role_rules())) == []


def test_a_route_with_a_hostname_may_be_created_on_openshift() -> None:
    hosts = [o for o in rendered_objects() if o["kind"] == "Route" and o["spec"].get("host")]
    assert hosts, "no render sets openshift.routes.hostname"
    assert granted(role_rules())[ROUTE_CUSTOM_HOST] >= {"create", "update"}


def test_the_operator_source_reads_the_kinds_discovery_status_and_storage_need() -> None:
    reads = api_reads()
    expected = {
        ("serving.kserve.io", "inferenceservices"),
        ("", "services"),
        ("apps", "deployments"),
        ("route.openshift.io", "routes"),
        ("", "secrets"),
        ("storage.k8s.io", "storageclasses"),
    }
    assert expected <= set(reads), f"reads found: {sorted(reads)}"


# The operator's own writes: KubeClient.merge_patch, used by the drift timer for the status
# of its SemanticRouters and one annotation on them (kopf's verbs, KOPF_NEEDS); their
# paths are literal and scanned like the reads.
# The SelfSubjectAccessReview of the watches (watches.py: may the operator list and watch a
# kind?) is a create every authenticated client may make (the default system:basic-user
# ClusterRole): no rule needed. leader.py's Lease writes go through `request`, granted above.
OWN_WRITES = {("kube.py", "patch"), ("watches.py", "post")}


def test_the_operator_talks_to_the_api_only_through_reads_this_test_sees() -> None:
    """The path scan above sees every API call only if the operator makes them as plain
    HTTP GETs of literal paths (its KubeClient): no client library, no writing verb but
    its merge patches of SemanticRouters (OWN_WRITES)."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [*names, module or ""]:
                    if name.split(".")[0] in ("kubernetes", "kubernetes_asyncio", "pykube"):
                        problems.append(f"{path.name}: imports {name}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("post", "put", "patch", "delete")
                and isinstance(node.func.value, ast.Name)
                and "session" in node.func.value.id
                and (path.name, node.func.attr) not in OWN_WRITES
            ):
                problems.append(f"{path.name}:{node.lineno}: HTTP {node.func.attr}")
    assert problems == []


def test_every_read_of_the_operator_is_granted() -> None:
    need = {rule: READ_VERBS for rule in api_reads() if rule not in NOT_READS}
    assert missing(need, granted(role_rules())) == []


def test_every_owned_kind_may_be_listed_and_watched() -> None:
    need = {(kind.group, kind.plural): WATCH_VERBS for kind in owned.KINDS}
    assert missing(need, granted(role_rules())) == []


def test_leader_election_may_read_create_and_renew_its_lease_and_nothing_else() -> None:
    assert granted(rules_of(ELECTION_ROLE_FILE)) == LEASE_NEEDS
    assert ("coordination.k8s.io", "leases") in api_reads()


def test_kopf_can_watch_patch_and_report_on_semanticrouters() -> None:
    assert missing(KOPF_NEEDS, granted(role_rules())) == []


def test_the_semanticrouter_rules_name_the_crd_group_and_plural() -> None:
    crd = yaml.safe_load(CRD_FILE.read_text().split("---", 1)[-1])
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    assert (group, plural) in KOPF_NEEDS
    assert (group, f"{plural}/status") in KOPF_NEEDS


def test_helm_can_keep_its_release_history_in_secrets() -> None:
    assert missing(HELM_STORAGE, granted(role_rules())) == []


def test_the_role_grants_nothing_beyond_what_the_operator_needs() -> None:
    have, need = granted(role_rules()), needed()
    extra = {
        f"{group or 'core'}/{resource}": sorted(verbs - need.get((group, resource), frozenset()))
        for (group, resource), verbs in have.items()
        if verbs - need.get((group, resource), frozenset())
    }
    assert extra == {}
    assert missing(need, have) == []


def test_the_role_has_no_wildcard_and_no_non_resource_or_named_rules() -> None:
    for rule in role_rules():
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}: {rule}"
            assert all("*" not in item for item in rule[field]), rule


def test_the_role_cannot_escalate_its_own_privileges() -> None:
    have = granted(role_rules())
    assert not [r for r in have if r[0] == "rbac.authorization.k8s.io"]
    assert not [r for r, v in have.items() if v & {"bind", "escalate", "impersonate"}]
    assert ("", "pods/exec") not in have
    assert ("", "serviceaccounts/token") not in have


def test_the_namespaced_role_holds_no_cluster_scoped_resource() -> None:
    assert set(granted(rules_of(ROLE_FILE))) & CLUSTER_SCOPED == set()


def test_the_cluster_role_holds_only_reads_of_cluster_scoped_resources() -> None:
    cluster = granted(rules_of(CLUSTER_ROLE_FILE))
    assert set(cluster) <= CLUSTER_SCOPED
    assert all(verbs <= {"get", "list", "watch"} for verbs in cluster.values()), cluster


@pytest.mark.parametrize(
    ("role_file", "suffix"),
    [(ROLE_FILE, "-manager-role"), (CLUSTER_ROLE_FILE, "-manager-cluster-role")],
)
def test_the_binding_gives_the_role_to_the_service_account_the_deployment_runs_as(
    role_file: Path, suffix: str
) -> None:
    objs = deploy_manifests.objects(deploy_manifests.kustomize(deploy_manifests.DEFAULT_DIR))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objs:
        by_kind.setdefault(obj["kind"], []).append(obj)
    (deployment,) = by_kind["Deployment"]
    (role,) = [r for r in by_kind["ClusterRole"] if r["metadata"]["name"].endswith(suffix)]
    (binding,) = [
        b for b in by_kind["ClusterRoleBinding"] if b["roleRef"]["name"] == role["metadata"]["name"]
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": deployment["spec"]["template"]["spec"]["serviceAccountName"],
            "namespace": deployment["metadata"]["namespace"],
        }
    ]
    assert role["rules"] == rules_of(role_file), "kustomize must not alter the role's rules"
