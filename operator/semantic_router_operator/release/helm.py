"""The only module that runs helm: install, upgrade, recover, roll back, uninstall, render.

One ``HelmReleases`` instance per operator process. Every helm process goes through a
thin subclass of pyhelm3's command layer (``HelmCommand``) whose runner:

- starts helm with ``exec`` (no shell), so a deadline or a cancelled handler really stops
  helm: pyhelm3 0.5.8 runs ``/bin/sh -c "helm ..."`` and only terminates the shell, which
  leaves helm running and the caller blocked on its pipes;
- passes chart values as JSON on stdin (``--values -``): they never touch disk;
- adds ``--kubeconfig``/``--kube-context`` when configured and never a token flag (in
  cluster, helm authenticates with the pod's service account);
- holds a process-wide semaphore, so at most ``max_concurrent`` helm processes run at once.

Commands on one release never overlap: every operation on it holds a per-release lock.

Decisions (kept identical on Helm 3 and Helm 4, whose major version is detected once):

- No ``--wait`` by default: waiting would park a handler for up to ``--timeout`` per
  release; the operator reads readiness from the Deployment instead.
- No ``--atomic``/``--rollback-on-failure`` (the flag is named differently per major and
  implies ``--wait``): a failed upgrade that left a failed revision is rolled back
  explicitly to the last deployed revision.
- Helm 4 applies server-side and fails on fields another manager changed (a ``kubectl
  edit``); ``--force-conflicts`` gives it Helm 3's behaviour, where the release wins.
- The values digest is recorded as the revision's ``--description`` (both majors store it
  and return it in ``helm status``); values are not changed by it.
- Every release is labelled with the uid of its SemanticRouter (``--labels``, kept by helm
  on its release Secrets from the pending revision on, merged on upgrades, kept on
  rollbacks): the operator's mark that it installed the release for that router
  (`ownership` decides from it; a release without it is never upgraded nor uninstalled).
- A release left ``pending-*`` by a crash blocks every later helm command. When the
  pending revision is older than any helm command we run can take, it is rolled back to
  the last deployed revision, or uninstalled when it never deployed, before applying.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pyhelm3 import errors as helm_errors
from pyhelm3.command import Command

from semantic_router_operator.release.chart import (
    read_chart_version,
)
from semantic_router_operator.release.commands import (
    parse_major,
    release_json,
    rollback_args,
    template_args,
    uninstall_args,
    upgrade_args,
    values_payload,
)
from semantic_router_operator.release.failures import (
    classify,
    scrub,
    secret_strings,
    summarize,
    validate_target,
)
from semantic_router_operator.release.history import (
    already_deployed,
    parse_history,
    parse_release,
    plan_recovery,
    plan_rollback_after_failure,
    split_chart,
)
from semantic_router_operator.release.model import (
    _DIGEST,
    SUPPORTED_MAJORS,
    ReleaseError,
    ReleaseInfo,
    ReleaseSettings,
    Revision,
)

log = logging.getLogger(__name__)


class HelmCommandError(helm_errors.Error):  # type: ignore[misc]
    """helm exited non-zero (or was stopped); ``stderr`` is helm's, unscrubbed."""


class HelmCommand(Command):  # type: ignore[misc]
    """pyhelm3's command layer with a runner that execs helm, bounds it and never logs values."""

    def __init__(self, settings: ReleaseSettings, semaphore: asyncio.Semaphore) -> None:
        super().__init__(
            default_timeout=f"{settings.timeout_seconds}s",
            executable=settings.helm,
            history_max_revisions=settings.history_max,
            kubeconfig=settings.kubeconfig,
            kubecontext=settings.kube_context,
        )
        self._settings = settings
        self._semaphore = semaphore

    def kube_flags(self) -> list[str]:
        flags: list[str] = []
        if self._settings.kubeconfig is not None:
            flags += ["--kubeconfig", str(self._settings.kubeconfig)]
        if self._settings.kube_context:
            flags += ["--kube-context", self._settings.kube_context]
        return flags

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self._settings.env}

    async def run(self, command: list[Any], input: bytes | None = None) -> bytes:
        """Run one helm command; cluster commands get the kube flags appended.

        Overrides pyhelm3's shell-based runner (see the module docstring).
        """
        args = [str(part) for part in command]
        if args[:1] not in (["version"], ["template"]):
            args += self.kube_flags()
        argv = [self._settings.helm, *args]
        shown = " ".join("<stdin>" if a == "-" else a for a in argv)
        async with self._semaphore:
            log.debug("running: %s", shown)
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.PIPE
                    if input is not None
                    else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=self.environment(),
                )
            except OSError as exc:
                message = f"cannot run helm binary {self._settings.helm!r}: {exc.strerror}"
                raise HelmCommandError(-1, b"", message.encode()) from None
            try:
                stdout, stderr = await asyncio.wait_for(
                    proc.communicate(input), self._settings.deadline_seconds
                )
            except TimeoutError:
                await _stop(proc)
                message = f"helm did not finish within {self._settings.deadline_seconds:g}s"
                raise HelmCommandError(-1, b"", message.encode()) from None
            except BaseException:
                await _stop(proc)
                raise
        if proc.returncode != 0:
            raise HelmCommandError(proc.returncode, stdout, stderr)
        return stdout


async def _stop(proc: asyncio.subprocess.Process, grace: float = 5.0) -> None:
    """Ask helm to stop (it marks the release failed on SIGTERM), then kill; always reap."""
    if proc.returncode is not None:
        return
    try:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    except ProcessLookupError:
        await proc.wait()


# ----------------------------------------------------------------------------- the adapter


def utcnow() -> datetime:
    return datetime.now(UTC)


class HelmReleases:
    """Releases of the chart, one per SemanticRouter, managed with helm."""

    def __init__(
        self, settings: ReleaseSettings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._semaphore = asyncio.Semaphore(self.settings.max_concurrent)
        self._command = HelmCommand(self.settings, self._semaphore)
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._major: int | None = None
        self._major_lock = asyncio.Lock()
        self._chart_version: str | None = None

    # -- public surface

    def chart_version(self) -> str:
        """Version of the chart every release is installed from."""
        if self._chart_version is None:
            self._chart_version = read_chart_version(self.settings.chart)
        return self._chart_version

    async def helm_major(self) -> int:
        """Major version of the helm binary, asked once per process."""
        async with self._major_lock:
            if self._major is None:
                output = (await self._run("version", "", "", ["version", "--short"])).decode()
                major = parse_major(output)
                if major not in SUPPORTED_MAJORS:
                    raise ReleaseError(
                        "version",
                        "",
                        "",
                        reason="UnsupportedHelm",
                        transient=True,
                        detail=(
                            f"{self.settings.helm} is {output.strip()}; "
                            "the operator supports Helm 3 and Helm 4"
                        ),
                    )
                self._major = major
            return self._major

    async def apply(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        digest: str,
        owner: str = "",
        repair: bool = False,
    ) -> ReleaseInfo:
        """``helm upgrade --install`` the chart with `values`, recording `digest`, and
        labelled with `owner` (the SemanticRouter's uid) when given.

        Does nothing when the latest revision is already deployed with `digest` (the
        operator may not know it applied them: a restart, a lost status update), unless
        `repair`: then helm restores what someone changed behind its back. Unlocks a
        stuck release first; rolls back to the last deployed revision when the upgrade
        fails after recording a failed revision.
        """
        validate_target(name, namespace)
        if not _DIGEST.match(digest):
            raise ValueError(f"digest {digest!r} must be a short token such as sha256:<hex>")
        payload = values_payload(values)
        secrets = secret_strings(values)
        major = await self.helm_major()
        async with self._lock(name, namespace):
            history = await self._history(name, namespace)
            current = None if repair else already_deployed(history, digest)
            if current is not None:
                return self._unchanged(name, namespace, current, digest)
            await self._recover(name, namespace, major, history)
            args = upgrade_args(name, namespace, self.settings, major, digest=digest, owner=owner)
            stdout = await self._upgrade(name, namespace, major, args, payload, secrets)
        release = parse_release(release_json(stdout))
        log.info(
            "release %s/%s at revision %d (%s, chart %s)",
            namespace,
            name,
            release.revision,
            release.status,
            release.chart_version,
        )
        return release

    def _unchanged(self, name: str, namespace: str, current: Revision, digest: str) -> ReleaseInfo:
        """The release as it is: its latest revision is deployed with `digest` already."""
        log.info(
            "release %s/%s is already deployed with these values at revision %d",
            namespace,
            name,
            current.revision,
        )
        return ReleaseInfo(
            name=name,
            namespace=namespace,
            revision=current.revision,
            status=current.status,
            chart_version=self.chart_version(),
            digest=digest,
            description=current.description,
            updated=current.updated,
        )

    async def _upgrade(
        self,
        name: str,
        namespace: str,
        major: int,
        args: list[str],
        payload: bytes,
        secrets: set[str],
    ) -> bytes:
        """``helm upgrade --install``; after a failure that left a failed revision, a
        rollback to the last deployed one (named in the error)."""
        try:
            return await self._run("upgrade", name, namespace, args, payload, secrets)
        except ReleaseError as error:
            target = await self._rollback_after_failure(name, namespace, major)
            if target is None:
                raise
            raise ReleaseError(
                "upgrade",
                name,
                namespace,
                reason=error.reason,
                transient=error.transient,
                detail=error.detail,
                rolled_back_to=target,
            ) from error

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None:
        """The latest revision of the release, or None when there is no such release.

        ``helm status --output json`` (Helm 3 and 4) carries no chart: its name and version
        come from the latest row of ``helm history``."""
        async with self._lock(name, namespace):
            try:
                data = await self._pyhelm3("status", name, namespace, self._command.status)
            except _NotFound:
                return None
            info = parse_release(data)
            if info.chart_name is None:
                rows = await self._history(name, namespace)
                chart = split_chart(rows[-1].chart) if rows else None
                if chart is not None:
                    info = replace(info, chart_name=chart[0], chart_version=chart[1])
        return info

    async def history(self, name: str, namespace: str) -> list[Revision]:
        """Every stored revision, oldest first; empty when there is no such release."""
        async with self._lock(name, namespace):
            return await self._history(name, namespace)

    async def uninstall(self, name: str, namespace: str) -> None:
        """``helm uninstall``; a release that does not exist counts as uninstalled."""
        major = await self.helm_major()
        async with self._lock(name, namespace):
            await self._uninstall(name, namespace, major)

    async def template(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        api_versions: Sequence[str] = (),
    ) -> str:
        """Render the chart with `values` (no cluster involved) and return the manifests."""
        args = template_args(name, namespace, self.settings, api_versions)
        payload = values_payload(values)
        stdout = await self._run("template", name, namespace, args, payload, secret_strings(values))
        return stdout.decode()

    # -- steps

    def _lock(self, name: str, namespace: str) -> asyncio.Lock:
        key = (namespace, name)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def _recover(
        self, name: str, namespace: str, major: int, history: Sequence[Revision]
    ) -> None:
        plan = plan_recovery(history, now=self.clock(), stale_after=self.settings.deadline_seconds)
        if plan.action == "none":
            return
        if plan.action == "busy":
            raise ReleaseError(
                "upgrade",
                name,
                namespace,
                reason="OperationInProgress",
                transient=True,
                detail=f"the latest revision is {plan.status} and may still be running",
            )
        log.warning(
            "release %s/%s is stuck in %s; %s",
            namespace,
            name,
            plan.status,
            f"rolling back to revision {plan.revision}"
            if plan.action == "rollback"
            else "uninstalling it",
        )
        if plan.action == "rollback" and plan.revision is not None:
            await self._rollback(name, namespace, plan.revision, major)
        else:
            await self._uninstall(name, namespace, major)

    async def _rollback_after_failure(self, name: str, namespace: str, major: int) -> int | None:
        """Roll back a failed upgrade when possible; never hides the original error."""
        try:
            target = plan_rollback_after_failure(await self._history(name, namespace))
            if target is not None:
                log.warning("upgrade of %s/%s failed; rolling back to %d", namespace, name, target)
                await self._rollback(name, namespace, target, major)
            return target
        except ReleaseError as error:
            log.warning("rollback of %s/%s not possible: %s", namespace, name, error)
            return None

    async def _rollback(self, name: str, namespace: str, revision: int, major: int) -> None:
        await self._run(
            "rollback",
            name,
            namespace,
            rollback_args(name, namespace, revision, self.settings, major),
        )

    async def _uninstall(self, name: str, namespace: str, major: int) -> None:
        try:
            await self._run(
                "uninstall", name, namespace, uninstall_args(name, namespace, self.settings, major)
            )
        except _NotFound:
            log.info("release %s/%s was already gone", namespace, name)

    async def _history(self, name: str, namespace: str) -> list[Revision]:
        try:
            rows = await self._pyhelm3("history", name, namespace, self._command.history)
        except _NotFound:
            return []
        return parse_history(rows or [])

    async def _pyhelm3(
        self, operation: str, name: str, namespace: str, method: Callable[..., Any]
    ) -> Any:
        """A read command built by pyhelm3 (status, history), with our error mapping."""
        try:
            return await method(name, namespace=namespace)
        except HelmCommandError as exc:
            raise self._error(operation, name, namespace, exc, ()) from None

    async def _run(
        self,
        operation: str,
        name: str,
        namespace: str,
        args: list[str],
        payload: bytes | None = None,
        secrets: Iterable[str] = (),
    ) -> bytes:
        try:
            result: bytes = await self._command.run(args, payload)
        except HelmCommandError as exc:
            raise self._error(operation, name, namespace, exc, secrets) from None
        return result

    def _error(
        self,
        operation: str,
        name: str,
        namespace: str,
        exc: HelmCommandError,
        secrets: Iterable[str],
    ) -> ReleaseError:
        stderr = bytes(exc.stderr).decode(errors="replace")
        if "release: not found" in stderr.lower():
            return _NotFound(operation, name, namespace)
        reason, transient = classify(stderr)
        detail = scrub(summarize(stderr), secrets)
        log.warning("helm %s %s/%s failed (%s): %s", operation, namespace, name, reason, detail)
        return ReleaseError(
            operation, name, namespace, reason=reason, transient=transient, detail=detail
        )


class _NotFound(ReleaseError):
    """The release does not exist (mapped to None / success by the callers)."""

    def __init__(self, operation: str, name: str, namespace: str) -> None:
        super().__init__(
            operation,
            name,
            namespace,
            reason="NotFound",
            transient=False,
            detail="release: not found",
        )
