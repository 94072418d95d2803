"""Operator settings, read once from the environment (prefix ``SR_OPERATOR_``).

One pydantic model holds every setting: each field names its default, its parser (text
from the environment to a value) and the expected form. Every setting has a default that
works in the operator image; a bad value fails at start-up with a message naming the
environment variable and the expected form. How helm is run (`ReleaseSettings`) is derived
from it, with the release layer's defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from semantic_router_operator.release import model as release

PREFIX = "SR_OPERATOR_"

# The chart ships inside the operator image at this path; a source checkout uses its own.
IMAGE_CHART_PATH = Path("/opt/semantic-router-operator/charts/semantic-router")
SOURCE_CHART_PATH = Path(__file__).resolve().parents[2] / "charts" / "semantic-router"

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


class _Invalid(ValueError):
    """A setting that is wrong only together with another one: names the field to blame."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _parsed(parse: Callable[[str], Any]) -> BeforeValidator:
    """Run `parse` on the text of a value: the environment's text, or the text of a value
    given in code, so that both meet the same rule."""
    return BeforeValidator(lambda value: parse(value if isinstance(value, str) else str(value)))


def _parse_namespaces(raw: str) -> tuple[str, ...]:
    if raw.strip() in ("", "*"):
        return ()
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    for name in names:
        if not _NAMESPACE.match(name):
            raise ValueError(f"{name!r} is not a namespace name; patterns are not supported")
    return names


def _namespaces(value: object) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):
        value = ",".join(str(name) for name in value)
    return _parse_namespaces(str(value))


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


# One type per rule; a field's description is the form its message asks for.
PositiveInt = Annotated[int, _parsed(_positive_int)]
PositiveSeconds = Annotated[float, _parsed(_positive_float)]
Seconds = Annotated[float, _parsed(_non_negative_float)]
NonEmpty = Annotated[str, _parsed(_non_empty)]
Text = Annotated[str, _parsed(_text)]
POSITIVE_INT = "a whole number of at least 1"
POSITIVE_SECONDS = "a number of seconds greater than 0"


class Settings(BaseModel):
    """What the operator needs to know about its environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Namespaces to watch; empty means every namespace (cluster-wide).
    namespaces: Annotated[tuple[str, ...], BeforeValidator(_namespaces)] = Field(
        (),
        description="a comma-separated list of namespace names (exact names), or empty / '*' "
        "for all namespaces",
    )
    helm_binary: NonEmpty = Field(
        release.HELM_BINARY, description="the path or name of the helm executable"
    )
    chart_path: Annotated[Path, _parsed(lambda raw: Path(_non_empty(raw)))] = Field(
        default_factory=default_chart_path,
        description="the directory of the semantic-router chart",
    )
    # At most this many helm processes run at once, across all releases.
    helm_concurrency: PositiveInt = Field(release.MAX_CONCURRENT, description=POSITIVE_INT)
    # Seconds between two safety-net checks of one SemanticRouter (discovery, status,
    # repair): watches of the owned objects do the rest; each check also waits a random
    # 0 to timer_jitter seconds, so that checks of many routers spread out.
    timer_interval: PositiveSeconds = Field(900.0, description=POSITIVE_SECONDS)
    timer_jitter: Seconds = Field(180.0, description="a number of seconds, 0 or more")
    # Drift repairs per SemanticRouter: at most repair_burst within repair_window seconds.
    repair_burst: PositiveInt = Field(3, description=POSITIVE_INT)
    repair_window: PositiveSeconds = Field(300.0, description=POSITIVE_SECONDS)
    # Leader election on a Lease (several replicas, one reconciling).
    leader_election: Annotated[bool, _parsed(_boolean)] = Field(False, description="true or false")
    lease_name: NonEmpty = Field(
        "semantic-router-operator",
        description="the name of the Lease the replicas elect their leader on",
    )
    # Empty: the operator's own namespace (its ServiceAccount's).
    lease_namespace: Annotated[str, _parsed(_lease_namespace)] = Field(
        "", description="a namespace name, or empty for the operator's own namespace"
    )
    lease_duration: Annotated[float, _parsed(_lease_duration)] = Field(
        10.0, description="a number of seconds of at least 3"
    )
    # Seconds before the first retry of a failure the cluster can fix (a quota, a release
    # or an object in the way); each further retry waits twice as long, up to the maximum
    # (which rises to the first retry's wait when only that is set).
    retry_backoff: PositiveSeconds = Field(30.0, description=POSITIVE_SECONDS)
    retry_backoff_max: PositiveSeconds = Field(
        900.0,
        description="a number of seconds greater than 0, at least SR_OPERATOR_RETRY_BACKOFF",
    )
    # Seconds one helm install/upgrade/uninstall may take before it counts as failed.
    helm_timeout: PositiveSeconds = Field(
        float(release.HELM_TIMEOUT_SECONDS), description=POSITIVE_SECONDS
    )
    # Helm release revisions kept per SemanticRouter (`helm upgrade --history-max`).
    release_history: PositiveInt = Field(release.HISTORY_MAX, description=POSITIVE_INT)
    # Port of the Prometheus metrics endpoint; 0 disables it.
    metrics_port: Annotated[int, _parsed(_port)] = Field(
        8080, description="a port number between 0 (disabled) and 65535"
    )
    # kopf's liveness endpoint (`kopf run --liveness`); empty disables it.
    liveness_endpoint: Text = Field(
        "http://0.0.0.0:8081/healthz",
        description="a URL such as http://0.0.0.0:8081/healthz, or empty to disable",
    )
    # Peering lets several operator replicas agree on one active instance.
    peering_name: Text = Field(
        "", description="the name of a kopf peering object, or empty to run standalone"
    )
    # Images for routers that name none (RELATED_IMAGE_*, not prefixed: OLM's convention).
    related_images: RelatedImages = RelatedImages()

    @model_validator(mode="wrap")
    @classmethod
    def _retry_maximum_covers_the_first_retry(
        cls, data: Any, handler: ModelWrapValidatorHandler[Settings]
    ) -> Settings:
        settings = handler(data)
        if settings.retry_backoff_max >= settings.retry_backoff:
            return settings
        if "retry_backoff_max" in settings.model_fields_set or not isinstance(data, dict):
            raise _Invalid(
                "retry_backoff_max", f"below {PREFIX}RETRY_BACKOFF={settings.retry_backoff:g}"
            )
        return handler({**data, "retry_backoff_max": settings.retry_backoff})

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces

    def release_settings(self) -> release.ReleaseSettings:
        """How helm is run for every release, from these settings."""
        return release.ReleaseSettings(
            helm=self.helm_binary,
            chart=self.chart_path,
            timeout_seconds=max(1, int(self.helm_timeout)),
            history_max=self.release_history,
            max_concurrent=self.helm_concurrency,
        )


def variables() -> dict[str, str]:
    """Each SR_OPERATOR_ variable and the field it sets, in the order of the fields."""
    fields = (name for name in Settings.model_fields if name != "related_images")
    return {PREFIX + name.upper(): name for name in fields}


def _explain(error: Any, given: Mapping[str, str]) -> str:
    cause = error.get("ctx", {}).get("error")
    field = cause.field if isinstance(cause, _Invalid) else str(error["loc"][0])
    reason = str(cause) if cause is not None else error["msg"]
    name = PREFIX + field.upper()
    expected = Settings.model_fields[field].description
    return f"{name}={given[field]!r} is invalid ({reason}); set it to {expected}"


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: the process environment); unknown variables are errors."""
    env = os.environ if env is None else env
    known = variables()
    unknown = sorted(name for name in env if name.startswith(PREFIX) and name not in known)
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(unknown)}; known settings: {', '.join(known)}"
        )
    given = {field: env[name] for name, field in known.items() if name in env}
    try:
        return Settings.model_validate({**given, "related_images": _related_images(env)})
    except ValidationError as exc:
        raise SettingsError(_explain(exc.errors()[0], given)) from None
