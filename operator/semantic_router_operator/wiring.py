"""The watches of the owned objects, put on the operator's kopf registry.

`register(registry, op)` adds a start-up handler that, once kopf has logged in, chooses
the kinds to watch (`watches.OwnedWatches.start`) and starts one watch per kind, whose
changes go to `reactions.Reactions` (status refresh, drift repair); and a clean-up
handler that stops them. The watches use the credentials kopf logs in with (the
operator's `login` is wrapped to hand them over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import kopf

from semantic_router_operator import owned
from semantic_router_operator.reactions import Reactions
from semantic_router_operator.repairs import RepairLimit
from semantic_router_operator.watches import OwnedWatches

log = logging.getLogger(__name__)


def router_name(routers: Mapping[str, Iterable[Any]] | None, namespace: str, release: str) -> str:
    """The SemanticRouter of `release` from the operator's `routers` index (entries
    (creationTimestamp, name, naming spec), oldest first); the release name before the
    index is known (short names are their own release name)."""
    if routers is None:
        return release
    entries = sorted(routers.get(namespace, ()))
    found = owned.router_of(release, [entry[1] for entry in entries])
    return found or release


async def start(owned_watches: OwnedWatches, logged_in: asyncio.Event) -> None:
    """Once kopf has logged in: choose the kinds and start their watches."""
    await logged_in.wait()
    try:
        skipped = await owned_watches.start()
    except Exception as exc:
        log.error(
            f"Cannot watch the objects the releases own ({exc!r}): drift is repaired "
            "by the periodic check only"
        )
        return
    kinds = ", ".join(kind.kind for kind in owned_watches.kinds)
    log.info(f"Watching the objects the releases own: {kinds}")
    for line in skipped:
        log.info(f"Not watched: {line}")


def register(registry: kopf.OperatorRegistry, op: Any) -> tuple[OwnedWatches, Reactions]:
    settings = op.settings
    reactions = Reactions(
        op,
        limit=RepairLimit(settings.repair_burst, settings.repair_window),
        router_name=lambda namespace, release: router_name(op.routers, namespace, release),
    )
    owned_watches = OwnedWatches(reactions, settings.namespaces)
    op.drift_status = reactions.status_of
    login = op.login
    logged_in = asyncio.Event()

    def login_and_share(**kwargs: Any) -> Any:
        info = login(**kwargs)
        if info is not None:
            owned_watches.use(info)
            logged_in.set()
        return info

    op.login = login_and_share
    tasks: list[asyncio.Task[None]] = []

    @kopf.on.startup(registry=registry)
    async def start_watches(**_: Any) -> None:
        tasks.append(asyncio.create_task(start(owned_watches, logged_in)))

    @kopf.on.cleanup(registry=registry)
    async def stop_watches(**_: Any) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await owned_watches.stop()
        await reactions.close()

    return owned_watches, reactions
