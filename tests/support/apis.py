"""The CustomResourceDefinitions of other projects whose kinds the chart renders, read from
those projects' own Go modules.

tools/apis/go.mod pins each module and go.sum checksums it; `go mod download` fetches it from
the module proxy into the Go module cache (once), and the CRD manifest is read from the
module's own file. Nothing is copied into this repository. The chart tier checks every
rendered object of these kinds against their schemas, the end-to-end tier installs them on the
API server (tests/e2e/apis.py).
"""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "apis"


@dataclass(frozen=True)
class CrdSource:
    """Where a kind's CRD lives: the Go module, the file inside it, the CRD's name."""

    module: str
    path: str
    name: str


GATEWAY_API = "sigs.k8s.io/gateway-api"
ENVOY_GATEWAY = "github.com/envoyproxy/gateway"
EG_CRDS = "charts/gateway-helm/charts/crds/crds/generated"

CRD_SOURCES: dict[str, CrdSource] = {
    "HTTPRoute": CrdSource(
        GATEWAY_API,
        "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
        "httproutes.gateway.networking.k8s.io",
    ),
    "Gateway": CrdSource(
        GATEWAY_API,
        "config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
        "gateways.gateway.networking.k8s.io",
    ),
    "BackendTLSPolicy": CrdSource(
        GATEWAY_API,
        "config/crd/standard/gateway.networking.k8s.io_backendtlspolicies.yaml",
        "backendtlspolicies.gateway.networking.k8s.io",
    ),
    "EnvoyExtensionPolicy": CrdSource(
        ENVOY_GATEWAY,
        f"{EG_CRDS}/gateway.envoyproxy.io_envoyextensionpolicies.yaml",
        "envoyextensionpolicies.gateway.envoyproxy.io",
    ),
    "ClientTrafficPolicy": CrdSource(
        ENVOY_GATEWAY,
        f"{EG_CRDS}/gateway.envoyproxy.io_clienttrafficpolicies.yaml",
        "clienttrafficpolicies.gateway.envoyproxy.io",
    ),
    "EnvoyFilter": CrdSource(
        "istio.io/api",
        "kubernetes/customresourcedefinitions.gen.yaml",
        "envoyfilters.networking.istio.io",
    ),
    "Route": CrdSource(
        "github.com/openshift/api",
        "route/v1/zz_generated.crd-manifests/routes.crd.yaml",
        "routes.route.openshift.io",
    ),
    "ServiceMonitor": CrdSource(
        "github.com/prometheus-operator/prometheus-operator",
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "servicemonitors.monitoring.coreos.com",
    ),
}
"""Every kind of another project the chart renders (and Gateway, which the operator reads)."""


@functools.cache
def module_dir(module: str) -> Path:
    """The directory of `module` (at the version tools/apis/go.mod pins), downloaded if needed."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=TOOLS,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    answer = json.loads(proc.stdout or "{}")
    if proc.returncode != 0 or "Dir" not in answer:
        raise AssertionError(
            f"go mod download {module} (tools/apis/go.mod) failed: "
            f"{answer.get('Error') or proc.stderr}"
        )
    return Path(answer["Dir"])


@functools.cache
def _crd(kind: str) -> str:
    source = CRD_SOURCES[kind]
    text = (module_dir(source.module) / source.path).read_text()
    for doc in yaml.safe_load_all(text):
        if (
            doc
            and doc.get("kind") == "CustomResourceDefinition"
            and (doc["metadata"]["name"] == source.name)
        ):
            return json.dumps(doc)
    raise AssertionError(f"{source.module}/{source.path} holds no CRD {source.name}")


def crd_manifest(kind: str) -> dict[str, Any]:
    """The CRD of `kind`, as its project publishes it (a fresh copy)."""
    crd: dict[str, Any] = json.loads(_crd(kind))
    return crd


def crd_manifests() -> list[dict[str, Any]]:
    """The CRDs of every kind in CRD_SOURCES."""
    return [crd_manifest(kind) for kind in CRD_SOURCES]
