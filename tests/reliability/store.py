"""helm's release storage in memory, driven by the operator's real helm adapter.

The integration tier swaps the whole release step for a fake. Here only the helm
*process* is replaced: the operator uses the real `HelmReleases` (its per-release locks,
the recovery of releases stuck in ``pending-*``, the rollback after a failed upgrade,
the error mapping from helm's stderr), and each helm command it runs is answered in
process against a `ReleaseStore`:

- releases and revisions behave as in `tests.support.fakehelm` (same rules, same stderr);
- ``upgrade`` writes a ``pending-install``/``pending-upgrade`` revision first, renders the
  chart with the real helm binary, and only then records the deployed revision: a helm
  killed in between (the operator stopped, the task cancelled) leaves the release
  pending, exactly as a crashed helm does;
- helm's release Secrets (`tests.support.helmstorage`) and the router Deployment are
  mirrored into the emulated cluster, where the operator reads them;
- every command is recorded: mutating ones as `HelmRun` (with the values digest, and
  whether that digest was already deployed), and any two commands running on one
  release at the same time as an overlap.

The store is shared by every operator "process" of a test (threads, one after the
other), as the cluster's Secrets are shared by every operator pod.

Rendering: by default each (release, digest) is rendered once. With
``render="values"`` the chart is rendered once per distinct values digest (with the
first release's name) and other releases reuse it, their name substituted into the
Deployment: the load scenario runs hundreds of upgrades over a handful of specs.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from semantic_router_operator.release import (
    HelmCommand,
    HelmCommandError,
    HelmReleases,
    ReleaseSettings,
    digest_from_description,
)

from tests.reliability.faults import EXEMPT_HEADER
from tests.support import fakehelm
from tests.support.cluster import LoopClients
from tests.support.helm import release_settings
from tests.support.helmstorage import HelmStorage, Revision
from tests.support.releases import HelmStandIn

MUTATING = frozenset({"upgrade", "rollback", "uninstall"})
ON_A_RELEASE = MUTATING | {"status", "history"}
DEPLOYMENTS = "apps/v1/deployments"

Key = tuple[str, str]  # (namespace, name)


@dataclass
class HelmRun:
    """One mutating helm command."""

    command: str
    namespace: str
    name: str
    digest: str = ""
    redundant: bool = False  # an upgrade to the digest the release already had deployed
    ok: bool | None = None  # None while running (or when it never finished)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None


@dataclass
class Hold:
    """Parks matching upgrades after their pending revision is written."""

    namespace: str
    name: str
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


class ReleaseStore:
    """Every release of the emulated cluster, as helm's storage would hold them."""

    def __init__(
        self,
        url: str,
        *,
        render: Literal["release", "values"] = "release",
        api_versions: Sequence[str] = (),
    ) -> None:
        self.url = url
        self.render_mode = render
        self.api_versions = list(api_versions)
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {"major": 4, "releases": {}, "failures": [], "delays": {}}
        self.runs: list[HelmRun] = []
        self.commands: Counter[str] = Counter()
        self.overlaps: list[str] = []
        self.renders = 0
        self.holds: list[Hold] = []
        self._active: Counter[Key] = Counter()
        self._rendered: dict[Any, tuple[str, list[dict[str, Any]]]] = {}
        self._manifests: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        self._mirrored: dict[Key, dict[int, str]] = {}
        self._clients = LoopClients(url, {EXEMPT_HEADER: "helm"})
        self._mirror_locks: dict[tuple[asyncio.AbstractEventLoop, Key], asyncio.Lock] = {}

    # -- what tests look at and do

    def revisions(self, namespace: str, name: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.state["releases"].get(f"{namespace}/{name}") or []
            return [dict(row) for row in rows]

    def latest(self, namespace: str, name: str) -> dict[str, Any] | None:
        rows = self.revisions(namespace, name)
        return rows[-1] if rows else None

    def deployed_digest(self, namespace: str, name: str) -> str | None:
        rows = [r for r in self.revisions(namespace, name) if r["status"] == "deployed"]
        return digest_from_description(rows[-1]["description"]) if rows else None

    def release_names(self) -> list[str]:
        with self.lock:
            return sorted(k for k, rows in self.state["releases"].items() if rows)

    def manifests(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """The manifests of the release's deployed revision."""
        rows = [r for r in self.revisions(namespace, name) if r["status"] == "deployed"]
        assert rows, f"release {namespace}/{name} has no deployed revision"
        return self._manifests[(namespace, name, int(rows[-1]["revision"]))]

    def runs_of(self, *commands: str, name: str | None = None) -> list[HelmRun]:
        with self.lock:
            return [
                r
                for r in self.runs
                if (not commands or r.command in commands) and name in (None, r.name)
            ]

    def fail(self, command: str, stderr: str, *, times: int = 1, record: bool = False) -> None:
        """The next `times` calls of `command` fail with helm's own `stderr`."""
        with self.lock:
            self.state["failures"].append(
                {
                    "command": command,
                    "stderr": stderr,
                    "times": times,
                    "returncode": 1,
                    "record": record,
                }
            )

    async def seed(self, namespace: str, name: str, *, chart: str) -> None:
        """A release installed without the operator (``helm install`` of `chart`): one
        deployed revision with helm's own description and no labels of the operator's,
        its release Secret mirrored into the cluster."""
        with self.lock:
            rows = self.state["releases"].setdefault(f"{namespace}/{name}", [])
            fakehelm.new_row(
                self.state, rows, status="deployed", description="Install complete", chart=chart
            )
        await self._mirror((namespace, name))

    def hold(self, namespace: str, name: str) -> Hold:
        """The next upgrade of this release stops after writing its pending revision."""
        hold = Hold(namespace, name)
        with self.lock:
            self.holds.append(hold)
        return hold

    async def close(self) -> None:
        """Close the HTTP session of the running loop (each operator loop closes its own)."""
        loop = asyncio.get_running_loop()
        for key in [k for k in self._mirror_locks if k[0] is loop]:
            del self._mirror_locks[key]
        await self._clients.close()

    # -- one helm command

    async def run(self, settings: ReleaseSettings, argv: list[str], stdin: bytes | None) -> bytes:
        """Answer one helm command (``template`` goes to the real binary elsewhere)."""
        command = argv[0]
        if command == "version":
            return b"v4.1.4+gstore\n"
        if command not in ON_A_RELEASE:
            raise HelmCommandError(1, b"", f'Error: unknown command "{command}"\n'.encode())
        namespace, name = fakehelm.namespace_of(argv), fakehelm.positionals(argv)[1]
        key = (namespace, name)
        payload = (stdin or b"").decode()
        record: HelmRun | None = None
        with self.lock:
            self.commands[command] += 1
            if self._active[key]:
                self.overlaps.append(f"{command} {namespace}/{name}")
            self._active[key] += 1
            if command in MUTATING:
                digest = digest_from_description(fakehelm.flag(argv, "--description")) or ""
                record = HelmRun(command, namespace, name, digest)
                record.redundant = command == "upgrade" and digest == self._deployed(key)
                self.runs.append(record)
        try:
            if command == "upgrade":
                stdout = await self._upgrade(settings, key, argv, payload)
            else:
                stdout = self._answer(argv, payload)
            if command in MUTATING:
                await self._mirror(key)
        except HelmCommandError:
            if record is not None:
                record.ok, record.ended = False, time.monotonic()
            if command in MUTATING:
                await self._mirror(key)
            raise
        finally:
            with self.lock:
                self._active[key] -= 1
        if record is not None:
            record.ok, record.ended = True, time.monotonic()
        return stdout

    def _answer(self, argv: list[str], payload: str) -> bytes:
        with self.lock:
            try:
                return fakehelm.handle(self.state, argv, payload).encode()
            except fakehelm.Exit as exc:
                raise HelmCommandError(exc.code, exc.stdout.encode(), exc.stderr.encode()) from None

    def _deployed(self, key: Key) -> str | None:
        rows = self.state["releases"].get(f"{key[0]}/{key[1]}") or []
        deployed = [r for r in rows if r["status"] == "deployed"]
        return digest_from_description(deployed[-1]["description"]) if deployed else None

    async def _upgrade(
        self, settings: ReleaseSettings, key: Key, argv: list[str], payload: str
    ) -> bytes:
        namespace, name = key
        with self.lock:
            rows = self.state["releases"].setdefault(f"{namespace}/{name}", [])
            blocked = bool(rows) and rows[-1]["status"] in fakehelm_pending()
            failing = any(f["command"] == "upgrade" for f in self.state["failures"])
            pending = None
            if not blocked and not failing:
                status = "pending-upgrade" if rows else "pending-install"
                labels = fakehelm.upgrade_labels(rows, argv)
                pending = fakehelm.new_row(
                    self.state, rows, status=status, description="", labels=labels
                )
            elif not rows:
                del self.state["releases"][f"{namespace}/{name}"]
        if pending is None:
            return self._answer(argv, payload)
        await self._mirror(key)
        hold = self._take_hold(key)
        manifests = await self._render(settings, key, argv, payload)
        if hold is not None:
            hold.reached.set()
            while not hold.released.is_set():
                await asyncio.sleep(0.02)
        with self.lock:
            rows = self.state["releases"].get(f"{namespace}/{name}") or []
            if pending not in rows:
                stderr = b"Error: UPGRADE FAILED: the release was removed during the upgrade\n"
                raise HelmCommandError(1, b"", stderr)
            rows.remove(pending)
            stdout = fakehelm.handle(self.state, argv, payload)
            revision = int(json.loads(stdout)["version"])
            self._manifests[(namespace, name, revision)] = manifests
        return stdout.encode()

    def _take_hold(self, key: Key) -> Hold | None:
        with self.lock:
            for hold in self.holds:
                if (hold.namespace, hold.name) == key:
                    self.holds.remove(hold)
                    return hold
        return None

    async def _render(
        self, settings: ReleaseSettings, key: Key, argv: list[str], payload: str
    ) -> list[dict[str, Any]]:
        namespace, name = key
        digest = fakehelm.flag(argv, "--description") or payload
        cache_key: Any = digest if self.render_mode == "values" else (namespace, name, digest)
        cached = self._rendered.get(cache_key)
        if cached is None:
            args = ["template", name, str(settings.chart), "--namespace", namespace]
            args += ["--values", "-"]
            for api in self.api_versions:
                args += ["--api-versions", api]
            text = await _real_helm(settings, args, payload.encode())
            cached = (name, [doc for doc in yaml.safe_load_all(text) if doc])
            self._rendered[cache_key] = cached
            self.renders += 1
        rendered_as, manifests = cached
        if rendered_as == name:
            return manifests
        return [_renamed(doc, rendered_as, name) for doc in manifests]

    # -- the cluster's view of the store

    async def _mirror(self, key: Key) -> None:
        """helm's release Secrets and the router Deployment, as helm leaves them."""
        loop = asyncio.get_running_loop()
        lock = self._mirror_locks.setdefault((loop, key), asyncio.Lock())
        async with lock:
            await self._mirror_locked(key)

    async def _mirror_locked(self, key: Key) -> None:
        namespace, name = key
        rows = self.revisions(namespace, name)
        want: dict[int, Revision] = {
            int(r["revision"]): (str(r["status"]), dict(r.get("labels") or {})) for r in rows
        }
        with self.lock:
            have = dict(self._mirrored.get(key, {}))
        storage = HelmStorage(self._clients.get())
        await storage.sync(namespace, name, want, have)
        with self.lock:
            self._mirrored[key] = {revision: status for revision, (status, _) in want.items()}
        deployed = [r for r in rows if r["status"] == "deployed"]
        if deployed:
            for doc in self._manifests_of(key, deployed[-1]):
                if doc.get("kind") == "Deployment":
                    await storage.apply(doc, namespace)
        elif not rows:
            for (ns, rel, _), manifests in list(self._manifests.items()):
                if (ns, rel) == key:
                    for doc in manifests:
                        if doc.get("kind") == "Deployment":
                            await storage.remove(DEPLOYMENTS, ns, doc["metadata"]["name"])

    def _manifests_of(self, key: Key, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        namespace, name = key
        revision = int(row["revision"])
        found = self._manifests.get((namespace, name, revision))
        if found is None and str(row["description"]).startswith("Rollback to "):
            source = int(str(row["description"]).removeprefix("Rollback to "))
            found = self._manifests.get((namespace, name, source), [])
            self._manifests[(namespace, name, revision)] = found
        return found or []


def fakehelm_pending() -> frozenset[str]:
    return frozenset({"pending-install", "pending-upgrade", "pending-rollback"})


def _renamed(doc: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    renamed: dict[str, Any] = json.loads(json.dumps(doc).replace(old, new))
    return renamed


async def _real_helm(settings: ReleaseSettings, args: list[str], stdin: bytes) -> str:
    proc = await asyncio.create_subprocess_exec(
        settings.helm,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **settings.env},
    )
    try:
        stdout, stderr = await proc.communicate(stdin)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise HelmCommandError(proc.returncode, stdout, stderr)
    return stdout.decode()


# --------------------------------------------------------------------- the operator's side


class StoreCommand(HelmCommand):
    """The real command layer, with helm's cluster commands answered by the store."""

    def __init__(
        self, settings: ReleaseSettings, semaphore: asyncio.Semaphore, store: ReleaseStore
    ) -> None:
        super().__init__(settings, semaphore)
        self.store = store

    async def run(self, command: list[Any], input: bytes | None = None) -> bytes:
        args = [str(part) for part in command]
        if args[:1] == ["template"]:
            return await super().run(command, input)
        async with self._semaphore:
            return await self.store.run(self._settings, args, input)


class StoreHelm(HelmReleases):
    """`HelmReleases` whose helm processes are answered by a `ReleaseStore`."""

    def __init__(self, settings: ReleaseSettings, store: ReleaseStore) -> None:
        super().__init__(settings)
        self._command = StoreCommand(settings, self._semaphore, store)


class StoreReleases(HelmStandIn):
    """The operator's `ReleaseManager`: the real adapter, one `StoreHelm` per event loop."""

    def __init__(self, store: ReleaseStore, **settings: Any) -> None:
        super().__init__(store.url, release_settings(**settings))
        self.store = store

    def new_helm(self) -> HelmReleases:
        return StoreHelm(self.settings, self.store)

    async def close(self) -> None:
        await super().close()
        await self.store.close()
