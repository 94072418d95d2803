"""Operator settings, read once from the environment (prefix ``SR_OPERATOR_``).

Every setting has a default that works in the operator image; a bad value fails at
start-up with a message naming the environment variable and the expected form.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

PREFIX = "SR_OPERATOR_"

# The chart ships inside the operator image at this path; a source checkout uses its own.
IMAGE_CHART_PATH = Path("/opt/semantic-router-operator/charts/semantic-router")
SOURCE_CHART_PATH = Path(__file__).resolve().parents[2] / "charts" / "semantic-router"

T = TypeVar("T")

# A namespace name (DNS-1123 label). Patterns (`team-*`, `!kube-*`) are refused: the operator
# watches named namespaces as given, without listing the cluster's namespaces.
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class SettingsError(ValueError):
    """An environment variable holds a value the operator cannot use."""


# `registry/name:tag` with an optional `@sha256:<digest>`: what the chart's image blocks carry.
_IMAGE = re.compile(
    r"^(?P<repository>[^\s:@]+(?::[0-9]+/[^\s:@]+)?):(?P<tag>[^\s:@/]+(?:@sha256:[0-9a-f]{64})?)$"
)


@dataclass(frozen=True)
class RelatedImages:
    """The images the operator deploys, from RELATED_IMAGE_ROUTER and RELATED_IMAGE_ENVOY
    (OLM's convention: a mirrored registry rewrites them); empty keeps the chart's images.
    A SemanticRouter that names its own image keeps it."""

    router: str = ""
    envoy: str = ""

    @staticmethod
    def split(ref: str) -> tuple[str, str]:
        """(repository, tag) of `ref`; a digest stays with the tag (`v1@sha256:...`)."""
        match = _IMAGE.match(ref)
        assert match is not None, ref
        return match["repository"], match["tag"]


RELATED_IMAGE_VARIABLES = {"router": "RELATED_IMAGE_ROUTER", "envoy": "RELATED_IMAGE_ENVOY"}


def _related_images(env: Mapping[str, str]) -> RelatedImages:
    found = {}
    for key, name in RELATED_IMAGE_VARIABLES.items():
        raw = env.get(name, "").strip()
        if raw and not _IMAGE.match(raw):
            raise SettingsError(
                f"{name}={raw!r} is invalid; set it to an image as <repository>:<tag>, "
                "optionally pinned as <repository>:<tag>@sha256:<digest>"
            )
        found[key] = raw
    return RelatedImages(**found)


def default_chart_path() -> Path:
    """The chart in the image when present, else the chart of this source tree."""
    return IMAGE_CHART_PATH if IMAGE_CHART_PATH.is_dir() else SOURCE_CHART_PATH


@dataclass(frozen=True)
class Settings:
    """What the operator needs to know about its environment."""

    # Namespaces to watch; empty means every namespace (cluster-wide).
    namespaces: tuple[str, ...] = ()
    helm_binary: str = "helm"
    chart_path: Path = field(default_factory=default_chart_path)
    # At most this many helm processes run at once, across all releases.
    helm_concurrency: int = 4
    # Seconds between two safety-net checks of one SemanticRouter (discovery, status,
    # repair): watches of the owned objects do the rest; each check also waits a random
    # 0 to timer_jitter seconds, so that checks of many routers spread out.
    timer_interval: float = 900.0
    timer_jitter: float = 180.0
    # Drift repairs per SemanticRouter: at most repair_burst within repair_window seconds.
    repair_burst: int = 3
    repair_window: float = 300.0
    # Leader election on a Lease (several replicas, one reconciling).
    leader_election: bool = False
    lease_name: str = "semantic-router-operator"
    # Empty: the operator's own namespace (its ServiceAccount's).
    lease_namespace: str = ""
    lease_duration: float = 10.0
    # Seconds before the first retry of a failure the cluster can fix (a quota, a release
    # or an object in the way); each further retry waits twice as long, up to the maximum.
    retry_backoff: float = 30.0
    retry_backoff_max: float = 900.0
    # Seconds one helm install/upgrade/uninstall may take before it counts as failed.
    helm_timeout: float = 300.0
    # Helm release revisions kept per SemanticRouter (`helm upgrade --history-max`).
    release_history: int = 10
    # Port of the Prometheus metrics endpoint; 0 disables it.
    metrics_port: int = 8080
    # kopf's liveness endpoint (`kopf run --liveness`); empty disables it.
    liveness_endpoint: str = "http://0.0.0.0:8081/healthz"
    # Peering lets several operator replicas agree on one active instance.
    peering_name: str = ""
    # Images for routers that name none (RELATED_IMAGE_*, not prefixed: OLM's convention).
    related_images: RelatedImages = RelatedImages()

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces


def _parse_namespaces(raw: str) -> tuple[str, ...]:
    if raw.strip() in ("", "*"):
        return ()
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    for name in names:
        if not _NAMESPACE.match(name):
            raise ValueError(f"{name!r} is not a namespace name; patterns are not supported")
    return names


def _lease_namespace(raw: str) -> str:
    name = raw.strip()
    if name and not _NAMESPACE.match(name):
        raise ValueError(f"{name!r} is not a namespace name")
    return name


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number between 0 and 65535")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be 0 or more")
    return value


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value == "true"


def _lease_duration(raw: str) -> float:
    value = float(raw)
    if not value >= 3:
        raise ValueError("must be at least 3")
    return value


def _text(raw: str) -> str:
    return raw.strip()


def _non_empty(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


_EXPECTED = {
    "NAMESPACES": "a comma-separated list of namespace names (exact names), or empty / '*' "
    "for all namespaces",
    "HELM_BINARY": "the path or name of the helm executable",
    "CHART_PATH": "the directory of the semantic-router chart",
    "HELM_CONCURRENCY": "a whole number of at least 1",
    "TIMER_INTERVAL": "a number of seconds greater than 0",
    "TIMER_JITTER": "a number of seconds, 0 or more",
    "REPAIR_BURST": "a whole number of at least 1",
    "REPAIR_WINDOW": "a number of seconds greater than 0",
    "LEADER_ELECTION": "true or false",
    "LEASE_NAME": "the name of the Lease the replicas elect their leader on",
    "LEASE_NAMESPACE": "a namespace name, or empty for the operator's own namespace",
    "LEASE_DURATION": "a number of seconds of at least 3",
    "RETRY_BACKOFF": "a number of seconds greater than 0",
    "RETRY_BACKOFF_MAX": "a number of seconds greater than 0, at least SR_OPERATOR_RETRY_BACKOFF",
    "HELM_TIMEOUT": "a number of seconds greater than 0",
    "RELEASE_HISTORY": "a whole number of at least 1",
    "METRICS_PORT": "a port number between 0 (disabled) and 65535",
    "LIVENESS_ENDPOINT": "a URL such as http://0.0.0.0:8081/healthz, or empty to disable",
    "PEERING_NAME": "the name of a kopf peering object, or empty to run standalone",
}


def _read(env: Mapping[str, str], key: str, parse: Callable[[str], T], default: T) -> T:
    name = PREFIX + key
    if name not in env:
        return default
    raw = env[name]
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(
            f"{name}={raw!r} is invalid ({exc}); set it to {_EXPECTED[key]}"
        ) from None


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: the process environment); unknown variables are errors."""
    env = os.environ if env is None else env
    unknown = sorted(
        name for name in env if name.startswith(PREFIX) and name[len(PREFIX) :] not in _EXPECTED
    )
    if unknown:
        known = ", ".join(PREFIX + key for key in _EXPECTED)
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; known settings: {known}")
    defaults = Settings()
    chart_path = _read(env, "CHART_PATH", lambda raw: Path(_non_empty(raw)), defaults.chart_path)
    retry_backoff = _read(env, "RETRY_BACKOFF", _positive_float, defaults.retry_backoff)
    retry_backoff_max = _read(
        env, "RETRY_BACKOFF_MAX", _positive_float, max(defaults.retry_backoff_max, retry_backoff)
    )
    if retry_backoff_max < retry_backoff:
        raise SettingsError(
            f"{PREFIX}RETRY_BACKOFF_MAX={env[PREFIX + 'RETRY_BACKOFF_MAX']!r} is invalid (below "
            f"{PREFIX}RETRY_BACKOFF={retry_backoff:g}); set it to {_EXPECTED['RETRY_BACKOFF_MAX']}"
        )
    return Settings(
        namespaces=_read(env, "NAMESPACES", _parse_namespaces, defaults.namespaces),
        helm_binary=_read(env, "HELM_BINARY", _non_empty, defaults.helm_binary),
        chart_path=chart_path,
        helm_concurrency=_read(env, "HELM_CONCURRENCY", _positive_int, defaults.helm_concurrency),
        timer_interval=_read(env, "TIMER_INTERVAL", _positive_float, defaults.timer_interval),
        timer_jitter=_read(env, "TIMER_JITTER", _non_negative_float, defaults.timer_jitter),
        repair_burst=_read(env, "REPAIR_BURST", _positive_int, defaults.repair_burst),
        repair_window=_read(env, "REPAIR_WINDOW", _positive_float, defaults.repair_window),
        leader_election=_read(env, "LEADER_ELECTION", _boolean, defaults.leader_election),
        lease_name=_read(env, "LEASE_NAME", _non_empty, defaults.lease_name),
        lease_namespace=_read(env, "LEASE_NAMESPACE", _lease_namespace, defaults.lease_namespace),
        lease_duration=_read(env, "LEASE_DURATION", _lease_duration, defaults.lease_duration),
        retry_backoff=retry_backoff,
        retry_backoff_max=retry_backoff_max,
        helm_timeout=_read(env, "HELM_TIMEOUT", _positive_float, defaults.helm_timeout),
        release_history=_read(env, "RELEASE_HISTORY", _positive_int, defaults.release_history),
        metrics_port=_read(env, "METRICS_PORT", _port, defaults.metrics_port),
        liveness_endpoint=_read(env, "LIVENESS_ENDPOINT", _text, defaults.liveness_endpoint),
        peering_name=_read(env, "PEERING_NAME", _text, defaults.peering_name),
        related_images=_related_images(env),
    )
