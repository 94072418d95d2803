"""A request for a model nobody serves ends in a clear JSON error, never in a hang."""

from __future__ import annotations

import aiohttp
import pytest

from tests.dataplane.conftest import MODEL_A, MODEL_B, Backends, Dataplane, StartEnvoy, serving
from tests.dataplane.extproc import RouterStub
from tests.dataplane.sources import chart_envoy_config

UNKNOWN = {"model": "no-such-model", "messages": [{"role": "user", "content": "hello?"}]}


@pytest.mark.timeout(120)
async def test_an_unknown_model_gets_the_routers_json_404(dataplane: Dataplane) -> None:
    """The router's immediate answer reaches the client as sent (status, type, body)."""
    async with dataplane.client.post(dataplane.chat_url, json=UNKNOWN) as resp:
        assert resp.status == 404
        assert resp.headers["content-type"].startswith("application/json")
        error = (await resp.json())["error"]

    assert error["code"] == "model_not_found"
    assert "no-such-model" in error["message"]
    assert dataplane.router.exchanges[0].rejected
    assert dataplane.backends[MODEL_A].requests == []
    assert dataplane.backends[MODEL_B].requests == []


@pytest.mark.timeout(120)
async def test_a_request_the_router_leaves_unrouted_gets_a_json_4xx_from_envoy(
    backends: Backends, run_envoy: StartEnvoy, client: aiohttp.ClientSession
) -> None:
    """When the router chooses no model, the sidecar answers itself rather than guessing."""
    async with serving(RouterStub([MODEL_A, MODEL_B], reject_unknown=False)) as router:
        envoy = await run_envoy(chart_envoy_config(backends.resolved()), router.port)
        async with client.post(f"{envoy.url}/v1/chat/completions", json=UNKNOWN) as resp:
            status = resp.status
            content_type = resp.headers.get("content-type", "")
            body = await resp.json(content_type=None)

    assert 400 <= status < 500
    assert content_type.startswith("application/json")
    assert body["error"]["message"]
    assert router.stub.exchanges[0].selected_model is None
    assert backends[MODEL_A].requests == []
    assert backends[MODEL_B].requests == []
