"""Fixtures of the dataplane tier: fake model servers, a stand-in router, the real Envoy.

Every process and server a test starts is stopped in its fixture's teardown; Envoy's log
is attached to the report of a failing test.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.dataplane.backends import FakeBackend
from tests.dataplane.envoy_proc import (
    EnvoyMissingError,
    RunningEnvoy,
    envoy_binary,
    start_envoy,
)
from tests.dataplane.extproc import RouterStub, serve
from tests.dataplane.localize import localize
from tests.dataplane.sources import Backend, chart_envoy_config

MODEL_A = "model-a"
MODEL_B = "model-b"
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_read=30)

ENVOYS = pytest.StashKey[list[RunningEnvoy]]()

StartEnvoy = Callable[[Mapping[str, Any], int], Awaitable[RunningEnvoy]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log of every Envoy the test started to the report of a failure."""
    report = yield
    if report.failed:
        for envoy in item.stash.get(ENVOYS, []):
            report.sections.append((f"envoy log ({envoy.log_path})", envoy.log()))
    return report


@pytest.fixture(scope="session", autouse=True)
def envoy_installed() -> Path:
    """The tier fails, loudly and with the fix, when the Envoy binary is missing."""
    try:
        return envoy_binary()
    except EnvoyMissingError as exc:
        pytest.fail(str(exc), pytrace=False)


@dataclass
class Backends:
    """The two fake model servers, by model name."""

    by_model: dict[str, FakeBackend]

    def __getitem__(self, model: str) -> FakeBackend:
        return self.by_model[model]

    def resolved(self) -> list[Backend]:
        return [Backend(f"{b.name}", m, b.port) for m, b in self.by_model.items()]


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    servers = {
        MODEL_A: FakeBackend("backend-a", [MODEL_A]),
        MODEL_B: FakeBackend("backend-b", [MODEL_B]),
    }
    try:
        for server in servers.values():
            await server.start()
        yield Backends(servers)
    finally:
        for server in servers.values():
            await server.stop()


@dataclass
class Router:
    """The stand-in router and the loopback port it serves ext_proc on."""

    stub: RouterStub
    port: int


@contextlib.asynccontextmanager
async def serving(stub: RouterStub) -> AsyncIterator[Router]:
    """Serve `stub` on a free loopback port for the duration of the block."""
    server, port = await serve(stub)
    try:
        yield Router(stub, port)
    finally:
        await server.stop(grace=None)


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    async with serving(RouterStub([MODEL_A, MODEL_B])) as served:
        yield served


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port held bound but never listening: connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
async def run_envoy(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StartEnvoy]:
    """Start the real Envoy on a rendered config, its ports moved to this test's own."""
    started: list[RunningEnvoy] = []
    request.node.stash[ENVOYS] = started

    async def start(config: Mapping[str, Any], extproc_port: int) -> RunningEnvoy:
        local = localize(config, listener_port=0, admin_port=0, extproc_port=extproc_port)
        envoy = await start_envoy(local, tmp_path / f"envoy-{len(started)}")
        started.append(envoy)
        return envoy

    try:
        yield start
    finally:
        for envoy in started:
            envoy.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        yield session


@dataclass
class Dataplane:
    """A standalone deployment on loopback: chart-rendered Envoy, router stub, two backends."""

    envoy: RunningEnvoy
    router: RouterStub
    backends: Backends
    rendered: dict[str, Any]
    client: aiohttp.ClientSession

    @property
    def chat_url(self) -> str:
        return f"{self.envoy.url}/v1/chat/completions"


@pytest.fixture
async def dataplane(
    backends: Backends,
    router: Router,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
) -> Dataplane:
    rendered = chart_envoy_config(backends.resolved())
    envoy = await run_envoy(rendered, router.port)
    return Dataplane(envoy, router.stub, backends, rendered, client)
