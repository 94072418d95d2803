"""The objects a router's helm release owns, as the watches see them (pure).

The chart puts the same labels on every object it renders (``semantic-router.labels``);
the operator watches each kind the chart can create once, selected by two of those
labels, and maps an object back to its release (helm's ``meta.helm.sh/release-*``
annotations, else the ``app.kubernetes.io/instance`` label) and from the release to its
SemanticRouter (`names.release_name`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from semantic_router_operator import names

# Labels every object of the chart carries, sent to the API server as the watch's selector.
SELECTOR: Mapping[str, str] = {
    "app.kubernetes.io/part-of": "semantic-router",
    "app.kubernetes.io/managed-by": "Helm",
}
INSTANCE_LABEL = "app.kubernetes.io/instance"
RELEASE_NAME_ANNOTATION = "meta.helm.sh/release-name"
RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"


@dataclass(frozen=True)
class OwnedKind:
    """A kind of object the chart renders, and where the API serves it."""

    kind: str
    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection(self, namespace: str | None = None) -> str:
        """The API path of the kind's objects, in `namespace` or in every namespace."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        where = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{where}/{self.plural}"


# Every kind the chart's templates render (charts/semantic-router/templates).
KINDS: tuple[OwnedKind, ...] = (
    OwnedKind("Deployment", "apps", "v1", "deployments"),
    OwnedKind("Service", "", "v1", "services"),
    OwnedKind("ConfigMap", "", "v1", "configmaps"),
    OwnedKind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    OwnedKind("ServiceAccount", "", "v1", "serviceaccounts"),
    OwnedKind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"),
    OwnedKind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"),
    OwnedKind("Ingress", "networking.k8s.io", "v1", "ingresses"),
    OwnedKind("Route", "route.openshift.io", "v1", "routes"),
    OwnedKind("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes"),
    OwnedKind("BackendTLSPolicy", "gateway.networking.k8s.io", "v1", "backendtlspolicies"),
    OwnedKind(
        "EnvoyExtensionPolicy", "gateway.envoyproxy.io", "v1alpha1", "envoyextensionpolicies"
    ),
    OwnedKind("ClientTrafficPolicy", "gateway.envoyproxy.io", "v1alpha1", "clienttrafficpolicies"),
    OwnedKind("EnvoyFilter", "networking.istio.io", "v1alpha3", "envoyfilters"),
    OwnedKind("ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitors"),
)
BY_KIND: Mapping[str, OwnedKind] = {kind.kind: kind for kind in KINDS}


def watchable(
    kinds: Iterable[OwnedKind],
    served: Mapping[str, Iterable[str]],
    allowed: Mapping[OwnedKind, bool],
) -> tuple[list[OwnedKind], list[str]]:
    """The kinds to watch: served by the cluster (`served`: apiVersion → plurals) and
    readable by the operator (`allowed`: list and watch granted). Also, one line per kind
    left out, saying why (an API the cluster lacks is normal; a refused one is not)."""
    chosen, skipped = [], []
    for kind in kinds:
        if kind.plural not in set(served.get(kind.api_version, ())):
            skipped.append(f"{kind.kind} ({kind.api_version}): not served by this cluster")
        elif not allowed.get(kind, False):
            skipped.append(
                f"{kind.kind} ({kind.api_version}): the operator may not list and watch "
                f"{kind.plural}; grant it in the operator's role to have them repaired"
            )
        else:
            chosen.append(kind)
    return chosen, skipped


def release_of(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, release) of an object the chart rendered, or None for another's."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    if any(labels.get(key) != value for key, value in SELECTOR.items()):
        return None
    annotations = meta.get("annotations") or {}
    release = annotations.get(RELEASE_NAME_ANNOTATION) or labels.get(INSTANCE_LABEL)
    namespace = annotations.get(RELEASE_NAMESPACE_ANNOTATION) or meta.get("namespace")
    if not release or not namespace:
        return None
    return str(namespace), str(release)


def router_of(release: str, routers: Iterable[str]) -> str | None:
    """The SemanticRouter (among `routers`, names in the release's namespace) whose
    release is `release`; the oldest first when several map to it (`routers` in age order)."""
    for name in routers:
        if names.release_name(name) == release:
            return name
    return None
