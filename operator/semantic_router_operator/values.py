"""CR spec + discovered backends + platform → chart values, and their digest (pure).

The values mirror the spec key for key (docs/architecture.md, "The values contract");
the differences are exactly:

- ``config``: the seed-shaped router config translated to the router's canonical v0.3
  (`routerconfig`), with ``config.reasoning_families`` moved to ``reasoningFamilies``;
  every key of the chart's default ``config`` the translation does not have is set to
  null, so that Helm's merge removes it: the router sees what the CR says, not the
  chart's defaults (prompt guard, tools, memory-cache limits under a Redis cache ...).
  A CR without ``config`` keeps the chart's default config; a CR whose config omits
  ``reasoning_families`` keeps the chart's default families (deepseek, qwen3, gpt, as
  the seed documents them), one that lists them gets exactly those;
- ``vllmEndpoints``: only the endpoints discovery resolved, each with
  ``backend.resolved: {host, port, protocol}`` (an unresolved backend is left out, so
  one missing backend never breaks the release of the others);
- ``platform``: ``kubernetes`` or ``openshift``, as detected;
- ``image`` / ``envoy.image``: the operator's RELATED_IMAGE_* images when set and the spec
  names no repository, tag or registry of its own.

The digest covers the chart version and the values: equal digests mean helm would be
asked to do exactly the same thing again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from semantic_router_operator import routerconfig
from semantic_router_operator.discovery import BackendResult
from semantic_router_operator.models import SemanticRouterSpec
from semantic_router_operator.platform import Platform
from semantic_router_operator.settings import RelatedImages

DIGEST_PREFIX = "sha256:"
# No related images: the chart's own image defaults apply.
CHART_IMAGES = RelatedImages()
CONFIGMAP_BYTES = 1_048_576
"""The most a ConfigMap's data may hold (the API server refuses more)."""
CONFIGMAP_HEADROOM = 16_384
"""Room kept for what the chart adds to config.yaml (provider entries, its defaults)."""


@functools.cache
def read_chart_defaults(chart: Path) -> dict[str, Any]:
    """The chart's default values: its ``values.yaml`` (chart directory or packaged .tgz;
    a chart without one has none), read once per chart path. Shared between callers:
    read it, never change it."""
    text = ""
    if chart.is_dir():
        if (chart / "values.yaml").is_file():
            text = (chart / "values.yaml").read_text(encoding="utf-8")
    else:
        with tarfile.open(chart) as archive:
            # The chart's own values.yaml, at the top of the archive (not a subchart's).
            for member in archive.getmembers():
                if member.name.count("/") == 1 and member.name.endswith("/values.yaml"):
                    extracted = archive.extractfile(member)
                    text = extracted.read().decode("utf-8") if extracted is not None else ""
                    break
    loaded = yaml.safe_load(text) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{chart}: values.yaml is not a mapping")
    return loaded


def without_defaults(defaults: Any, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """`wanted`, plus a null for every key of `defaults` it lacks (recursively through
    mappings present in both): merged over `defaults` by Helm, the result is `wanted`."""
    out = dict(wanted)
    if not isinstance(defaults, Mapping):
        return out
    for key, default in defaults.items():
        if key not in out:
            out[key] = None
        elif isinstance(default, Mapping) and isinstance(out[key], Mapping):
            out[key] = without_defaults(default, out[key])
    return out


def config_values(spec: SemanticRouterSpec, chart_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` and ``reasoningFamilies`` from ``spec.config`` (nothing when it is unset,
    so the chart's defaults apply), with a null for each chart default the CR does not set.

    Raises routerconfig.RouterConfigError naming the spec.config field at fault.
    """
    if spec.config is None:
        return {}
    raw = spec.config.model_dump(mode="json", by_alias=True, exclude_none=True)
    canonical = routerconfig.to_canonical(raw)
    values: dict[str, Any] = {
        "config": without_defaults(chart_defaults.get("config"), canonical.config)
    }
    if "reasoning_families" in raw:
        values["reasoningFamilies"] = without_defaults(
            chart_defaults.get("reasoningFamilies"), canonical.reasoning_families
        )
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


# A reasoning family of the router's own catalog (gpt-oss, qwen3.8, kimi-k2 ...): the chart
# passes a name it has no definition for as {family: name}, and the router resolves it.
CATALOG_FAMILY = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")


def check_reasoning_families(
    spec: SemanticRouterSpec,
    families: Mapping[str, Any] | None,
    chart_defaults: Mapping[str, Any],
) -> None:
    """Every ``vllmEndpoints[].reasoningFamily`` is one the values define (the CR's
    ``config.reasoning_families``, else the chart's defaults; nulls are removed ones) or
    can be a family of the router's catalog. Anything else, the router refuses at start.
    Raises routerconfig.RouterConfigError naming the endpoint field.
    """
    effective = families if families is not None else chart_defaults.get("reasoningFamilies")
    known = sorted(str(name) for name, family in (effective or {}).items() if family is not None)
    for index, endpoint in enumerate(spec.vllm_endpoints or []):
        family = endpoint.reasoning_family
        if family and family not in known and not CATALOG_FAMILY.match(family):
            raise routerconfig.RouterConfigError(
                f"spec.vllmEndpoints[{index}].reasoningFamily",
                f"{family!r} is no reasoning family: name one of the router's catalog "
                "(lowercase letters, digits, '-', '_', '.'), one of "
                f"{', '.join(known) or '(none)'}, or one defined under "
                "spec.config.reasoning_families",
            )


def check_transports(spec: SemanticRouterSpec, resolved: Sequence[BackendResult]) -> None:
    """The resolved backends of one model share one transport and, over https, one host:
    one model is one Envoy cluster with one TLS setting and one server name. Raises
    routerconfig.RouterConfigError naming the endpoint that breaks this."""
    addresses = {r.endpoint: r.address for r in resolved if r.address is not None}
    first: dict[str, tuple[int, str, str, str]] = {}  # model → (index, name, protocol, host)
    for index, endpoint in enumerate(spec.vllm_endpoints or []):
        address = addresses.get(endpoint.name)
        if address is None:
            continue
        seen = first.setdefault(
            endpoint.model, (index, endpoint.name, address.protocol, address.host)
        )
        other, other_name, protocol, host = seen
        if address.protocol != protocol:
            raise routerconfig.RouterConfigError(
                f"spec.vllmEndpoints[{index}]",
                f"endpoint {endpoint.name!r} serves model {endpoint.model!r} over "
                f"{address.protocol}, spec.vllmEndpoints[{other}] ({other_name!r}) over "
                f"{protocol}: one model is one Envoy cluster with one TLS setting; give the "
                "http and https endpoints different model names",
            )
        if protocol == "https" and address.host != host:
            raise routerconfig.RouterConfigError(
                f"spec.vllmEndpoints[{index}]",
                f"endpoint {endpoint.name!r} serves model {endpoint.model!r} over https from "
                f"{address.host}, spec.vllmEndpoints[{other}] ({other_name!r}) from {host}: "
                "one TLS server name per model; give each host its own model name",
            )


def rendered_json_size(data: Any) -> int:
    """Bytes of `data` as the chart's ``toJson`` writes it: compact, UTF-8, and ``<``,
    ``>``, ``&`` escaped as ``\\u003c`` (Go's encoder)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode()) + 5 * sum(text.count(c) for c in "<>&")


def check_configmap_size(values: Mapping[str, Any]) -> None:
    """The router's ConfigMap (config.yaml and tools_db.json) stays within what the API
    server stores, so that helm is never asked for an object it would refuse. Raises
    routerconfig.RouterConfigError naming the larger of spec.toolsDb and spec.config."""
    tools = rendered_json_size(values.get("toolsDb") or [])
    config = len(yaml.safe_dump(values.get("config") or {}, allow_unicode=True).encode())
    total = tools + config
    if total <= CONFIGMAP_BYTES - CONFIGMAP_HEADROOM:
        return
    field, fix = (
        ("spec.toolsDb", "remove entries or shorten their descriptions and parameters")
        if tools >= config
        else ("spec.config", "shorten the configuration")
    )
    raise routerconfig.RouterConfigError(
        field,
        f"the router's ConfigMap would hold about {total} bytes (tools_db.json {tools}, "
        f"config.yaml {config}), more than the {CONFIGMAP_BYTES - CONFIGMAP_HEADROOM} "
        f"bytes it can take (a ConfigMap holds at most {CONFIGMAP_BYTES}): {fix}",
    )


def build(
    spec: SemanticRouterSpec,
    resolved: Sequence[BackendResult],
    platform: Platform,
    *,
    chart_defaults: Mapping[str, Any],
    images: RelatedImages = CHART_IMAGES,
) -> dict[str, Any]:
    """The chart values for one SemanticRouter; `chart_defaults` are the chart's own
    values (`read_chart_defaults`), which the router config must not inherit.

    Raises routerconfig.RouterConfigError naming the spec field at fault.
    """
    values = spec.to_dict()
    values.pop("config", None)
    values.update(config_values(spec, chart_defaults))
    check_reasoning_families(spec, values.get("reasoningFamilies"), chart_defaults)
    check_transports(spec, resolved)
    if "vllmEndpoints" in values:
        values["vllmEndpoints"] = endpoint_values(values["vllmEndpoints"], resolved)
    values["platform"] = str(platform)
    leave_out_routes(values, platform)
    related_image_values(values, spec, images)
    check_configmap_size(values)
    return values


def leave_out_routes(values: dict[str, Any], platform: Platform) -> None:
    """A Route asked for on plain Kubernetes is left out (the kind does not exist there):
    everything else deploys, and the status reports it (platform.check_routes)."""
    routes = (values.get("openshift") or {}).get("routes") or {}
    if routes.get("enabled") and platform is not Platform.OPENSHIFT:
        values["openshift"] = {**values["openshift"], "routes": {**routes, "enabled": False}}


_OWN_IMAGE = {"repository", "tag", "image_registry"}


def related_image_values(
    values: dict[str, Any], spec: SemanticRouterSpec, images: RelatedImages
) -> None:
    """Point `image` and `envoy.image` at the operator's related images, unless the spec
    chose its own (any of repository, tag, registry set)."""
    if images.router and not _OWN_IMAGE & spec.image.model_fields_set:
        repository, tag = RelatedImages.split(images.router)
        values["image"] = {**values.get("image", {}), "repository": repository, "tag": tag}
        values["image"].pop("imageRegistry", None)
    envoy_image = spec.envoy.image if spec.envoy is not None else None
    if images.envoy and (envoy_image is None or not _OWN_IMAGE & envoy_image.model_fields_set):
        repository, tag = RelatedImages.split(images.envoy)
        envoy = dict(values.get("envoy") or {})
        envoy["image"] = {**(envoy.get("image") or {}), "repository": repository, "tag": tag}
        envoy["image"].pop("imageRegistry", None)
        values["envoy"] = envoy


def canonical_json(data: Any) -> str:
    """Stable JSON: sorted keys, no insignificant whitespace."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(chart_version: str, values: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the chart version and the values, as canonical JSON."""
    payload = canonical_json({"chartVersion": chart_version, "values": values})
    return DIGEST_PREFIX + hashlib.sha256(payload.encode()).hexdigest()
