"""kopf handlers: one reconcile for create/update/resume, a timer, and a delete handler.

The handlers are thin: they hand the object to `Operator`, which reads (discovery,
platform, Deployment, Route), decides with pure functions (models, values, status) and
writes (helm through the release manager, the status, Events).

One reconcile, as data flows (docs/architecture.md; its steps are in `reconcile`):

    spec → models → discovery → platform → values → digest unchanged? stop → helm → status

`register()` puts the handlers on a kopf registry; `configure()` sets kopf's storage so
that only a digest of the spec is kept on the object (specs can be megabytes, and an
annotation holds at most 256 KiB).
"""

from __future__ import annotations

import contextvars
import logging
import random
from collections.abc import Mapping
from typing import Any

import kopf

from semantic_router_operator import lifecycle, models, status, wiring
from semantic_router_operator.kopfstate import DIFFBASE, PROGRESS
from semantic_router_operator.observe import ADOPT_ANNOTATION, router_entry
from semantic_router_operator.reconcile import Operator
from semantic_router_operator.runstate import Logger

FINALIZER = "vllm.ai/semantic-router-operator"

__all__ = ["ADOPT_ANNOTATION", "FINALIZER", "Operator", "configure", "register", "write_status"]


# --- kopf configuration ---------------------------------------------------------------------------


def configure(settings: kopf.OperatorSettings, *, namespaced: bool = False) -> None:
    """kopf settings of this operator: its own finalizer and small annotations only.
    `namespaced`: it watches only the namespaces named in SR_OPERATOR_NAMESPACES."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = PROGRESS
    settings.persistence.diffbase_storage = DIFFBASE
    # The operator posts its own Events (kopf.event); from log lines, only errors become
    # Events, so that periodic checks never flood the object's event list.
    settings.posting.level = logging.ERROR
    # Long watches with a client-side bound, so a silently dropped connection is noticed.
    # A SemanticRouter being deleted keeps its finalizer until its drift timer has exited;
    # a timer caught mid-run is checked again after this many seconds (kopf's default: 60).
    settings.background.cancellation_polling = 2
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # Named namespaces are watched as given: kopf neither lists nor watches Namespaces
    # (which the operator's role does not allow) nor CRDs. Otherwise it would try, be
    # refused and warn at every start. The CRD must then exist when the operator starts.
    settings.scanning.disabled = namespaced


def write_status(
    patch: Any, previous: Mapping[str, Any] | None, fresh: models.SemanticRouterStatus
) -> None:
    """Put the status change into kopf's patch (applied to the status subresource)."""
    if status.changed(previous, fresh):
        for key, value in status.as_patch(previous, fresh).items():
            patch.status[key] = value


# --- kopf registration ----------------------------------------------------------------------------


def register(registry: kopf.OperatorRegistry, op: Operator) -> None:
    """Put this operator's handlers on `registry`."""
    _register_process(registry, op)
    _register_router(registry, op)
    wiring.register(registry, op)


def _register_process(registry: kopf.OperatorRegistry, op: Operator) -> None:
    """The operator process's handlers: start-up settings, login, cleanup."""

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings, namespaced=not op.settings.clusterwide)

    @kopf.on.login(registry=registry)
    async def login(**kwargs: Any) -> Any:
        info = op.login(**kwargs)
        if info is not None:
            op.reader.use(info)
        return info

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await op.reader.close()


def _register_router(registry: kopf.OperatorRegistry, op: Operator) -> None:
    """The SemanticRouter handlers: the index, the reconcile, the drift timer, delete."""
    resource = (models.GROUP, models.VERSION, models.PLURAL)

    @kopf.index(*resource, registry=registry, id="routers")
    def routers(body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, Any]:
        if op.handler_context is None:
            op.handler_context = contextvars.copy_context()
        return {str(namespace): router_entry(body)}

    @kopf.on.resume(*resource, registry=registry, id="reconcile")
    @kopf.on.create(*resource, registry=registry, id="reconcile")
    @kopf.on.update(*resource, registry=registry, id="reconcile")
    async def reconcile(
        body: kopf.Body,
        patch: kopf.Patch,
        reason: str,
        retry: int,
        logger: Logger,
        **kwargs: Any,
    ) -> None:
        op.routers = kwargs["routers"]
        outcome = await op.reconcile(body, trigger=str(reason), logger=logger, retry=retry)
        write_status(patch, body.get("status"), outcome.status)
        if outcome.error is not None:
            raise outcome.error

    # First run one interval after the object is seen: create and resume have just
    # reconciled it (a run at once would repeat every read for every object on start-up).
    @kopf.timer(
        *resource,
        registry=registry,
        id="drift",
        interval=op.settings.timer_interval,
        initial_delay=op.settings.timer_interval,
    )
    async def check(body: kopf.Body, logger: Logger, **kwargs: Any) -> None:
        op.routers = kwargs["routers"]
        # A random pause spreads the checks of many routers over the interval.
        stopped = kwargs.get("stopped")
        if op.settings.timer_jitter > 0 and stopped is not None:
            await stopped.wait(random.uniform(0, op.settings.timer_jitter))
            if stopped:
                return
        await lifecycle.check(op, body, logger=logger, retry=int(kwargs.get("retry") or 0))

    @kopf.on.delete(*resource, registry=registry, id="uninstall")
    async def delete(body: kopf.Body, retry: int, logger: Logger, **_: Any) -> None:
        await lifecycle.uninstall(op, body, logger=logger, retry=retry)
