"""Watches of the objects the releases own: one per kind, selected by the chart's labels.

Each watch lists its kind once (label-selected, on the server), then follows the API's
watch stream from that list's resourceVersion, with bookmarks; an expired version (410)
relists, and an object that vanished meanwhile is reported as deleted. Every change is
reduced to what it means (`classify`) and handed to the `sink` with the object's release:
the Operator refreshes the router's status or checks it for drift.

Only kinds the cluster serves and the operator may list and watch are watched
(`owned.watchable`): API discovery and a SelfSubjectAccessReview per kind, at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from semantic_router_operator import drift, owned
from semantic_router_operator.kube import ConnectionLike, api_session, label_selector
from semantic_router_operator.owned import OwnedKind

log = logging.getLogger(__name__)

# Seconds the API server keeps one watch request open (it closes it then; we reopen).
WATCH_SECONDS = 300
RECONNECT_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


class Meaning(enum.Enum):
    """What an owned object's change asks of its router."""

    STATUS = "status"  # only its status changed: the router's status may follow
    CHECK = "check"  # its content changed or it is gone: maybe drift


# Kinds whose status the router's status is computed from.
STATUS_KINDS = frozenset({"Deployment", "Route"})


def classify(event: str, kind: str, before: str | None, after: str | None) -> Meaning | None:
    """The meaning of a watch event: `before` / `after` are the object's content digests
    (`drift.content_digest`) before and after it (None: unknown / gone)."""
    if event == "DELETED":
        return Meaning.CHECK
    if before is None:
        # New to us: helm creating it (or restoring it). Its status may matter.
        return Meaning.STATUS if kind in STATUS_KINDS else None
    if before != after:
        return Meaning.CHECK
    return Meaning.STATUS if kind in STATUS_KINDS else None


@dataclass(frozen=True)
class Change:
    """One meaningful change of an owned object."""

    kind: OwnedKind
    namespace: str
    release: str
    name: str
    meaning: Meaning
    obj: Mapping[str, Any]
    # When the watch received it (monotonic seconds).
    at: float = field(default_factory=time.monotonic)


Sink = Callable[[Change], Awaitable[None]]


class OwnedWatches:
    """The watches; `use()` from kopf's login handler, `start()` once logged in."""

    def __init__(self, sink: Sink, namespaces: Sequence[str] = ()) -> None:
        self.sink = sink
        self.namespaces = tuple(namespaces)
        self.kinds: list[OwnedKind] = []
        self._info: ConnectionLike | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # (kind, namespace, name) → (content digest, release) of every object seen.
        self._known: dict[tuple[str, str, str], tuple[str, tuple[str, str] | None]] = {}
        self.synced = asyncio.Event()
        self._pending_lists = 0

    def use(self, info: ConnectionLike) -> None:
        self._info = info
        if self._session is not None:
            old, self._session = self._session, None
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(old.close())

    def _open(self) -> tuple[aiohttp.ClientSession, str]:
        info = self._info
        if info is None:
            raise RuntimeError("no Kubernetes API credentials yet")
        if self._session is None or self._session.closed:
            self._session = api_session(info, aiohttp.ClientTimeout(total=None, sock_connect=30))
        return self._session, info.server.rstrip("/")

    # -- start-up: which kinds

    async def _served(self) -> dict[str, list[str]]:
        session, server = self._open()
        served: dict[str, list[str]] = {}
        for api_version in sorted({kind.api_version for kind in owned.KINDS}):
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            async with session.get(server + path) as response:
                if response.status != 200:
                    continue
                body = await response.json(content_type=None)
            served[api_version] = [str(r.get("name")) for r in body.get("resources") or []]
        return served

    async def _may_watch(self, kind: OwnedKind) -> bool:
        session, server = self._open()
        for namespace in self.namespaces or ("",):
            for verb in ("list", "watch"):
                review = {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    "spec": {
                        "resourceAttributes": {
                            "group": kind.group,
                            "resource": kind.plural,
                            "verb": verb,
                            **({"namespace": namespace} if namespace else {}),
                        }
                    },
                }
                path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
                async with session.post(server + path, json=review) as response:
                    if response.status >= 400:
                        return False
                    body = await response.json(content_type=None)
                if not (body.get("status") or {}).get("allowed"):
                    return False
        return True

    async def start(self) -> list[str]:
        """Choose the kinds and start one watch per kind (per named namespace); the kinds
        left out, with why."""
        served = await self._served()
        allowed = {
            kind: await self._may_watch(kind)
            for kind in owned.KINDS
            if kind.plural in served.get(kind.api_version, ())
        }
        self.kinds, skipped = owned.watchable(owned.KINDS, served, allowed)
        scopes = [(kind, ns) for kind in self.kinds for ns in (self.namespaces or (None,))]
        self._pending_lists = len(scopes)
        if not scopes:
            self.synced.set()
        for kind, namespace in scopes:
            self._tasks.append(asyncio.create_task(self._follow(kind, namespace)))
        return skipped

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- one watch

    async def _follow(self, kind: OwnedKind, namespace: str | None) -> None:
        version: str | None = None
        failures = 0
        first = True
        while True:
            try:
                if version is None:
                    version = await self._list(kind, namespace, announce=not first)
                    if first:
                        first = False
                        self._pending_lists -= 1
                        if self._pending_lists <= 0:
                            self.synced.set()
                version = await self._watch(kind, namespace, version)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream broke: reconnect after a pause
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning(f"watch of {kind.plural} interrupted ({exc!r}); again in {delay:g}s")
                await asyncio.sleep(delay)

    def _params(self) -> dict[str, str]:
        return {"labelSelector": label_selector(owned.SELECTOR)}

    async def _list(self, kind: OwnedKind, namespace: str | None, *, announce: bool) -> str:
        """List the kind; after a relist (`announce`), report objects gone meanwhile."""
        session, server = self._open()
        async with session.get(server + kind.collection(namespace), params=self._params()) as r:
            if r.status >= 400:
                raise RuntimeError(f"listing {kind.plural}: HTTP {r.status}")
            body = await r.json(content_type=None)
        seen = set()
        for item in body.get("items") or []:
            item.setdefault("kind", kind.kind)
            key = self._key(kind, item)
            seen.add(key)
            if announce:
                await self._event("MODIFIED", kind, item)
            else:
                self._known[key] = (drift.content_digest(item), owned.release_of(item))
        if announce:
            for key in [k for k in self._known if k[0] == kind.kind and k not in seen]:
                if namespace is None or key[1] == namespace:
                    _, ns, name = key
                    ghost = {"kind": kind.kind, "metadata": {"namespace": ns, "name": name}}
                    await self._event("DELETED", kind, ghost)
        return str((body.get("metadata") or {}).get("resourceVersion") or "")

    async def _watch(self, kind: OwnedKind, namespace: str | None, version: str) -> str | None:
        """Follow the stream until the server closes it; the version to resume from, or
        None when it expired (relist)."""
        session, server = self._open()
        params = {
            **self._params(),
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": version,
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        async with session.get(server + kind.collection(namespace), params=params) as response:
            if response.status == 410:
                return None
            if response.status >= 400:
                raise RuntimeError(f"watching {kind.plural}: HTTP {response.status}")
            async for line in response.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind_of_event = str(event.get("type"))
                obj = event.get("object") or {}
                if kind_of_event == "ERROR":
                    if int(obj.get("code") or 0) == 410:
                        return None
                    raise RuntimeError(f"watch of {kind.plural}: {obj.get('message')}")
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind_of_event == "BOOKMARK":
                    continue
                obj.setdefault("kind", kind.kind)
                await self._event(kind_of_event, kind, obj)
        return version

    @staticmethod
    def _key(kind: OwnedKind, obj: Mapping[str, Any]) -> tuple[str, str, str]:
        meta = obj.get("metadata") or {}
        return kind.kind, str(meta.get("namespace") or ""), str(meta.get("name") or "")

    async def _event(self, event: str, kind: OwnedKind, obj: Mapping[str, Any]) -> None:
        key = self._key(kind, obj)
        known = self._known.get(key)
        before = known[0] if known else None
        after: str | None = None
        if event == "DELETED":
            self._known.pop(key, None)
            where = owned.release_of(obj) or (known[1] if known else None)
        else:
            after = drift.content_digest(obj)
            where = owned.release_of(obj)
            self._known[key] = (after, where)
        meaning = classify(event, kind.kind, before, after)
        if meaning is None or where is None:
            return
        namespace, release = where
        try:
            await self.sink(Change(kind, namespace, release, key[2], meaning, obj))
        except Exception:  # one router's trouble must not end the watch of all
            log.exception(f"handling a change of {kind.kind} {namespace}/{key[2]} failed")
