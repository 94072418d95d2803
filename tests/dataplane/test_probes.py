"""The chart's router probes, as rendered, run like the kubelet against a stand-in that serves
exactly what the router serves: they pass while it is up and fail once it is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from tests.dataplane.conftest import MODEL_A
from tests.dataplane.extproc import RouterStub, StandInRouter
from tests.dataplane.kubelet import HEALTH_CHECK, POD_IP, run_probe
from tests.support import router_contract
from tests.support.helm import CHART, render

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def rendered_router_container(values: dict[str, Any] | None = None) -> dict[str, Any]:
    objs = render([CHART / "ci" / "simple-values.yaml"], values=values, release="probes")
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "router"]
    return container


@pytest.fixture
async def stand_in() -> AsyncIterator[StandInRouter]:
    router = StandInRouter(RouterStub([MODEL_A]))
    await router.start()
    try:
        yield router
    finally:
        await router.stop()


@pytest.mark.timeout(60)
async def test_the_stand_in_answers_no_grpc_health_check_like_the_router(
    stand_in: StandInRouter,
) -> None:
    assert router_contract.GRPC_SERVICES == ("envoy.service.ext_proc.v3.ExternalProcessor",)
    port = stand_in.ports[router_contract.LISTENERS["grpc"].port]
    async with grpc.aio.insecure_channel(f"{POD_IP}:{port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await channel.unary_unary(HEALTH_CHECK)(b"", timeout=10)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.timeout(60)
async def test_the_charts_probes_pass_while_the_router_is_up(stand_in: StandInRouter) -> None:
    container = rendered_router_container()
    for kind in PROBES:
        result = await run_probe(container, kind, stand_in.ports)
        assert result.passed, f"{kind}: {result.detail}"


@pytest.mark.timeout(60)
async def test_the_charts_probes_fail_once_the_router_is_down(stand_in: StandInRouter) -> None:
    container = rendered_router_container()
    await stand_in.stop()
    for kind in PROBES:
        result = await run_probe(container, kind, stand_in.ports)
        assert not result.passed, f"{kind} passed with the router down: {result.detail}"


@pytest.mark.timeout(60)
async def test_a_grpc_health_probe_would_never_pass_against_the_router(
    stand_in: StandInRouter,
) -> None:
    """What the chart used to render: the kubelet would restart the router forever."""
    container = rendered_router_container()
    container["readinessProbe"] = {"grpc": {"port": router_contract.LISTENERS["grpc"].port}}
    result = await run_probe(container, "readinessProbe", stand_in.ports)
    assert not result.passed
    assert "UNIMPLEMENTED" in result.detail


@pytest.mark.timeout(60)
async def test_a_probe_of_the_loopback_management_api_would_never_pass(
    stand_in: StandInRouter,
) -> None:
    """The management API listens on 127.0.0.1: the kubelet, probing the pod IP, cannot reach it."""
    assert router_contract.LISTENERS["api"].bind == router_contract.LOOPBACK
    container = rendered_router_container()
    # Not published as a container port either (managementApi.expose is off): by number.
    assert "api" not in {p["name"] for p in container["ports"]}
    port = router_contract.LISTENERS["api"].port
    container["readinessProbe"] = {"httpGet": {"port": port, "path": "/health"}}
    result = await run_probe(container, "readinessProbe", stand_in.ports)
    assert not result.passed, result.detail


@pytest.mark.timeout(60)
async def test_the_metrics_port_is_reachable_on_the_pod_ip_like_the_routers(
    stand_in: StandInRouter,
) -> None:
    container = rendered_router_container()
    container["livenessProbe"] = {"httpGet": {"port": "metrics", "path": "/metrics"}}
    result = await run_probe(container, "livenessProbe", stand_in.ports)
    assert result.passed, result.detail
