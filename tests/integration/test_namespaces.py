"""An operator confined to named namespaces (SR_OPERATOR_NAMESPACES) runs with the
least-privilege role: it never lists or watches Namespaces, which that role does not grant.

The emulated API server here answers 403 to a list or watch of Namespaces, as a cluster
applying config/rbac does, and records each such request.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
import attrs
import kmock
import pytest
import pytest_asyncio

from tests.integration.cluster import CORE_RESOURCES, Client, Cluster
from tests.integration.conftest import Env
from tests.integration.releases import FakeReleases

NAMESPACES = "/api/v1/namespaces"
WATCHED = "team-a"
OTHER = "team-b"


@attrs.define(kw_only=True)
class NoNamespaceAccess(Cluster):
    """A cluster whose API refuses to list or watch Namespaces, and records who asked."""

    namespace_requests: list[str] = attrs.field(factory=list)

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if raw_request.path.rstrip("/") == NAMESPACES:
            self.namespace_requests.append(f"{raw_request.method} {raw_request.path_qs}")
            status = {
                "apiVersion": "v1",
                "kind": "Status",
                "status": "Failure",
                "reason": "Forbidden",
                "code": 403,
                "message": 'namespaces is forbidden: cannot list resource "namespaces" in API '
                'group "" at the cluster scope',
            }
            return aiohttp.web.json_response(status, status=403)
        return await super().__call__(raw_request)


@pytest_asyncio.fixture
async def confined() -> AsyncIterator[tuple[Env, NoNamespaceAccess]]:
    """The operator started with SR_OPERATOR_NAMESPACES=team-a."""
    cluster = NoNamespaceAccess()
    for resource, info in CORE_RESOURCES.items():
        cluster.serve(resource, **info)
    async with cluster, kmock.Server(cluster) as server:
        url = str(server.url).rstrip("/")
        env = Env(cluster, Client(server.client, url), url, FakeReleases(url))
        try:
            await env.start(namespaces=(WATCHED,))
            yield env, cluster
        finally:
            for operator in list(env.running):
                with contextlib.suppress(Exception):
                    await env.stop(operator)
            await env.releases.close()


def spec() -> dict[str, Any]:
    return {
        "persistence": {"enabled": False},
        "vllmEndpoints": [
            {
                "name": "qwen",
                "model": "qwen2.5-7b",
                "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
            }
        ],
    }


async def add_backend(env: Env, namespace: str) -> None:
    await env.client.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "vllm-qwen", "namespace": namespace},
            "spec": {"ports": [{"port": 8000}]},
        }
    )


async def test_named_namespaces_are_served_without_listing_or_watching_namespaces(
    confined: tuple[Env, NoNamespaceAccess], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    env, cluster = confined
    for namespace in (WATCHED, OTHER):
        await add_backend(env, namespace)
    await env.create_router("my-router", spec(), namespace=OTHER)
    await env.create_router("my-router", spec(), namespace=WATCHED)

    await env.wait_runs(1)
    assert [(run.namespace, run.name) for run in env.releases.runs] == [(WATCHED, "my-router")]
    await env.wait_timer(2)
    assert [run.namespace for run in env.releases.runs] == [WATCHED]
    assert await env.status("my-router", OTHER) == {}

    assert cluster.namespace_requests == []
    assert not [m for m in caplog.messages if "permissions" in m and "namespaces" in m]
    env.report("named namespaces")
