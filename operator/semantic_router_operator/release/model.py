"""What the release layer speaks: its settings, a release and a revision as helm reports
them, the failure reasons, `ReleaseError` and the `ReleaseManager` protocol."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

DESCRIPTION_PREFIX: Final = "semantic-router-operator values digest "
OWNER_LABEL: Final = "semantic-router.vllm.ai/owner-uid"
"""helm release label (on helm's release Secrets) naming the SemanticRouter, by uid, that
the operator installed the release for."""
PENDING: Final = frozenset({"pending-install", "pending-upgrade", "pending-rollback"})
GOOD: Final = frozenset({"deployed", "superseded"})
SUPPORTED_MAJORS: Final = frozenset({3, 4})
MAX_STDERR: Final = 2000

# How helm is run unless the operator's settings (SR_OPERATOR_*) say otherwise; the settings
# take their defaults from here, so each has one value.
HELM_BINARY: Final = "helm"
HELM_TIMEOUT_SECONDS: Final = 300
HISTORY_MAX: Final = 10
MAX_CONCURRENT: Final = 4

_DIGEST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._+-]{0,127}$")
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ReleaseSettings(BaseModel):
    """How helm is run. Built by the operator settings; every field has a safe default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    helm: str = Field(HELM_BINARY, description="helm binary (path or name on PATH)")
    chart: Path = Field(description="chart directory (or .tgz) installed for every release")
    timeout_seconds: int = Field(
        HELM_TIMEOUT_SECONDS, ge=1, description="helm --timeout per Kubernetes operation"
    )
    history_max: int = Field(HISTORY_MAX, ge=1, description="revisions kept per release")
    max_concurrent: int = Field(MAX_CONCURRENT, ge=1, description="helm processes running at once")
    wait: bool = Field(False, description="let helm wait for readiness (blocks a handler)")
    kubeconfig: Path | None = Field(None, description="kubeconfig; unset in cluster")
    kube_context: str | None = Field(None, description="kubeconfig context")
    env: dict[str, str] = Field(
        default_factory=dict, description="extra environment for helm (HELM_CACHE_HOME ...)"
    )
    grace_seconds: int = Field(
        30, ge=0, description="time a helm process gets beyond --timeout before it is stopped"
    )

    @property
    def deadline_seconds(self) -> float:
        """Longest time one helm process may run before it is stopped."""
        return float(self.timeout_seconds + self.grace_seconds)


@dataclass(frozen=True)
class ReleaseInfo:
    """One revision of a release as helm reports it (values and manifest left out)."""

    name: str
    namespace: str
    revision: int
    status: str
    chart_version: str | None
    app_version: str | None = None
    digest: str | None = None
    description: str = ""
    updated: datetime | None = None
    chart_name: str | None = None

    @property
    def deployed(self) -> bool:
        return self.status == "deployed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class Revision:
    """One row of ``helm history``."""

    revision: int
    status: str
    chart: str = ""
    app_version: str = ""
    description: str = ""
    updated: datetime | None = None

    @property
    def digest(self) -> str | None:
        return digest_from_description(self.description)


Reason = Literal[
    "ClusterUnreachable",
    "Timeout",
    "OperationInProgress",
    "Conflict",
    "ServerError",
    "Cancelled",
    "HelmFailed",
    "SchemaInvalid",
    "RenderFailed",
    "InvalidResource",
    "AdmissionDenied",
    "ResourceExists",
    "Forbidden",
    "QuotaExceeded",
    "ChartNotFound",
    "UnsupportedHelm",
    "HelmMissing",
    "InvalidInput",
    "NotFound",
]


class ReleaseError(Exception):
    """A helm operation failed. ``transient`` errors are worth retrying with backoff.

    ``detail`` is helm's stderr with credentials scrubbed; values are never included.
    """

    def __init__(
        self,
        operation: str,
        name: str,
        namespace: str,
        *,
        reason: Reason,
        transient: bool,
        detail: str,
        rolled_back_to: int | None = None,
    ) -> None:
        self.operation = operation
        self.name = name
        self.namespace = namespace
        self.reason: Reason = reason
        self.transient = transient
        self.detail = detail
        self.rolled_back_to = rolled_back_to
        target = f" {namespace}/{name}" if name else ""
        message = f"helm {operation}{target} failed ({reason}): {detail}"
        if rolled_back_to is not None:
            message += f"; rolled back to revision {rolled_back_to}"
        super().__init__(message)


class ReleaseManager(Protocol):
    """What the operator needs from releases; tests may swap in another implementation."""

    async def apply(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        digest: str,
        owner: str = "",
        repair: bool = False,
    ) -> ReleaseInfo: ...

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None: ...

    async def uninstall(self, name: str, namespace: str) -> None: ...

    async def template(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        api_versions: Sequence[str] = (),
    ) -> str: ...

    def chart_version(self) -> str: ...


def describe(digest: str) -> str:
    """The release description that records `digest`."""
    return DESCRIPTION_PREFIX + digest


def digest_from_description(description: str | None) -> str | None:
    if not description or not description.startswith(DESCRIPTION_PREFIX):
        return None
    return description[len(DESCRIPTION_PREFIX) :].strip() or None
