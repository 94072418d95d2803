"""Gateway mode routes each chat request through the router (ext_proc) to its model's backend.

The chart renders the HTTPRoute and the attachment (Envoy Gateway: EnvoyExtensionPolicy and
ClientTrafficPolicy; Istio: EnvoyFilter); `tests/dataplane/gateway.py` builds the Envoy config
the Gateway runs from them, and the real Envoy runs it with the strict router stand-in and two
fake model servers behind their Services.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import aiohttp
import pytest

from tests.dataplane.conftest import MODEL_A, MODEL_B, Backends, StartEnvoy, serving
from tests.dataplane.envoy_proc import RunningEnvoy
from tests.dataplane.extproc import RouterStub
from tests.dataplane.gateway import envoy_gateway_config, istio_config
from tests.support.helm import render

NAMESPACE = "llm"
RELEASE = "gw"
IMPLEMENTATIONS = ["envoy-gateway", "istio"]
UNKNOWN = "no-such-model"


def chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hello, gateway"}]}


def gateway_values(backends: Backends, implementation: str, **gateway: Any) -> dict[str, Any]:
    """Gateway-mode values: each model behind a Service named after its fake server."""
    return {
        "gateway": {
            "existingRef": {"name": "inference-gw"},
            "implementation": implementation,
            **gateway,
        },
        "vllmEndpoints": [
            {
                "name": b.endpoint,
                "model": b.model,
                "backend": {"type": "service", "service": {"name": b.endpoint, "port": 8000}},
            }
            for b in backends.resolved()
        ],
    }


def gateway_config(backends: Backends, implementation: str, **gateway: Any) -> dict[str, Any]:
    """The Envoy config the Gateway runs for the chart's rendered gateway-mode objects."""
    objs = render(
        values=gateway_values(backends, implementation, **gateway),
        release=RELEASE,
        namespace=NAMESPACE,
    )
    # The Services the rendered objects name, resolved like EndpointSlices would: the fake
    # model servers, and the router's gRPC Service (its address is set by localize()).
    services = {f"{NAMESPACE}/{b.endpoint}:8000": b.port for b in backends.resolved()}
    services[f"{NAMESPACE}/{RELEASE}:50051"] = 50051
    if implementation == "envoy-gateway":
        return envoy_gateway_config(objs, services)
    # The buffer of Istio's gateway listener is the mesh's own setting, not the chart's.
    return istio_config(objs, services, buffer_limit=50 * 1024 * 1024)


Post = Callable[..., Coroutine[Any, Any, tuple[int, dict[str, Any]]]]


def poster(client: aiohttp.ClientSession, envoy: RunningEnvoy) -> Post:
    async def post(model: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        url = f"{envoy.url}/v1/chat/completions"
        async with client.post(url, json=chat(model), headers=dict(headers or {})) as resp:
            body = await resp.json() if resp.status == 200 else {"text": await resp.text()}
            return resp.status, body

    return post


@pytest.mark.timeout(120)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_each_model_reaches_its_backend_through_the_gateway(
    implementation: str,
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
) -> None:
    async with serving(RouterStub([MODEL_A, MODEL_B])) as router:
        envoy = await run_envoy(gateway_config(backends, implementation), router.port)
        post = poster(client, envoy)
        for model, backend in ((MODEL_A, "backend-a"), (MODEL_B, "backend-b")):
            status, body = await post(model)
            assert status == 200, body
            assert body["backend"] == backend

    assert [e.selected_model for e in router.stub.exchanges] == [MODEL_A, MODEL_B]
    # The processing mode of the router's reference config: the whole body, before routing.
    assert {e.request_body_mode for e in router.stub.exchanges} == {"BUFFERED"}
    assert len(backends[MODEL_A].requests) == len(backends[MODEL_B].requests) == 1
    assert backends[MODEL_B].requests[0].headers["x-selected-model"] == MODEL_B


@pytest.mark.timeout(120)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_a_request_the_router_does_not_route_reaches_the_default_model(
    implementation: str,
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
) -> None:
    async with serving(RouterStub([MODEL_A, MODEL_B], reject_unknown=False)) as router:
        envoy = await run_envoy(gateway_config(backends, implementation), router.port)
        await poster(client, envoy)(UNKNOWN)

    assert router.stub.exchanges[0].selected_model is None
    # providers.defaults.model (the first model) got it, and answered it its own way.
    assert [r.path for r in backends[MODEL_A].requests] == ["/v1/chat/completions"]
    assert backends[MODEL_B].requests == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
async def test_a_client_sent_selection_header_does_not_bypass_the_router(
    implementation: str,
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
) -> None:
    """Neither when the router chooses (its choice wins) nor when it does not (the header is
    gone before the Gateway picks a route, so the default model answers)."""
    async with serving(RouterStub([MODEL_A, MODEL_B], reject_unknown=False)) as router:
        envoy = await run_envoy(gateway_config(backends, implementation), router.port)
        post = poster(client, envoy)
        chosen = await post(MODEL_A, {"x-selected-model": MODEL_B})
        await post(UNKNOWN, {"x-selected-model": MODEL_B})

    assert chosen[0] == 200 and chosen[1]["backend"] == "backend-a"
    # The unrouted request went to the default model, not to the client's choice.
    assert len(backends[MODEL_A].requests) == 2
    assert backends[MODEL_B].requests == []
    # The router never saw the client's header either.
    assert all("x-selected-model" not in e.request_headers for e in router.stub.exchanges)


@pytest.mark.timeout(120)
async def test_without_dropping_the_header_a_client_could_pick_an_unrouted_backend(
    backends: Backends, run_envoy: StartEnvoy, client: aiohttp.ClientSession
) -> None:
    """What dropClientSelectedModel protects against: with it off (and no ClientTrafficPolicy
    of the user's doing the same), a request the router does not route follows the client's
    header."""
    config = gateway_config(backends, "envoy-gateway", dropClientSelectedModel=False)
    async with serving(RouterStub([MODEL_A, MODEL_B], reject_unknown=False)) as router:
        envoy = await run_envoy(config, router.port)
        await poster(client, envoy)(UNKNOWN, {"x-selected-model": MODEL_B})

    assert [r.path for r in backends[MODEL_B].requests] == ["/v1/chat/completions"]
    assert backends[MODEL_A].requests == []
