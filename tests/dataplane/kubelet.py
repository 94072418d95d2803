"""Run a rendered container probe the way the kubelet does, against processes on this machine.

The contract copied (Kubernetes `pkg/probe` and the Pod API reference, core/v1 Probe):

- the kubelet probes the pod IP, never the container's loopback: a process listening on
  127.0.0.1 only cannot be probed. Here the pod IP is `POD_IP`, 127.0.0.2: Linux routes all of
  127.0.0.0/8 to the loopback device, so it reaches sockets bound to 0.0.0.0 (as on a pod IP)
  but not sockets bound to 127.0.0.1 only;
- `port` is a number or the name of one of the container's ports;
- `tcpSocket`: success when a TCP connection opens within `timeoutSeconds`;
- `httpGet`: success on a status from 200 to 399 within `timeoutSeconds`;
- `grpc`: the standard `grpc.health.v1.Health/Check` (service `""` unless `service` is set);
  success only on status SERVING; any error (UNIMPLEMENTED included) is a failure;
- `exec`: runs a command inside the container, which this tier cannot do: it is reported as an
  error rather than passed.

A test process listens on free ports, so `ports` maps the container port numbers the chart
renders to the ports actually listened on; an unmapped port fails loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import grpc

POD_IP = "127.0.0.2"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
SERVING = b"\x08\x01"  # HealthCheckResponse{status: SERVING}


class ProbeError(RuntimeError):
    """The probe cannot be run here (an exec probe, an unknown port)."""


@dataclass(frozen=True)
class Result:
    """One probe run: passed, and what was seen."""

    passed: bool
    detail: str


def container_port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    if len(named) != 1:
        raise ProbeError(f"probe port {port!r} is not a port of container {container['name']}")
    return int(named[0])


async def _tcp(port: int, timeout: float) -> Result:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(POD_IP, port)
    except (OSError, TimeoutError) as exc:
        return Result(False, f"tcp {POD_IP}:{port}: {exc!r}")
    writer.close()
    await writer.wait_closed()
    return Result(True, f"tcp {POD_IP}:{port} open")


async def _http(port: int, action: Mapping[str, Any], timeout: float) -> Result:
    scheme = str(action.get("scheme", "HTTP")).lower()
    url = f"{scheme}://{POD_IP}:{port}{action.get('path', '/')}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, allow_redirects=False) as resp,
        ):
            return Result(200 <= resp.status < 400, f"GET {url}: {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Result(False, f"GET {url}: {exc!r}")


async def _grpc(port: int, action: Mapping[str, Any], timeout: float) -> Result:
    service = str(action.get("service", ""))
    request = (b"\x0a" + bytes([len(service)]) + service.encode()) if service else b""
    async with grpc.aio.insecure_channel(f"{POD_IP}:{port}") as channel:
        check = channel.unary_unary(HEALTH_CHECK)
        try:
            answer = await check(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return Result(False, f"grpc health {POD_IP}:{port}: {exc.code().name}")
    return Result(answer == SERVING, f"grpc health {POD_IP}:{port}: {answer!r}")


async def run_probe(container: Mapping[str, Any], kind: str, ports: Mapping[int, int]) -> Result:
    """Run the container's probe `kind` (e.g. `readinessProbe`) once, as the kubelet would."""
    probe = container[kind]
    timeout = float(probe.get("timeoutSeconds", 1))
    actions = [a for a in ("tcpSocket", "httpGet", "grpc", "exec") if a in probe]
    if len(actions) != 1:
        raise ProbeError(f"{kind} must have exactly one action, has {actions}")
    (action,) = actions
    if action == "exec":
        raise ProbeError(f"{kind}: an exec probe runs inside the container; not runnable here")
    number = container_port(container, probe[action]["port"])
    if number not in ports:
        raise ProbeError(f"{kind}: container port {number} is not served by the stand-in")
    port = ports[number]
    if action == "tcpSocket":
        return await _tcp(port, timeout)
    if action == "httpGet":
        return await _http(port, probe[action], timeout)
    return await _grpc(port, probe[action], timeout)
