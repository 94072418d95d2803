"""The platform (OpenShift or standard Kubernetes) and the StorageClass check.

OpenShift is recognised by its ``route.openshift.io`` API group; the answer is cached
for the life of the process (a cluster does not change platform under a running
operator). The chart then sets pod security contexts accordingly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from semantic_router_operator.kube import KubeReader

OPENSHIFT_API_GROUP = "route.openshift.io"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
STORAGE_CLASSES_PATH = "/apis/storage.k8s.io/v1/storageclasses"

OPENSHIFT_DETECTED = "Detected OpenShift platform - will use OpenShift-compatible security contexts"
KUBERNETES_DETECTED = "Detected standard Kubernetes platform - will use standard security contexts"

log = logging.getLogger(__name__)


class Platform(StrEnum):
    KUBERNETES = "kubernetes"
    OPENSHIFT = "openshift"


def platform_for_groups(groups: Iterable[str]) -> Platform:
    """OpenShift when the route.openshift.io group is served, else standard Kubernetes."""
    return Platform.OPENSHIFT if OPENSHIFT_API_GROUP in set(groups) else Platform.KUBERNETES


def served_groups(api_group_list: Mapping[str, Any] | None) -> list[str]:
    """The group names of an APIGroupList (the answer of ``GET /apis``)."""
    return [str(g.get("name")) for g in (api_group_list or {}).get("groups") or []]


class PlatformDetector:
    """Detects the platform once per process, logs it once, and remembers it."""

    def __init__(self) -> None:
        self._platform: Platform | None = None
        self._lock = asyncio.Lock()

    @property
    def platform(self) -> Platform | None:
        return self._platform

    async def detect(
        self,
        reader: KubeReader,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = log,
    ) -> Platform:
        if self._platform is not None:
            return self._platform
        async with self._lock:
            if self._platform is None:
                groups = served_groups(await reader.get("/apis"))
                detected = platform_for_groups(groups)
                logger.info(
                    OPENSHIFT_DETECTED if detected is Platform.OPENSHIFT else KUBERNETES_DETECTED
                )
                self._platform = detected
        return self._platform


def check_routes(routes_enabled: bool, detected: Platform) -> str | None:
    """None when the spec's OpenShift Route can be created on this platform, else why it is
    left out and the fix. On plain Kubernetes the Route kind does not exist: the router is
    deployed without it (values.build turns it off), and the status says so."""
    if routes_enabled and detected is not Platform.OPENSHIFT:
        return (
            "spec.openshift.routes.enabled needs OpenShift (route.openshift.io/v1 is not "
            "served by this cluster): everything else is deployed, the Route is left out; "
            "use spec.ingress instead, or set spec.openshift.routes.enabled to false"
        )
    return None


def routes_deployed(routes_enabled: bool, detected: Platform) -> bool:
    """Whether the release carries the Route the spec asks for: only on OpenShift."""
    return routes_enabled and detected is Platform.OPENSHIFT


# --- StorageClass -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageProblem:
    """Why the models PVC cannot be created; `reason` is a condition reason."""

    reason: str
    message: str


def needs_storage_check(persistence: Mapping[str, Any]) -> bool:
    """Only a PVC the chart creates needs a class: persistence on, no existing claim."""
    return bool(persistence.get("enabled")) and not persistence.get("existingClaim")


def _is_default(storage_class: Mapping[str, Any]) -> bool:
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return any(
        str(annotations.get(key, "")).lower() == "true"
        for key in (DEFAULT_CLASS_ANNOTATION, BETA_DEFAULT_CLASS_ANNOTATION)
    )


def check_storage(
    persistence: Mapping[str, Any], storage_classes: Sequence[Mapping[str, Any]]
) -> StorageProblem | None:
    """None when the PVC can be provisioned, else the problem and how to fix it.

    `persistence` is the spec's `persistence` block (camelCase); `storage_classes` the
    cluster's StorageClass objects.
    """
    if not needs_storage_check(persistence):
        return None
    names = sorted(str((sc.get("metadata") or {}).get("name")) for sc in storage_classes)
    available = ", ".join(names) if names else "none"
    wanted = persistence.get("storageClassName")
    if wanted:
        if wanted in names:
            return None
        return StorageProblem(
            reason="StorageClassNotFound",
            message=(
                f"spec.persistence.storageClassName: StorageClass {wanted!r} does not exist "
                f"(available: {available}); set it to an existing class, or use "
                "spec.persistence.existingClaim"
            ),
        )
    if any(_is_default(sc) for sc in storage_classes):
        return None
    return StorageProblem(
        reason="NoDefaultStorageClass",
        message=(
            "spec.persistence.storageClassName is not set and the cluster has no default "
            f"StorageClass (available: {available}); set spec.persistence.storageClassName, "
            f"mark a class with the annotation {DEFAULT_CLASS_ANNOTATION}=true, or use "
            "spec.persistence.existingClaim"
        ),
    )


async def validate_storage(
    persistence: Mapping[str, Any], reader: KubeReader
) -> StorageProblem | None:
    """Read the StorageClasses (only when needed) and check the persistence block."""
    if not needs_storage_check(persistence):
        return None
    return check_storage(persistence, await reader.list_objects(STORAGE_CLASSES_PATH))


def claim_not_shared(persistence: Mapping[str, Any], most_replicas: int) -> str | None:
    """Why the replicas may not all mount the models claim, or None: a new ReadWriteOnce claim
    attaches to one node at a time, so a replica scheduled on another node stays Pending.
    (ReadWriteOncePod with more than one replica is refused at admission.)"""
    if (
        most_replicas <= 1
        or not persistence.get("enabled", True)
        or persistence.get("existingClaim")
        or persistence.get("accessMode", "ReadWriteOnce") != "ReadWriteOnce"
    ):
        return None
    return (
        f"up to {most_replicas} replicas share a ReadWriteOnce models claim, which attaches to "
        "one node at a time: a replica scheduled on another node stays Pending. Set "
        "persistence.accessMode ReadWriteMany (with a StorageClass that offers it), keep the "
        "replicas on one node (affinity), or run one replica"
    )
