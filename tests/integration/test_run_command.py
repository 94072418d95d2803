"""`semantic-router-operator run` as a process: kubeconfig login, real helm, liveness,
metrics. helm itself cannot deploy to the emulated API server (it needs the OpenAPI
document), so the release fails, and that failure must reach the status."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import kmock
import pytest_asyncio
import yaml

from tests.support.cluster import Client, Cluster
from tests.support.helm import helm_binary

ROUTERS = "vllm.ai/v1alpha1/semanticrouters"
COMMAND = Path(sys.executable).parent / "semantic-router-operator"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[tuple[Client, str]]:
    emulator = Cluster.standard()
    async with emulator, kmock.Server(emulator) as server:
        url = str(server.url).rstrip("/")
        yield Client(server.client, url), url


async def test_run_command_reconciles_and_serves_liveness_and_metrics(
    cluster: tuple[Client, str], tmp_path: Path
) -> None:
    client, url = cluster
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emulated", "cluster": {"server": url}}],
                "users": [{"name": "nobody", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "emulated", "user": "nobody"}}],
                "current-context": "c",
            }
        )
    )
    metrics_port, health_port = free_port(), free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(tmp_path),
        "HELM_CACHE_HOME": str(tmp_path / "helm-cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "helm-config"),
        "HELM_DATA_HOME": str(tmp_path / "helm-data"),
        "SR_OPERATOR_HELM_BINARY": helm_binary(4),
        "SR_OPERATOR_METRICS_PORT": str(metrics_port),
        "SR_OPERATOR_LIVENESS_ENDPOINT": f"http://127.0.0.1:{health_port}/healthz",
        "SR_OPERATOR_TIMER_INTERVAL": "1",
        "SR_OPERATOR_HELM_TIMEOUT": "20",
    }
    log_path = tmp_path / "operator.log"
    with log_path.open("w") as log:
        proc = await asyncio.create_subprocess_exec(
            str(COMMAND), "run", env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await client.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "vllm-qwen", "namespace": "default"},
                "spec": {"ports": [{"port": 8000}]},
            }
        )
        await client.create(
            {
                "apiVersion": "vllm.ai/v1alpha1",
                "kind": "SemanticRouter",
                "metadata": {"name": "r", "namespace": "default"},
                "spec": {
                    "persistence": {"enabled": False},
                    "vllmEndpoints": [
                        {
                            "name": "qwen",
                            "model": "qwen2.5-7b",
                            "backend": {
                                "type": "service",
                                "service": {"name": "vllm-qwen", "port": 8000},
                            },
                        }
                    ],
                },
            }
        )

        async def release_failed() -> dict[str, object]:
            obj = await client.get(ROUTERS, "default", "r")
            for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
                if cond["type"] == "ReleaseFailed" and cond["status"] == "True":
                    return dict(cond)
            return {}

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        cond = await release_failed()
        while not cond:
            assert proc.returncode is None, log_path.read_text()[-3000:]
            assert loop.time() < deadline, log_path.read_text()[-3000:]
            await asyncio.sleep(0.2)
            cond = await release_failed()
        assert str(cond["message"]).startswith("helm upgrade default/r failed")

        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{health_port}/healthz") as response:
                assert response.status == 200
            async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
                metrics = await response.text()
        samples = set(metrics.splitlines())
        install_failed = '{action="install",result="failure"} 1.0'
        assert f"semantic_router_operator_helm_runs_total{install_failed}" in samples
        failed = '{name="r",namespace="default",state="failed"} 1.0'
        assert f"semantic_router_operator_release_state{failed}" in samples
        assert any(line.startswith("semantic_router_operator_reconciles_total") for line in samples)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    output = log_path.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert "Detected standard Kubernetes platform - will use standard security contexts" in output
    assert "Timer 'drift' succeeded" not in output
