"""What the operator does when an owned object changes: status refresh or drift repair.

The watches (`watches.OwnedWatches`) hand every meaningful change here. Changes are
queued per router and handled one batch at a time, so a burst of events (a rollout)
costs one status refresh, not one per event. A batch that may hold drift is judged under
the router's lock (never while helm runs for it) against helm's latest deployed manifest,
on a fresh read of each object (`drift.assess`); drift is repaired by a helm upgrade with
the router's unchanged values, within the router's repair budget (`repairs`), with a
`DriftRepaired` event naming the objects. Over budget, the repair waits for the budget and
the router's status says so (`driftRepair.limitedUntil`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

import kopf

from semantic_router_operator import drift, lifecycle, owned
from semantic_router_operator.drift import Drift
from semantic_router_operator.kube import KubeApiError
from semantic_router_operator.models import GROUP, PLURAL, VERSION
from semantic_router_operator.reconcile import Operator
from semantic_router_operator.repairs import RepairBudget, RepairLimit
from semantic_router_operator.runstate import uid_of
from semantic_router_operator.watches import Change, Meaning

log = logging.getLogger(__name__)

MANIFEST_CACHE = 32  # releases whose parsed manifest is kept (LRU)
HELM_SECRET_LABELS = {"owner": "helm"}


@dataclass
class RepairState:
    """The repair record of one router, as its status reports it."""

    budget: RepairBudget
    last: str = ""
    last_time: str = ""
    limited_until: float = 0.0

    def as_status(self, wall: Callable[[float], str], now: float) -> dict[str, Any]:
        report: dict[str, Any] = {
            "repairs": self.budget.total,
            "limit": self.budget.limit.describe(),
        }
        if self.last:
            report["lastRepaired"] = self.last
            report["lastRepairTime"] = self.last_time
        if self.limited_until > now:
            report["limitedUntil"] = wall(self.limited_until)
        return report


def rfc3339_in(seconds_from_now: float) -> str:
    when = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=seconds_from_now)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Reactions:
    op: Operator
    limit: RepairLimit = field(default_factory=RepairLimit)
    # SemanticRouter name of a release (namespace, release), from the operator's index.
    router_name: Callable[[str, str], str] = lambda namespace, release: release
    clock: Callable[[], float] = time.monotonic
    _pending: dict[tuple[str, str], list[Change]] = field(default_factory=dict)
    _tasks: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict)
    _states: dict[tuple[str, str], RepairState] = field(default_factory=dict)
    _manifests: OrderedDict[tuple[str, str, int], dict[tuple[str, str], dict[str, Any]]] = field(
        default_factory=OrderedDict
    )
    _timers: dict[tuple[str, str], asyncio.TimerHandle] = field(default_factory=dict)

    # -- the sink

    async def __call__(self, change: Change) -> None:
        self.enqueue(change)

    def enqueue(self, change: Change) -> None:
        key = (change.namespace, change.release)
        self._pending.setdefault(key, []).append(change)
        task = self._tasks.get(key)
        if task is None or task.done():
            shared = self.op.handler_context
            context = shared.copy() if shared is not None else None
            self._tasks[key] = asyncio.create_task(self._drain(key), context=context)

    async def _drain(self, key: tuple[str, str]) -> None:
        while self._pending.get(key):
            await asyncio.sleep(0)  # let a burst of events gather
            changes = self._pending.pop(key)
            try:
                await self._handle(key, changes)
            except Exception:
                log.exception(f"reacting to changes of release {key[0]}/{key[1]} failed")

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def status_of(self, namespace: str, release: str) -> dict[str, Any] | None:
        """The `driftRepair` status of a router (None before its first drift)."""
        state = self._states.get((namespace, release))
        if state is None:
            return None
        now = self.clock()
        return state.as_status(lambda at: rfc3339_in(at - now), now)

    # -- one batch

    async def _router(self, namespace: str, release: str) -> kopf.Body | None:
        name = self.router_name(namespace, release)
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{PLURAL}/{quote(name)}"
        found = await self.op.reader.get(path)
        if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
            return None
        return kopf.Body(cast(kopf.RawBody, found))

    async def _handle(self, key: tuple[str, str], changes: list[Change]) -> None:
        namespace, release = key
        if all(change.meaning is Meaning.STATUS for change in changes):
            read = self.op.workload_read.get(key, 0.0)
            if read > max(change.at for change in changes):
                return  # a reconcile read the Deployment after these changes arrived
        body = await self._router(namespace, release)
        if body is None:
            return
        found: list[Drift] = []
        if any(change.meaning is Meaning.CHECK for change in changes):
            async with self.op.remember(uid_of(body)).lock:  # never while helm runs
                found = await self._drifts(namespace, release, changes)
        if not found:
            await self._check(key, body, trigger="watch")
            return
        state = self._states.setdefault(key, RepairState(RepairBudget(self.limit)))
        now = self.clock()
        described = "; ".join(d.describe() for d in found)
        if not state.budget.take(now):
            until = state.budget.next_allowed(now)
            if state.limited_until <= now:
                message = (
                    f"Drift not repaired yet ({described}): {self.limit.describe()}; "
                    f"next repair in {until - now:.0f}s"
                )
                kopf.event(body, type="Warning", reason="DriftRepairLimited", message=message)
                log.warning(f"{namespace}/{release}: {message}")
            state.limited_until = until
            self._later(key, changes, until - now)
            await self._check(key, body, trigger="watch")
            return
        state.last, state.last_time = described, rfc3339_in(0)
        state.limited_until = 0.0
        await self._check(key, body, trigger="drift", force=True)
        message = f"Restored {described} with a helm upgrade of the unchanged values"
        kopf.event(body, type="Normal", reason="DriftRepaired", message=message)
        log.info(f"{namespace}/{release}: {message}")

    async def _check(
        self, key: tuple[str, str], body: kopf.Body, *, trigger: str, force: bool = False
    ) -> None:
        """The router's reconcile and status write; a write that lost a race (the router
        changed meanwhile: HTTP 409) is done again, status only, on a fresh read."""
        for attempt in range(3):
            try:
                await lifecycle.check(self.op, body, trigger=trigger, force=force)
                return
            except kopf.TemporaryError:
                if attempt == 2:
                    raise
                fresh = await self._router(*key)
                if fresh is None:
                    return
                body, trigger, force = fresh, "watch", False

    def _later(self, key: tuple[str, str], changes: list[Change], delay: float) -> None:
        """Judge `changes` again once the budget allows a repair."""
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()

        def again() -> None:
            self._timers.pop(key, None)
            for change in changes:
                self.enqueue(change)

        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(0.0, delay), again)

    # -- drift

    async def _drifts(self, namespace: str, release: str, changes: list[Change]) -> list[Drift]:
        manifest = await self._manifest(namespace, release)
        if manifest is None:
            return []
        found = []
        seen = set()
        for change in changes:
            if change.meaning is not Meaning.CHECK:
                continue
            ident = (change.kind.kind, change.name)
            if ident in seen:
                continue
            seen.add(ident)
            expected = manifest.get(ident)
            if expected is None:
                continue
            path = f"{change.kind.collection(namespace)}/{quote(change.name)}"
            try:
                live = await self.op.reader.get(path)
            except KubeApiError as exc:
                log.warning(f"cannot read {path} to check it for drift: {exc}")
                continue
            verdict = drift.assess(expected, live, namespace)
            if verdict is not None:
                found.append(verdict)
        return found

    async def _manifest(
        self, namespace: str, release: str
    ) -> dict[tuple[str, str], dict[str, Any]] | None:
        """The objects of the release's deployed revision (None: no deployed revision)."""
        secrets = await self.op.reader.list_objects(
            f"/api/v1/namespaces/{quote(namespace)}/secrets",
            {**HELM_SECRET_LABELS, "name": release, "status": "deployed"},
            metadata_only=True,
        )
        versions = []
        for secret in secrets:
            labels = (secret.get("metadata") or {}).get("labels") or {}
            with contextlib.suppress(ValueError):
                versions.append((int(labels.get("version", "")), secret))
        if not versions:
            return None
        version, secret = max(versions, key=lambda pair: pair[0])
        cache_key = (namespace, release, version)
        if cache_key in self._manifests:
            self._manifests.move_to_end(cache_key)
            return self._manifests[cache_key]
        name = str((secret.get("metadata") or {}).get("name"))
        full = await self.op.reader.get(f"/api/v1/namespaces/{quote(namespace)}/secrets/{name}")
        encoded = ((full or {}).get("data") or {}).get("release")
        if not encoded:
            return None
        record = drift.decode_release(encoded)
        objects = {
            ident: obj
            for ident, obj in drift.manifest_objects(str(record.get("manifest") or "")).items()
            if ident[0] in owned.BY_KIND
        }
        self._manifests[cache_key] = objects
        while len(self._manifests) > MANIFEST_CACHE:
            self._manifests.popitem(last=False)
        return objects
