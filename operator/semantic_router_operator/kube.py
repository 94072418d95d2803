"""The operator's Kubernetes API client: plain HTTP with the credentials kopf logged in with.

Reads (`get`, `list_objects`) serve discovery, the platform checks and the status; the
only writes besides kopf's are `merge_patch`es of the operator's own SemanticRouters from
the drift timer. Every failure, read or write, is a `KubeApiError`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp

# Lists answered with object metadata only (falls back to full objects on old servers).
METADATA_ONLY_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)

Obj = Mapping[str, Any]


class KubeApiError(RuntimeError):
    """The Kubernetes API could not answer a read, or take one of the operator's few
    writes (network, server or permission trouble).

    ``retry_after`` is the server's ``Retry-After`` (seconds) when it asked for one (429,
    503): the request must not be retried sooner.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """The delay of a ``Retry-After`` header given in seconds (None when absent or an
    HTTP date, which the API server never sends)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return max(seconds, 0.0) if seconds is not None else None


class KubeReader(Protocol):
    """Read-only access to the Kubernetes API, enough for discovery and status."""

    async def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path` (e.g. ``/api/v1/namespaces/ns/services/x``); None if absent."""
        ...

    async def list_objects(
        self, path: str, labels: Mapping[str, str] | None = None, *, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        """The items of the collection at `path` whose labels include `labels`.

        With `metadata_only`, the server may answer with metadata alone (no data/spec).
        """
        ...


def labels_match(obj: Obj, selector: Mapping[str, str]) -> bool:
    """True when the object carries every label of `selector` with the same value."""
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


def label_selector(labels: Mapping[str, str]) -> str:
    """The `labelSelector` query value for equality-based `labels`."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


async def _answer(
    response: aiohttp.ClientResponse, path: str, *, write: bool = False
) -> dict[str, Any] | None:
    """The JSON body of an answer; None on 404; `KubeApiError` on any other error status."""
    if response.status == 404:
        return None
    if not write and response.status in (401, 403):
        raise KubeApiError(
            f"the Kubernetes API refused to read {path} (HTTP {response.status}): "
            "check the operator's RBAC (ClusterRole) grants get/list on it"
        )
    if response.status >= 400:
        text = (await response.text())[:300]
        message = (
            f"writing {path} failed with HTTP {response.status}: {text}"
            if write
            else f"reading {path} failed with HTTP {response.status}: {text}"
        )
        raise KubeApiError(message, retry_after_seconds(response.headers.get("Retry-After")))
    answer: dict[str, Any] = await response.json(content_type=None)
    return answer


class ConnectionLike(Protocol):
    """What `KubeClient` needs of kopf's ConnectionInfo."""

    server: str

    def as_http_headers(self) -> dict[str, str]: ...

    def as_ssl_context(self) -> ssl.SSLContext: ...


def api_session(info: ConnectionLike, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """An HTTP session to the API server with the operator's credentials (TLS for https)."""
    ssl_context: ssl.SSLContext | bool = (
        info.as_ssl_context() if info.server.startswith("https") else False
    )
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ssl_context),
        headers=info.as_http_headers(),
        timeout=timeout,
    )


class KubeClient:
    """`KubeReader` over HTTP, with the credentials kopf logged in with.

    `use()` is called from the login handler each time kopf (re-)authenticates, so the
    reader follows token rotation. Label selectors are sent to the server and checked
    again on the answer.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._info: ConnectionLike | None = None
        self._session: aiohttp.ClientSession | None = None
        self._stale: list[aiohttp.ClientSession] = []
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ready = asyncio.Event()

    def use(self, info: ConnectionLike) -> None:
        """Switch to new credentials; the next read opens a new session."""
        self._info = info
        if self._session is not None:
            self._stale.append(self._session)
            self._session = None
        self._ready.set()

    async def _close_stale(self) -> None:
        while self._stale:
            await self._stale.pop().close()

    async def close(self) -> None:
        await self._close_stale()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _open(self) -> tuple[aiohttp.ClientSession, str]:
        if self._info is None:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout=self._timeout.total)
            except TimeoutError:
                raise KubeApiError("no Kubernetes API credentials yet (login pending)") from None
        await self._close_stale()
        info = self._info
        assert info is not None
        if self._session is None or self._session.closed:
            self._session = api_session(info, self._timeout)
        return self._session, info.server.rstrip("/")

    async def _request(
        self, path: str, params: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any] | None:
        session, server = await self._open()
        try:
            async with session.get(server + path, params=params, headers=headers) as response:
                return await _answer(response, path)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeApiError(f"reading {path} failed: {exc or type(exc).__name__}") from exc

    async def get(self, path: str) -> dict[str, Any] | None:
        return await self._request(path, {})

    async def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """Merge-patch the object at `path`; None when it is gone.

        The operator's only writes besides kopf's: the status of its own SemanticRouters
        and one annotation on them, from the drift timer (see handlers.Operator.check).
        A ``metadata.resourceVersion`` in `body` makes the API refuse (409) a patch
        computed from an outdated object.
        """
        session, server = await self._open()
        headers = {"Content-Type": "application/merge-patch+json"}
        try:
            async with session.patch(server + path, json=dict(body), headers=headers) as response:
                return await _answer(response, path, write=True)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeApiError(f"writing {path} failed: {exc or type(exc).__name__}") from exc

    async def list_objects(
        self, path: str, labels: Mapping[str, str] | None = None, *, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector(labels)} if labels else {}
        headers = {"Accept": METADATA_ONLY_ACCEPT} if metadata_only else None
        body = await self._request(path, params, headers)
        items: list[dict[str, Any]] = list((body or {}).get("items") or [])
        return [item for item in items if labels_match(item, labels or {})]
