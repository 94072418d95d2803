"""What the operator benchmarks share: the emulated cluster and the driver's client (the
tests' harness, `tests.support.harness`), the operator process, the CRs.

The emulator runs in this process; the operator runs in a child process (so that its
memory is its own), started with `bench.operator_proc`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import kmock
import yaml
from semantic_router_operator.settings import Settings

from bench.emulator import DRIVER_AGENT, KSERVE, BenchCluster
from tests.support.cluster import Client
from tests.support.harness import ApiEnv, router_object

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SIMPLE = SAMPLES / "vllm.ai_v1alpha1_semanticrouter_simple.yaml"
STARTUP_TIMEOUT = 60.0


class BenchError(RuntimeError):
    """A benchmark could not complete (the operator died, a wait ran out)."""


@functools.cache
def _sample_spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(path.read_text())["spec"]
    return spec


@dataclass(frozen=True)
class Fleet:
    """N SemanticRouters shaped like the simple sample, `per_namespace` to a namespace
    (as teams would have them), with what they need in the cluster."""

    size: int
    per_namespace: int = 10

    @property
    def members(self) -> list[tuple[str, str]]:
        """(namespace, name) of every SemanticRouter."""
        return [
            (f"team-{i // self.per_namespace:03d}", f"router-{i:04d}") for i in range(self.size)
        ]

    @property
    def namespaces(self) -> list[str]:
        return sorted({namespace for namespace, _ in self.members})

    def routers(self) -> list[dict[str, Any]]:
        spec = _sample_spec(SIMPLE)
        return [
            router_object(name, copy.deepcopy(spec), namespace) for namespace, name in self.members
        ]

    def prerequisites(self) -> list[dict[str, Any]]:
        """The simple sample's InferenceService in every namespace, and its StorageClass."""
        isvcs = [
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": "llama-3-8b", "namespace": namespace},
                "spec": {},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
            for namespace in self.namespaces
        ]
        storage_class = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "standard"},
            "provisioner": "kubernetes.io/no-provisioner",
        }
        return [storage_class, *isvcs]


@dataclass
class Env(ApiEnv):
    """The emulated API server and a driver client (requests not counted as the operator's)."""

    cluster: BenchCluster


@contextlib.asynccontextmanager
async def emulated_cluster(*optional: str) -> AsyncIterator[Env]:
    """An emulated API server serving the core resources, the CRD and `optional` APIs."""
    cluster = BenchCluster.standard(KSERVE, *optional)
    async with (
        cluster,
        kmock.Server(cluster) as server,
        aiohttp.ClientSession(headers={"User-Agent": DRIVER_AGENT}) as session,
    ):
        url = str(server.url).rstrip("/")
        yield Env(cluster, Client(session, url), url)


async def wait_until(
    check: Callable[[], bool], what: str, timeout: float, proc: OperatorProcess | None = None
) -> float:
    """Poll `check` until it holds; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.exited:
            raise BenchError(f"the operator exited while waiting for {what}:\n{proc.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic()


async def quiet(cluster: BenchCluster, seconds: float, timeout: float = 120.0) -> None:
    """Wait until the operator has sent no request (watches aside) for `seconds`."""
    deadline = time.monotonic() + timeout
    last, since = cluster.operator_requests(watches=False), time.monotonic()
    while time.monotonic() - since < seconds:
        if time.monotonic() > deadline:
            raise BenchError(f"the operator did not go quiet within {timeout:g}s")
        await asyncio.sleep(0.05)
        now = cluster.operator_requests(watches=False)
        if now != last:
            last, since = now, time.monotonic()


class OperatorProcess:
    """`bench.operator_proc` in a child process: start, sample memory, stop, report."""

    def __init__(
        self,
        url: str,
        *,
        apply_seconds: float = 0.0,
        concurrency: int = 4,
        timer_interval: float = Settings().timer_interval,
        timer_jitter: float = Settings().timer_jitter,
    ) -> None:
        self.url = url
        self.options = {
            "--apply-seconds": str(apply_seconds),
            "--concurrency": str(concurrency),
            "--timer-interval": str(timer_interval),
            "--timer-jitter": str(timer_jitter),
        }
        self._dir = tempfile.TemporaryDirectory(prefix="sr-bench-")
        self.report_path = Path(self._dir.name) / "report.json"
        self.log_path = Path(self._dir.name) / "operator.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0
        self.ready_at = 0.0
        self.baseline_rss_kib = 0
        self.peak_sampled_kib = 0
        self._sampler: asyncio.Task[None] | None = None
        self.report: dict[str, Any] | None = None
        self.final_log = ""

    @property
    def exited(self) -> bool:
        return self.proc is None or self.proc.returncode is not None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    async def start(self) -> None:
        args = [sys.executable, "-m", "bench.operator_proc", "--server", self.url]
        args += ["--report", str(self.report_path)]
        for flag, value in self.options.items():
            args += [flag, value]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "operator")])}
        with self.log_path.open("w") as log:
            self.started = time.monotonic()
            self.proc = await asyncio.create_subprocess_exec(
                *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), STARTUP_TIMEOUT)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self.stop()
            raise BenchError(f"the operator did not start:\n{self.log_tail()}")
        self.ready_at = time.monotonic()
        self.baseline_rss_kib = self.memory().get("VmRSS", 0)
        self._sampler = asyncio.create_task(self._sample())

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the operator process, in KiB."""
        if self.proc is None:
            return {}
        found = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(rest.split()[0])
        return found

    def cpu_seconds(self) -> float:
        """User and system CPU time the operator process has used so far."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime and stime: fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def _sample(self) -> None:
        while not self.exited:
            self.peak_sampled_kib = max(self.peak_sampled_kib, self.memory().get("VmRSS", 0))
            await asyncio.sleep(0.1)

    async def stop(self) -> dict[str, Any]:
        """SIGTERM, as Kubernetes stops a pod; the report the process wrote."""
        if self.report is not None:
            return self.report
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        report: dict[str, Any] = {}
        if self.report_path.exists():
            report = json.loads(self.report_path.read_text())
        self.final_log = self.log_tail(20000)
        self._dir.cleanup()
        self.report = report
        return report
