"""Leader election on a coordination.k8s.io Lease: of several operator replicas, exactly
one reconciles.

Each replica tries to take the Lease; the one holding it runs the operator and renews it
every `renew_every` seconds; the others wait, retrying every `retry_every` seconds, and
take it over once it has not been renewed for `duration` seconds (the holder was killed)
or at once when the holder gave it up (a clean stop). A holder that cannot renew within
`renew_deadline` (< `duration`) stops reconciling and exits before anyone else may take
over, so two replicas never reconcile at once. The Lease's resourceVersion makes every
take-over a compare-and-swap: of two standbys, one wins.

`decide` (pure) says what a replica does with the Lease as it finds it; `LeaseElector`
does the reads and writes.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from semantic_router_operator.kube import ConnectionLike

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass(frozen=True)
class LeaseTerms:
    """Where the Lease is and how long a holder keeps it."""

    name: str
    namespace: str
    duration: float = 10.0
    renew_every: float = 2.0
    renew_deadline: float = 7.0
    retry_every: float = 1.0


class Verdict(enum.Enum):
    ACQUIRE = "acquire"  # free, expired or given up: take it
    RENEW = "renew"  # ours: renew it
    WAIT = "wait"  # another replica holds it


def _parse(stamp: str | None) -> datetime.datetime | None:
    if not stamp:
        return None
    try:
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def micro_time(when: datetime.datetime) -> str:
    """A Kubernetes MicroTime."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decide(spec: Mapping[str, Any] | None, me: str, now: datetime.datetime) -> Verdict:
    """What replica `me` does with a Lease whose spec is `spec` (None: no Lease yet)."""
    spec = spec or {}
    holder = str(spec.get("holderIdentity") or "")
    if holder == me:
        return Verdict.RENEW
    if not holder:
        return Verdict.ACQUIRE
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    duration = float(spec.get("leaseDurationSeconds") or 0)
    if renewed is None or renewed + datetime.timedelta(seconds=duration) <= now:
        return Verdict.ACQUIRE
    return Verdict.WAIT


def claimed(
    spec: Mapping[str, Any] | None, me: str, now: datetime.datetime, terms: LeaseTerms
) -> dict[str, Any]:
    """The Lease spec once `me` holds (or has renewed) it."""
    spec = dict(spec or {})
    stamp = micro_time(now)
    if spec.get("holderIdentity") != me:
        spec["acquireTime"] = stamp
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (
            1 if spec.get("holderIdentity") else 0
        )
    spec.update(
        holderIdentity=me,
        leaseDurationSeconds=max(1, round(terms.duration)),
        renewTime=stamp,
    )
    return spec


def default_namespace(read: Callable[[], str] | None = None) -> str:
    """The operator's own namespace (its ServiceAccount's), else "default"."""
    try:
        text = read() if read else open(SERVICE_ACCOUNT_NAMESPACE).read()  # noqa: SIM115
    except OSError:
        return "default"
    return text.strip() or "default"


class LeaseError(RuntimeError):
    pass


class LeaseElector:
    """Acquire, hold and release the Lease for replica `identity`."""

    def __init__(
        self,
        info: ConnectionLike,
        terms: LeaseTerms,
        identity: str,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(tz=datetime.UTC),
    ) -> None:
        self.info, self.terms, self.identity, self.clock = info, terms, identity, clock
        self._session: aiohttp.ClientSession | None = None

    @property
    def _path(self) -> str:
        ns = quote(self.terms.namespace)
        return f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_context: ssl.SSLContext | bool = (
                self.info.as_ssl_context() if self.info.server.startswith("https") else False
            )
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context),
                headers=self.info.as_http_headers(),
                timeout=aiohttp.ClientTimeout(total=max(1.0, self.terms.renew_every)),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = self.info.server.rstrip("/") + path
        async with self._open().request(method, url, json=body) as response:
            payload = await response.json(content_type=None)
            return response.status, payload

    async def try_once(self) -> bool:
        """One attempt to take or renew the Lease; True when this replica holds it."""
        status, lease = await self._call("GET", f"{self._path}/{quote(self.terms.name)}")
        if status == 404:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.terms.name, "namespace": self.terms.namespace},
                "spec": claimed(None, self.identity, self.clock(), self.terms),
            }
            status, _ = await self._call("POST", self._path, body)
            return status == 201
        if status >= 400:
            raise LeaseError(f"reading Lease {self.terms.namespace}/{self.terms.name}: {status}")
        spec = lease.get("spec") or {}
        if decide(spec, self.identity, self.clock()) is Verdict.WAIT:
            return False
        lease["spec"] = claimed(spec, self.identity, self.clock(), self.terms)
        # The resourceVersion in the body: a concurrent writer makes this a 409.
        status, _ = await self._call("PUT", f"{self._path}/{quote(self.terms.name)}", lease)
        return status == 200

    async def acquire(self) -> None:
        """Wait until this replica holds the Lease."""
        announced = False
        while True:
            try:
                if await self.try_once():
                    log.info(f"Leader election: {self.identity} holds the Lease; reconciling")
                    return
            except (aiohttp.ClientError, TimeoutError, LeaseError) as exc:
                log.warning(f"Leader election: cannot reach the Lease ({exc!r})")
            if not announced:
                log.info(
                    f"Leader election: another replica holds Lease "
                    f"{self.terms.namespace}/{self.terms.name}; standing by"
                )
                announced = True
            await asyncio.sleep(self.terms.retry_every)

    async def hold(self) -> None:
        """Renew the Lease until a renewal has failed for `renew_deadline`; then return
        (the caller stops reconciling at once)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.terms.renew_every)
            try:
                if await self.try_once():
                    last = loop.time()
                    continue
                log.error("Leader election: another replica took the Lease")
                return
            except (aiohttp.ClientError, TimeoutError, LeaseError) as exc:
                log.warning(f"Leader election: renewing the Lease failed ({exc!r})")
            if loop.time() - last >= self.terms.renew_deadline:
                log.error(
                    f"Leader election: the Lease was not renewed for "
                    f"{self.terms.renew_deadline:g}s; stopping"
                )
                return

    async def release(self) -> None:
        """Give the Lease up (a clean stop): a standby takes over without waiting."""
        try:
            status, lease = await self._call("GET", f"{self._path}/{quote(self.terms.name)}")
            if status != 200 or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"] = {**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1}
            await self._call("PUT", f"{self._path}/{quote(self.terms.name)}", lease)
            log.info("Leader election: Lease released")
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(f"Leader election: releasing the Lease failed ({exc!r})")


def identity() -> str:
    """This replica's name on the Lease: its pod (host) name, process and a random tag."""
    import os
    import secrets
    import socket

    return f"{socket.gethostname()}_{os.getpid()}_{secrets.token_hex(3)}"


async def serve_health(endpoint: str) -> Any:
    """A liveness endpoint for a standby replica (kopf serves it once this one leads);
    None when `endpoint` is empty. Returns the runner to clean up."""
    if not endpoint:
        return None
    from urllib.parse import urlparse

    from aiohttp import web

    url = urlparse(endpoint)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"leader": False})

    app = web.Application()
    app.router.add_get(url.path or "/", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, url.hostname, url.port or 80).start()
    return runner


async def _stand_by(elector: LeaseElector, stop: asyncio.Event, liveness_endpoint: str) -> bool:
    """Answer the liveness probe until this replica holds the Lease (True) or is told to
    stop (SIGTERM, SIGINT: False)."""
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    health = await serve_health(liveness_endpoint)
    try:
        acquiring = asyncio.create_task(elector.acquire())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            acquiring.cancel()
            return False
        stopping.cancel()
        return True
    finally:
        if health is not None:
            await health.cleanup()  # the port is kopf's from here on
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def run_elected(
    info: ConnectionLike,
    terms: LeaseTerms,
    operate: Callable[[asyncio.Event], Any],
    liveness_endpoint: str = "",
    me: str | None = None,
    on_lost: Callable[[], None] | None = None,
) -> int:
    """Stand by until this replica holds the Lease, then `operate(stop)` (the operator,
    stopping when `stop` is set) while renewing it. On SIGTERM: stop and give the Lease
    up. When the Lease is lost: stop at once, and `on_lost()` (default: exit the process)
    if the operator has not stopped within a second, so that it never reconciles beside
    the next leader."""
    import os

    elector = LeaseElector(info, terms, me or identity())
    stop = asyncio.Event()
    if not await _stand_by(elector, stop, liveness_endpoint):
        return 0
    holding = asyncio.create_task(elector.hold())
    operating = asyncio.create_task(operate(stop))
    try:
        await asyncio.wait({holding, operating}, return_when=asyncio.FIRST_COMPLETED)
        if holding.done():
            stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(operating), timeout=1.0)
            except TimeoutError:
                (on_lost or (lambda: os._exit(1)))()
            return 1
        holding.cancel()
        await elector.release()
        return 0
    finally:
        await elector.close()
