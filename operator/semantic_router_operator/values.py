"""CR spec + discovered backends + platform → chart values, and their digest (pure).

The values mirror the spec key for key (docs/architecture.md, "The values contract");
the differences are exactly:

- ``config``: the seed-shaped router config translated to the router's canonical v0.3
  (`routerconfig`), with ``config.reasoning_families`` moved to ``reasoningFamilies``;
- ``vllmEndpoints``: only the endpoints discovery resolved, each with
  ``backend.resolved: {host, port, protocol}`` (an unresolved backend is left out, so
  one missing backend never breaks the release of the others);
- ``platform``: ``kubernetes`` or ``openshift``, as detected.

The digest covers the chart version and the values: equal digests mean helm would be
asked to do exactly the same thing again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from semantic_router_operator import routerconfig
from semantic_router_operator.discovery import BackendResult
from semantic_router_operator.models import SemanticRouterSpec
from semantic_router_operator.platform import Platform

DIGEST_PREFIX = "sha256:"


def config_values(spec: SemanticRouterSpec) -> dict[str, Any]:
    """``config`` and ``reasoningFamilies`` from ``spec.config`` (nothing when it is unset).

    Raises routerconfig.RouterConfigError naming the spec.config field at fault.
    """
    if spec.config is None:
        return {}
    raw = spec.config.model_dump(mode="json", by_alias=True, exclude_none=True)
    canonical = routerconfig.to_canonical(raw)
    values: dict[str, Any] = {"config": canonical.config}
    if canonical.reasoning_families:
        values["reasoningFamilies"] = canonical.reasoning_families
    return values


def endpoint_values(
    endpoints: Sequence[Mapping[str, Any]], resolved: Sequence[BackendResult]
) -> list[dict[str, Any]]:
    """The resolved endpoints, in spec order, with ``backend.resolved`` filled in."""
    addresses = {r.endpoint: r.address for r in resolved if r.address is not None}
    out = []
    for endpoint in endpoints:
        address = addresses.get(str(endpoint.get("name")))
        if address is None:
            continue
        entry = dict(endpoint)
        entry["backend"] = {**dict(endpoint.get("backend") or {}), "resolved": address.as_values()}
        out.append(entry)
    return out


def build(
    spec: SemanticRouterSpec, resolved: Sequence[BackendResult], platform: Platform
) -> dict[str, Any]:
    """The chart values for one SemanticRouter."""
    values = spec.to_dict()
    values.pop("config", None)
    values.update(config_values(spec))
    if "vllmEndpoints" in values:
        values["vllmEndpoints"] = endpoint_values(values["vllmEndpoints"], resolved)
    values["platform"] = str(platform)
    return values


def canonical_json(data: Any) -> str:
    """Stable JSON: sorted keys, no insignificant whitespace."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(chart_version: str, values: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the chart version and the values, as canonical JSON."""
    payload = canonical_json({"chartVersion": chart_version, "values": values})
    return DIGEST_PREFIX + hashlib.sha256(payload.encode()).hexdigest()
