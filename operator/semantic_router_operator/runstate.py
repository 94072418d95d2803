"""What one reconcile carries and how it ends: the run, the per-router memory between
runs, `Stop` (the one way a step ends a reconcile) and what kopf is told of it."""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import kopf

from semantic_router_operator.kube import KubeReader
from semantic_router_operator.models.status import SemanticRouterStatus
from semantic_router_operator.release.model import ReleaseInfo
from semantic_router_operator.status import Observation, Problem

Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]
LoginFn = Callable[..., Any]

Retry = float | Literal["never"] | None
"""How kopf hears of a stopped reconcile: seconds until it retries (a TemporaryError);
"never" (a PermanentError: retried when the spec changes); None (nothing failed)."""


class Stop(Exception):
    """Ends a reconcile: the problem the status reports (None: nothing wrong) and the retry."""

    def __init__(self, problem: Problem | None = None, retry: Retry = None) -> None:
        super().__init__(problem.message if problem else "done")
        self.problem = problem
        self.retry = retry


@dataclass
class Run:
    """One reconcile of one SemanticRouter: what it was given and what it found so far."""

    body: kopf.Body
    trigger: str
    logger: Logger
    retry: int
    name: str  # the helm release (and the chart's object names derive from it)
    namespace: str
    memory: Memory
    obs: Observation
    want: str = ""  # the digest of the chart values
    force: bool = False  # a drift repair: helm runs even with these values deployed

    @property
    def known(self) -> ReleaseInfo | None:
        return self.obs.release

    @property
    def previous(self) -> Mapping[str, Any]:
        return self.body.get("status") or {}

    @property
    def owner(self) -> str:
        meta = self.body.get("metadata") or {}
        return f"{self.namespace}/{meta['name']}"


class Reader(KubeReader, Protocol):
    """A KubeReader that follows kopf's credentials."""

    def use(self, info: Any) -> None: ...

    async def close(self) -> None: ...

    async def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None: ...


def utcnow() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_login(**kwargs: Any) -> Any:
    """kopf's login through the kubernetes client (in-cluster account or kubeconfig)."""
    return kopf.login_via_client(**kwargs)


@dataclass
class Outcome:
    """What one reconcile did: the status to write, and the error to hand to kopf."""

    status: SemanticRouterStatus
    error: Exception | None = None


@dataclass
class Memory:
    """What this process knows about one SemanticRouter between reconciles."""

    release: ReleaseInfo | None = None
    # Values helm refused for good, and why: the timer leaves them alone (and keeps
    # reporting the failure) until they change.
    failed_digest: str = ""
    failure: Problem | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The resourceVersion the timer last found waiting for the change handlers.
    unhandled_version: str = ""
    # The shortfall (a part of the spec left out) last announced by a Warning event.
    shortfall: str = ""
    # The models-claim warning last announced.
    claim_warning: str = ""


def uid_of(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")


def kopf_error(stop: Stop) -> Exception | None:
    """What kopf is told of a stopped reconcile (see `Retry`)."""
    message = stop.problem.message if stop.problem else ""
    if stop.retry == "never":
        return kopf.PermanentError(message)
    if stop.retry is not None:
        return kopf.TemporaryError(message, delay=stop.retry)
    return None
