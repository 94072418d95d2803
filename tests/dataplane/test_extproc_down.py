"""With the router (ext_proc) down, Envoy fails the way values.yaml documents: fail closed
answers 5xx and reaches no backend; fail open serves the request from the default model."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.dataplane.conftest import MODEL_A, MODEL_B, Backends, StartEnvoy
from tests.dataplane.localize import ext_proc_config
from tests.dataplane.sources import chart_documented_values, chart_envoy_config

# The default model: the first endpoint's (`providers.defaults.model` unless set). Fail open
# sends the request on unchanged (the router rewrites nothing), so it names that model.
DEFAULT = MODEL_A
REQUEST = {"model": DEFAULT, "messages": [{"role": "user", "content": "is anyone there?"}]}


def documented_failure_mode_allow() -> bool:
    values = chart_documented_values()
    try:
        documented = values["envoy"]["extProc"]["failureModeAllow"]
    except (KeyError, TypeError) as exc:
        raise AssertionError(
            "values.yaml must document envoy.extProc.failureModeAllow (fail open or closed)"
        ) from exc
    assert isinstance(documented, bool), f"envoy.extProc.failureModeAllow is {documented!r}"
    return documented


async def send_with_router_down(
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
    closed_port: int,
    rendered: dict[str, Any],
) -> tuple[int, str]:
    envoy = await run_envoy(rendered, closed_port)
    async with client.post(f"{envoy.url}/v1/chat/completions", json=REQUEST) as resp:
        return resp.status, await resp.text()


def assert_behaves_as(failure_mode_allow: bool, status: int, body: str, backends: Backends) -> None:
    if failure_mode_allow:
        # Fail open: the request skips the router and is served by the default model.
        assert status == 200, (status, body)
        assert json.loads(body)["backend"] == "backend-a"
        assert len(backends[DEFAULT].requests) == 1
    else:
        # Fail closed: a server error, and no backend was reached.
        assert 500 <= status < 600, (status, body)
        assert backends[DEFAULT].requests == []
    assert backends[MODEL_B].requests == []


@pytest.mark.timeout(120)
async def test_with_the_router_down_envoy_follows_the_documented_failure_mode(
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
    closed_port: int,
) -> None:
    documented = documented_failure_mode_allow()
    rendered = chart_envoy_config(backends.resolved())
    assert ext_proc_config(rendered).get("failure_mode_allow", False) is documented

    status, body = await send_with_router_down(backends, run_envoy, client, closed_port, rendered)

    assert_behaves_as(documented, status, body, backends)


@pytest.mark.timeout(120)
async def test_with_the_router_down_the_other_failure_mode_behaves_as_set(
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
    closed_port: int,
) -> None:
    flipped = not documented_failure_mode_allow()
    rendered = chart_envoy_config(
        backends.resolved(), envoy={"extProc": {"failureModeAllow": flipped}}
    )
    assert ext_proc_config(rendered).get("failure_mode_allow", False) is flipped

    status, body = await send_with_router_down(backends, run_envoy, client, closed_port, rendered)

    assert_behaves_as(flipped, status, body, backends)


@pytest.mark.timeout(120)
async def test_a_client_sent_routing_header_cannot_reach_a_backend_when_the_router_is_down(
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
    closed_port: int,
) -> None:
    # Fail open is the only mode in which Envoy routes without the router: the client's own
    # x-selected-model must still not pick a backend; the default model serves.
    rendered = chart_envoy_config(
        backends.resolved(), envoy={"extProc": {"failureModeAllow": True}}
    )
    envoy = await run_envoy(rendered, closed_port)

    async with client.post(
        f"{envoy.url}/v1/chat/completions",
        json=REQUEST,
        headers={"x-selected-model": MODEL_B},
    ) as resp:
        status, body = resp.status, await resp.text()

    assert status == 200, (status, body)
    assert json.loads(body)["backend"] == "backend-a"
    assert backends[MODEL_B].requests == []


@pytest.mark.timeout(120)
async def test_fail_open_streams_from_the_default_model_with_the_router_down(
    backends: Backends,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
    closed_port: int,
) -> None:
    rendered = chart_envoy_config(
        backends.resolved(), envoy={"extProc": {"failureModeAllow": True}}
    )
    envoy = await run_envoy(rendered, closed_port)

    async with client.post(
        f"{envoy.url}/v1/chat/completions", json={**REQUEST, "stream": True}
    ) as resp:
        status = resp.status
        content_type = resp.headers.get("content-type", "")
        events = [line async for line in resp.content if line.startswith(b"data:")]

    assert status == 200
    assert content_type.startswith("text/event-stream")
    assert events[-1].strip() == b"data: [DONE]"
    assert len(events) > 2
    (record,) = backends[DEFAULT].streams
    assert record.events_sent == len(events)
    assert backends[MODEL_B].requests == []
