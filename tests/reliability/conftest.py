"""Fixtures of the reliability tier: a faulty cluster, helm's storage, a running operator."""

from __future__ import annotations

import sys
import traceback
from collections.abc import AsyncIterator

import kmock
import pytest
import pytest_asyncio

from tests.reliability.faults import FaultyCluster
from tests.reliability.harness import COUNTS, MEASURES, Env, exempt_client
from tests.reliability.store import ReleaseStore

# CPython 3.11 finds the carets of a traceback line with ast.parse, and the AST module's
# state is not thread-safe (python/cpython#106905): the operator's thread logs tracebacks
# while the emulator formats others, and some later parse, anywhere in the session, fails
# with "SystemError: AST constructor recursion depth mismatch". Tracebacks lose only
# their ^^^ markers.
if sys.version_info < (3, 12):
    traceback._extract_caret_anchors_from_line_segment = lambda segment: None  # type: ignore[attr-defined]


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """A cluster, an empty release store and one running operator.

    Mark a test with ``@pytest.mark.store(render="values", ...)`` to pass options to the
    store, ``@pytest.mark.release(timeout_seconds=1, ...)`` for the helm settings and
    ``@pytest.mark.operator(timer_interval=5, ...)`` for the operator's settings.
    """
    store_marker = request.node.get_closest_marker("store")
    release_marker = request.node.get_closest_marker("release")
    operator_marker = request.node.get_closest_marker("operator")
    cluster = FaultyCluster.standard()
    async with cluster, kmock.Server(cluster) as server:
        url = str(server.url).rstrip("/")
        client = await exempt_client(url)
        store = ReleaseStore(url, **(store_marker.kwargs if store_marker else {}))
        environment = Env(
            cluster,
            client,
            url,
            store,
            release_settings=dict(release_marker.kwargs) if release_marker else {},
        )
        try:
            await environment.start(**(operator_marker.kwargs if operator_marker else {}))
            yield environment
        finally:
            cluster.heal()
            await environment.stop_all()
            await store.close()
            await client.session.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURES or COUNTS:
        terminalreporter.section("reliability measures")
        for line in MEASURES:
            terminalreporter.write_line(line)
        if COUNTS:
            outcomes = ", ".join(f"{key}={value}" for key, value in sorted(COUNTS.items()))
            terminalreporter.write_line(f"property outcomes: {outcomes}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "store(**options): options of the ReleaseStore")
    config.addinivalue_line("markers", "release(**settings): ReleaseSettings of the operator")
    config.addinivalue_line("markers", "operator(**settings): Settings of the operator")
