"""What the reconcile reads of the cluster besides discovery: the router's Deployment and
Route, helm's latest revision (from the labels of helm's storage Secrets, no helm process),
who owns the release, and which older routers' releases hold the names this one needs."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import kopf

from semantic_router_operator import names, status
from semantic_router_operator.kube import KubeApiError, KubeReader
from semantic_router_operator.models import GROUP, PLURAL, VERSION
from semantic_router_operator.release import (
    OWNER_LABEL,
    Ownership,
    ReleaseInfo,
    ReleaseManager,
    ownership,
    read_chart_name,
)

log = logging.getLogger(__name__)

Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]
RouterIndex = Mapping[str, Iterable[tuple[str, str, Mapping[str, Any]]]]
"""Every SemanticRouter's (creationTimestamp, name, naming spec) by namespace."""

HELM_RELEASE_LABELS = {"owner": "helm"}
# Set to "true" on a SemanticRouter to take over a release of this chart installed without
# the operator (helm install of the chart alone, then the operator).
ADOPT_ANNOTATION = "vllm.ai/adopt-release"


async def _read(reader: KubeReader, path: str) -> dict[str, Any] | None:
    try:
        return await reader.get(path)
    except KubeApiError as exc:
        log.warning(f"status read skipped: {exc}")
        return None


async def workload(
    reader: KubeReader, name: str, namespace: str, routes: bool
) -> tuple[status.Workload | None, Mapping[str, Any] | None]:
    """The router Deployment and, when Routes are on, the Route of release `name`
    (both named as the chart names them, `names.fullname`)."""
    ns, obj = quote(namespace), quote(names.fullname(name))
    deployment = await _read(reader, f"/apis/apps/v1/namespaces/{ns}/deployments/{obj}")
    route = None
    if routes:
        route = await _read(reader, f"/apis/route.openshift.io/v1/namespaces/{ns}/routes/{obj}")
    return status.Workload.from_deployment(deployment), route


async def latest_revision(reader: KubeReader, name: str, namespace: str) -> tuple[int, str] | None:
    """(revision, helm status) of the release's latest revision, from helm's own
    storage Secrets (labels only): no helm process is started."""
    secrets = await reader.list_objects(
        f"/api/v1/namespaces/{quote(namespace)}/secrets",
        {**HELM_RELEASE_LABELS, "name": name},
        metadata_only=True,
    )
    revisions = []
    for secret in secrets:
        labels = (secret.get("metadata") or {}).get("labels") or {}
        try:
            revisions.append((int(labels.get("version", "")), str(labels.get("status", ""))))
        except ValueError:
            continue
    return max(revisions) if revisions else None


async def claim(
    reader: KubeReader,
    releases: ReleaseManager,
    chart_path: Path,
    body: kopf.Body,
    name: str,
    namespace: str,
) -> Ownership:
    """Whether release `name` is this router's to upgrade and uninstall: the labels of
    helm's release Secrets (metadata only), then, when they do not name this router,
    ``helm status`` for the release's chart."""
    secrets = await reader.list_objects(
        f"/api/v1/namespaces/{quote(namespace)}/secrets",
        {**HELM_RELEASE_LABELS, "name": name},
        metadata_only=True,
    )
    labels = [(s.get("metadata") or {}).get("labels") or {} for s in secrets]
    uid, chart_name = owner_uid(body), read_chart_name(chart_path)
    if not labels or any(uid and found.get(OWNER_LABEL) == uid for found in labels):
        return ownership(labels, uid, release=None, chart_name=chart_name, adopt=False)
    info = await releases.status(name, namespace)
    return ownership(labels, uid, release=info, chart_name=chart_name, adopt=adopts(body))


async def collisions(
    reader: KubeReader, routers: RouterIndex | None, body: kopf.Body
) -> list[tuple[str, str, str]]:
    """Objects this router's release would share with the release of a SemanticRouter
    created before it in its namespace (`names.collisions`): the older one keeps them."""
    meta = body.get("metadata") or {}
    namespace = str(meta["namespace"])
    if routers is not None:
        known = list(routers.get(namespace, ()))
    else:
        listed = await reader.list_objects(
            f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{PLURAL}"
        )
        known = [router_entry(other) for other in listed]
    mine = _age(meta)
    older = [(name, spec) for created, name, spec in known if (created, name) < mine]
    return names.collisions(str(meta["name"]), body.get("spec") or {}, older)


async def release_intact(
    reader: KubeReader,
    name: str,
    namespace: str,
    known: ReleaseInfo,
    logger: Logger,
) -> bool:
    """True when helm's latest revision is the one we applied, still deployed."""
    try:
        observed = await latest_revision(reader, name, namespace)
    except KubeApiError as exc:
        logger.warning(f"cannot read the helm release of {namespace}/{name}: {exc}")
        return True
    if observed == (known.revision, "deployed"):
        return True
    seen = "missing" if observed is None else f"revision {observed[0]} {observed[1]}"
    logger.warning(
        f"Release {namespace}/{name} drifted (expected revision {known.revision} deployed, "
        f"found {seen}); applying it again"
    )
    return False


def router_entry(obj: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(creationTimestamp, name, the spec fields object names depend on) of a router."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    naming = {key: spec[key] for key in ("persistence", "serviceAccount") if key in spec}
    created, name = _age(meta)
    return created, name, naming


def _age(meta: Mapping[str, Any]) -> tuple[str, str]:
    """Sort key of routers by age: creation time (RFC 3339 sorts as text), then name."""
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


def owner_uid(body: Mapping[str, Any]) -> str:
    """The uid written on the router's release as its owner label ("" when unknown)."""
    return str((body.get("metadata") or {}).get("uid") or "")


def adopts(body: Mapping[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(ADOPT_ANNOTATION, "")).strip().lower() == "true"
