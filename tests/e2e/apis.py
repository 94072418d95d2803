"""The APIs of other projects the chart renders kinds of (HTTPRoute, BackendTLSPolicy,
EnvoyExtensionPolicy, ClientTrafficPolicy, EnvoyFilter, Route, ServiceMonitor) or the operator
reads (Gateway, InferenceService), installed as CustomResourceDefinitions for a test and
removed after it.

All but InferenceService come from their projects' own CRDs, in the Go modules pinned and
checksummed by tools/apis/go.mod (tests/support/apis.py).

KServe publishes no Go module the proxy serves (github.com/kserve/kserve: 403 "not available"),
so InferenceService is a stand-in written here (`INFERENCE_SERVICE_CRD`). The contract it
copies, from KServe's serving.kserve.io/v1beta1 API
(pkg/apis/serving/v1beta1/inference_service.go): a namespaced kind InferenceService (plural
inferenceservices, short name isvc) with a status subresource; `spec.predictor` is required;
`status.conditions[]` holds `type`/`status` entries, Ready among them. It is no more lenient
than KServe's CRD where the operator depends on it: spec.predictor is required, and conditions
must have a type and a status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support import apis
from tests.support.kubectl import Kubectl
from tests.support.live import wait_established, wait_removed_crd

CRD_NAMES = {kind: source.name for kind, source in apis.CRD_SOURCES.items()} | {
    "InferenceService": "inferenceservices.serving.kserve.io",
}

INFERENCE_SERVICE_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "inferenceservices.serving.kserve.io"},
    "spec": {
        "group": "serving.kserve.io",
        "scope": "Namespaced",
        "names": {
            "kind": "InferenceService",
            "listKind": "InferenceServiceList",
            "plural": "inferenceservices",
            "singular": "inferenceservice",
            "shortNames": ["isvc"],
        },
        "versions": [
            {
                "name": "v1beta1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["predictor"],
                                "properties": {
                                    "predictor": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    }
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                                "properties": {
                                    "conditions": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["type", "status"],
                                            "x-kubernetes-preserve-unknown-fields": True,
                                            "properties": {
                                                "type": {"type": "string"},
                                                "status": {"type": "string"},
                                            },
                                        },
                                    }
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def third_party_kinds() -> set[str]:
    return set(CRD_NAMES)


def missing_apis(kinds: set[str], served: set[str]) -> set[str]:
    """The kinds of other projects among `kinds` that the cluster does not serve."""
    return (kinds & third_party_kinds()) - served


def served_kinds(kubectl: Kubectl) -> set[str]:
    """Which of the other projects' kinds the cluster serves."""
    names = {c["metadata"]["name"] for c in kubectl.json("get", "crd")["items"]}
    return {kind for kind, crd in CRD_NAMES.items() if crd in names}


def crd_manifest(kind: str) -> dict[str, Any]:
    if kind == "InferenceService":
        return INFERENCE_SERVICE_CRD
    return apis.crd_manifest(kind)


@contextmanager
def installed(kubectl: Kubectl, kinds: set[str]) -> Iterator[set[str]]:
    """The CRDs of `kinds` installed and Established; those installed here are removed after."""
    already = served_kinds(kubectl)
    added = sorted(kinds - already)
    for kind in added:
        kubectl.run("apply", "--server-side", "-f", "-", stdin=json.dumps(crd_manifest(kind)))
    for kind in added:
        wait_established(kubectl, CRD_NAMES[kind])
    try:
        yield already | kinds
    finally:
        for kind in added:
            kubectl.run("delete", "crd", CRD_NAMES[kind], "--wait=false", "--ignore-not-found")
        for kind in added:
            wait_removed_crd(kubectl, CRD_NAMES[kind])
