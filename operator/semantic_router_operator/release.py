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
import json
import logging
import os
import re
import tarfile
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pyhelm3 import errors as helm_errors
from pyhelm3.command import Command

log = logging.getLogger(__name__)

DESCRIPTION_PREFIX: Final = "semantic-router-operator values digest "
OWNER_LABEL: Final = "semantic-router.vllm.ai/owner-uid"
"""helm release label (on helm's release Secrets) naming the SemanticRouter, by uid, that
the operator installed the release for."""
PENDING: Final = frozenset({"pending-install", "pending-upgrade", "pending-rollback"})
GOOD: Final = frozenset({"deployed", "superseded"})
SUPPORTED_MAJORS: Final = frozenset({3, 4})
MAX_STDERR: Final = 2000

_RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DIGEST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._+-]{0,127}$")
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ReleaseSettings(BaseModel):
    """How helm is run. Built by the operator settings; every field has a safe default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    helm: str = Field("helm", description="helm binary (path or name on PATH)")
    chart: Path = Field(description="chart directory (or .tgz) installed for every release")
    timeout_seconds: int = Field(300, ge=1, description="helm --timeout per Kubernetes operation")
    history_max: int = Field(5, ge=1, le=100, description="revisions kept per release")
    max_concurrent: int = Field(4, ge=1, description="helm processes running at once")
    wait: bool = Field(False, description="let helm wait for readiness (blocks a handler)")
    kubeconfig: Path | None = Field(None, description="kubeconfig; unset in cluster")
    kube_context: str | None = Field(None, description="kubeconfig context")
    env: dict[str, str] = Field(
        default_factory=dict, description="extra environment for helm (HELM_CACHE_HOME ...)"
    )
    grace_seconds: int = Field(
        30, ge=0, description="time a helm process gets beyond --timeout before it is stopped"
    )

    @property
    def deadline_seconds(self) -> float:
        """Longest time one helm process may run before it is stopped."""
        return float(self.timeout_seconds + self.grace_seconds)


@dataclass(frozen=True)
class ReleaseInfo:
    """One revision of a release as helm reports it (values and manifest left out)."""

    name: str
    namespace: str
    revision: int
    status: str
    chart_version: str | None
    app_version: str | None = None
    digest: str | None = None
    description: str = ""
    updated: datetime | None = None
    chart_name: str | None = None

    @property
    def deployed(self) -> bool:
        return self.status == "deployed"


@dataclass(frozen=True)
class Revision:
    """One row of ``helm history``."""

    revision: int
    status: str
    chart: str = ""
    app_version: str = ""
    description: str = ""
    updated: datetime | None = None

    @property
    def digest(self) -> str | None:
        return digest_from_description(self.description)


Reason = Literal[
    "ClusterUnreachable",
    "Timeout",
    "OperationInProgress",
    "Conflict",
    "ServerError",
    "Cancelled",
    "HelmFailed",
    "SchemaInvalid",
    "RenderFailed",
    "InvalidResource",
    "AdmissionDenied",
    "ResourceExists",
    "Forbidden",
    "QuotaExceeded",
    "ChartNotFound",
    "UnsupportedHelm",
    "HelmMissing",
    "InvalidInput",
    "NotFound",
]


class ReleaseError(Exception):
    """A helm operation failed. ``transient`` errors are worth retrying with backoff.

    ``detail`` is helm's stderr with credentials scrubbed; values are never included.
    """

    def __init__(
        self,
        operation: str,
        name: str,
        namespace: str,
        *,
        reason: Reason,
        transient: bool,
        detail: str,
        rolled_back_to: int | None = None,
    ) -> None:
        self.operation = operation
        self.name = name
        self.namespace = namespace
        self.reason: Reason = reason
        self.transient = transient
        self.detail = detail
        self.rolled_back_to = rolled_back_to
        target = f" {namespace}/{name}" if name else ""
        message = f"helm {operation}{target} failed ({reason}): {detail}"
        if rolled_back_to is not None:
            message += f"; rolled back to revision {rolled_back_to}"
        super().__init__(message)


class ReleaseManager(Protocol):
    """What the operator needs from releases; tests may swap in another implementation."""

    async def apply(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        digest: str,
        owner: str = "",
        repair: bool = False,
    ) -> ReleaseInfo: ...

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None: ...

    async def uninstall(self, name: str, namespace: str) -> None: ...

    async def template(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        api_versions: Sequence[str] = (),
    ) -> str: ...

    def chart_version(self) -> str: ...


# --------------------------------------------------------------------------- pure helpers


def describe(digest: str) -> str:
    """The release description that records `digest`."""
    return DESCRIPTION_PREFIX + digest


def digest_from_description(description: str | None) -> str | None:
    if not description or not description.startswith(DESCRIPTION_PREFIX):
        return None
    return description[len(DESCRIPTION_PREFIX) :].strip() or None


def parse_major(version_output: str) -> int:
    """Major version from ``helm version --short`` (``v4.1.4+g05fa379`` → 4)."""
    match = _VERSION.search(version_output)
    if not match:
        raise ValueError(f"cannot read a helm version from {version_output.strip()!r}")
    return int(match.group(1))


def wait_flags(major: int, *, jobs: bool) -> list[str]:
    """``--wait`` is a boolean on Helm 3 and a strategy on Helm 4."""
    flags = ["--wait"] if major < 4 else ["--wait=watcher"]
    return [*flags, "--wait-for-jobs"] if jobs else flags


def upgrade_args(
    name: str,
    namespace: str,
    settings: ReleaseSettings,
    major: int,
    *,
    digest: str,
    owner: str = "",
) -> list[str]:
    args = [
        "upgrade",
        name,
        str(settings.chart),
        "--install",
        "--namespace",
        namespace,
        "--history-max",
        str(settings.history_max),
        "--timeout",
        f"{settings.timeout_seconds}s",
        "--values",
        "-",
        "--output",
        "json",
        "--description",
        describe(digest),
    ]
    if owner:
        args += ["--labels", f"{OWNER_LABEL}={owner}"]
    if major >= 4:
        args.append("--force-conflicts")
    if settings.wait:
        args += wait_flags(major, jobs=True)
    return args


def rollback_args(
    name: str, namespace: str, revision: int, settings: ReleaseSettings, major: int
) -> list[str]:
    args = [
        "rollback",
        name,
        str(revision),
        "--namespace",
        namespace,
        "--history-max",
        str(settings.history_max),
        "--timeout",
        f"{settings.timeout_seconds}s",
    ]
    if major >= 4:
        args.append("--force-conflicts")
    if settings.wait:
        args += wait_flags(major, jobs=True)
    return args


def uninstall_args(name: str, namespace: str, settings: ReleaseSettings, major: int) -> list[str]:
    args = [
        "uninstall",
        name,
        "--namespace",
        namespace,
        "--ignore-not-found",
        "--timeout",
        f"{settings.timeout_seconds}s",
    ]
    if settings.wait:
        args += wait_flags(major, jobs=False)
    return args


def template_args(
    name: str, namespace: str, settings: ReleaseSettings, api_versions: Sequence[str] = ()
) -> list[str]:
    args = ["template", name, str(settings.chart), "--namespace", namespace, "--values", "-"]
    for api in api_versions:
        args += ["--api-versions", api]
    return args


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CHART_ROW = re.compile(r"^(?P<name>.+)-(?P<version>v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$")


def split_chart(chart: str) -> tuple[str, str] | None:
    """(name, version) of the ``chart`` column of ``helm history`` and ``helm list``
    (``<name>-<version>``, the version a semantic version); None when it is not of that form."""
    match = _CHART_ROW.match(chart)
    return (match["name"], match["version"]) if match else None


def parse_release(data: Mapping[str, Any]) -> ReleaseInfo:
    """ReleaseInfo from the release JSON of ``helm status|upgrade --output json``."""
    info = data.get("info") or {}
    metadata = (data.get("chart") or {}).get("metadata") or {}
    description = str(info.get("description") or "")
    return ReleaseInfo(
        name=str(data.get("name", "")),
        namespace=str(data.get("namespace", "")),
        revision=int(data.get("version", 0)),
        status=str(info.get("status", "unknown")),
        chart_version=metadata.get("version"),
        chart_name=metadata.get("name"),
        app_version=metadata.get("appVersion"),
        digest=digest_from_description(description),
        description=description,
        updated=parse_time(info.get("last_deployed")),
    )


def parse_history(rows: Iterable[Mapping[str, Any]]) -> list[Revision]:
    return sorted(
        (
            Revision(
                revision=int(row.get("revision", 0)),
                status=str(row.get("status", "unknown")),
                chart=str(row.get("chart", "")),
                app_version=str(row.get("app_version", "")),
                description=str(row.get("description", "")),
                updated=parse_time(row.get("updated")),
            )
            for row in rows
        ),
        key=lambda r: r.revision,
    )


def last_good_revision(history: Sequence[Revision], *, below: int) -> int | None:
    """Highest deployed/superseded revision under `below`, as helm's own rollback picks."""
    good = [r.revision for r in history if r.status in GOOD and r.revision < below]
    return max(good, default=None)


@dataclass(frozen=True)
class Recovery:
    """What to do before applying: nothing, wait, roll back to `revision`, or uninstall."""

    action: Literal["none", "busy", "rollback", "uninstall"]
    revision: int | None = None
    status: str = ""


def plan_recovery(history: Sequence[Revision], *, now: datetime, stale_after: float) -> Recovery:
    """Decide how to unlock a release whose latest revision is pending or uninstalling.

    A pending revision younger than `stale_after` seconds may belong to a helm process
    still running (another operator replica, a person); it is left alone.
    """
    if not history:
        return Recovery("none")
    latest = history[-1]
    if latest.status not in PENDING and latest.status != "uninstalling":
        return Recovery("none")
    if latest.updated is not None and now - latest.updated < timedelta(seconds=stale_after):
        return Recovery("busy", status=latest.status)
    target = last_good_revision(history, below=latest.revision)
    if latest.status == "uninstalling" or target is None:
        return Recovery("uninstall", status=latest.status)
    return Recovery("rollback", revision=target, status=latest.status)


def already_deployed(history: Sequence[Revision], digest: str) -> Revision | None:
    """The latest revision when it is deployed with exactly these values (`digest`):
    applying them again would only add a revision."""
    if history and history[-1].status == "deployed" and history[-1].digest == digest:
        return history[-1]
    return None


def plan_rollback_after_failure(history: Sequence[Revision]) -> int | None:
    """Revision to roll back to when the upgrade left a failed revision on top."""
    if not history or history[-1].status != "failed":
        return None
    return last_good_revision(history, below=history[-1].revision)


@dataclass(frozen=True)
class Ownership:
    """Whether the operator may run helm on an existing release for one SemanticRouter.

    `how`: ``absent`` (no such release), ``labelled`` (it carries the router's uid),
    ``recorded`` (installed by an operator version that wrote only the digest into the
    description), ``adopted`` (this chart, and the router asks to adopt it), ``taken``.
    """

    how: Literal["absent", "labelled", "recorded", "adopted", "taken"]
    chart: str = ""
    why: str = ""

    @property
    def owned(self) -> bool:
        return self.how != "taken"


def ownership(
    labels: Sequence[Mapping[str, str]],
    uid: str,
    *,
    release: ReleaseInfo | None,
    chart_name: str,
    adopt: bool,
) -> Ownership:
    """Decide from the labels of a release's helm Secrets (one per stored revision) and,
    when they do not carry `uid`, from ``helm status`` (`release`), whether the release is
    the SemanticRouter `uid`'s to upgrade and uninstall."""
    if not labels:
        return Ownership("absent")
    owners = {str(found.get(OWNER_LABEL)) for found in labels if found.get(OWNER_LABEL)}
    if uid in owners:
        return Ownership("labelled", chart_name)
    if release is None:
        return Ownership("absent")
    chart = release.chart_name or "unknown"
    if chart != chart_name:
        return Ownership("taken", chart, f"it is a release of chart {chart}")
    if owners:
        if adopt:
            return Ownership("adopted", chart)
        return Ownership(
            "taken",
            chart,
            f"the operator installed it for another SemanticRouter (uid {sorted(owners)[0]})",
        )
    if release.digest is not None:
        return Ownership("recorded", chart)
    if adopt:
        return Ownership("adopted", chart)
    return Ownership(
        "taken", chart, f"it is a release of chart {chart} installed without the operator"
    )


def read_chart_name(chart: Path) -> str:
    """``name`` of the chart's Chart.yaml (chart directory or packaged .tgz)."""
    return str(_chart_metadata(chart).get("name") or "")


# Secret-looking keys whose string values are scrubbed from anything helm prints.
_SECRET_KEY = re.compile(
    r"(?i)(password|passwd|secret|token|api[-_]?key|credential|private[-_]?key)"
)
_SCRUB_PATTERNS: Final = (
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1***"),
    (re.compile(r"(--kube-token[=\s]+)\S+"), r"\1***"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+"), "***"),
    (re.compile(r"(://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|api[-_]?key)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"',}]+"
        ),
        r"\1***",
    ),
)


def secret_strings(values: object, *, under_secret_key: bool = False) -> set[str]:
    """String values stored under secret-looking keys anywhere in `values`."""
    found: set[str] = set()
    if isinstance(values, Mapping):
        for key, value in values.items():
            secret = under_secret_key or bool(_SECRET_KEY.search(str(key)))
            found |= secret_strings(value, under_secret_key=secret)
    elif isinstance(values, list | tuple):
        for item in values:
            found |= secret_strings(item, under_secret_key=under_secret_key)
    elif under_secret_key and isinstance(values, str) and len(values) >= 4:
        found.add(values)
    return found


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret strings and credential-looking tokens replaced by ***."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, replacement in _SCRUB_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# In the order they are tried: the first pattern found in helm's stderr decides.
# Permanent (False) means that only a change of the spec can fix the failure: the chart
# refused the values (render errors, schema violations: tried first, whatever words the
# chart's own message contains) or the API server found an object built from them invalid.
# The rest is for the cluster to fix (API trouble, a quota raised, a role bound, a webhook's
# policy changed, an object in the way removed, the operator's image fixed): transient.
_CLASSES: Final[tuple[tuple[Reason, bool, re.Pattern[str]], ...]] = (
    ("SchemaInvalid", False, re.compile(r"don't meet the specifications of the schema")),
    (
        "RenderFailed",
        False,
        re.compile(
            r"execution error at|parse error|error converting yaml|failed to render"
            r"|template: |error calling|yaml: line|unable to build kubernetes objects"
        ),
    ),
    ("OperationInProgress", True, re.compile(r"another operation .* is in progress")),
    ("Cancelled", True, re.compile(r"context canceled")),
    (
        "Timeout",
        True,
        re.compile(r"did not finish within|timed out|deadline exceeded|i/o timeout"),
    ),
    (
        "ClusterUnreachable",
        True,
        re.compile(
            r"cluster unreachable|connection refused|no route to host|network is unreachable"
            r"|connection reset|tls handshake|no such host|unexpected eof|etcdserver"
        ),
    ),
    (
        "Conflict",
        True,
        re.compile(r"the object has been modified|operation cannot be fulfilled|conflict"),
    ),
    (
        "ServerError",
        True,
        re.compile(
            r"internal error occurred|service unavailable|server is currently unable"
            r"|too many requests|an error on the server|status code 5\d\d"
        ),
    ),
    ("QuotaExceeded", True, re.compile(r"exceeded quota|quota exceeded")),
    ("AdmissionDenied", True, re.compile(r"admission webhook .* denied")),
    (
        "ResourceExists",
        True,
        re.compile(r"resource that already exists|exists and cannot be imported"),
    ),
    # A field error of the API's validation ("is invalid: spec.x: Forbidden: ...") is the
    # spec's; "is forbidden: User ... cannot" is RBAC's.
    ("InvalidResource", False, re.compile(r"is invalid")),
    ("Forbidden", True, re.compile(r"forbidden")),
    ("HelmMissing", True, re.compile(r"cannot run helm binary")),
    (
        "ChartNotFound",
        True,
        re.compile(r"chart .*not found|path .* not found|no chart|non-absolute urls"),
    ),
)


def classify(stderr: str) -> tuple[Reason, bool]:
    """(reason, transient) for a helm failure, read from its stderr (`_CLASSES`).

    Unknown failures are transient: the operator retries with a growing backoff rather
    than giving up, and the router converges by itself once the cause is gone.
    """
    text = stderr.lower()
    for reason, transient, pattern in _CLASSES:
        if pattern.search(text):
            return reason, transient
    return "HelmFailed", True


def summarize(stderr: str) -> str:
    """helm's error without the ``Error:`` prefix, debug hints and blank lines, bounded."""
    lines = [
        line.rstrip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("Use --debug", "WARNING: ", "walk.go:"))
    ]
    text = "\n".join(lines).removeprefix("Error: ")
    for prefix in ("UPGRADE FAILED: ", "INSTALLATION FAILED: "):
        text = text.removeprefix(prefix)
    if len(text) > MAX_STDERR:
        text = text[:MAX_STDERR] + " ..."
    return text or "helm exited with an error and printed nothing"


def validate_target(name: str, namespace: str, *, field_name: str = "metadata.name") -> None:
    """Reject release names and namespaces helm would refuse, saying how to fix them."""
    if len(name) > 53 or not _RELEASE_NAME.match(name):
        raise ReleaseError(
            "apply",
            name,
            namespace,
            reason="InvalidInput",
            transient=False,
            detail=(
                f"release name {name!r} (from {field_name}) must be at most 53 lowercase "
                "letters, digits, '-' or '.', starting and ending with a letter or digit; "
                f"rename the SemanticRouter ({len(name)} characters now)"
            ),
        )
    if len(namespace) > 63 or not _NAMESPACE.match(namespace):
        raise ReleaseError(
            "apply",
            name,
            namespace,
            reason="InvalidInput",
            transient=False,
            detail=f"namespace {namespace!r} is not a valid Kubernetes namespace name",
        )


def read_chart_version(chart: Path) -> str:
    """``version`` of the chart's Chart.yaml (chart directory or packaged .tgz)."""
    version = _chart_metadata(chart).get("version")
    if not version:
        raise ValueError(f"{chart}: Chart.yaml has no version")
    return str(version)


def _chart_metadata(chart: Path) -> dict[str, Any]:
    if chart.is_dir():
        text = (chart / "Chart.yaml").read_text(encoding="utf-8")
    else:
        with tarfile.open(chart) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith("/Chart.yaml"))
            extracted = archive.extractfile(member)
            if extracted is None:
                raise ValueError(f"{chart}: Chart.yaml is not a regular file")
            text = extracted.read().decode("utf-8")
    metadata = yaml.safe_load(text) or {}
    return metadata if isinstance(metadata, dict) else {}


# Characters a YAML stream may not hold raw (helm reads `--values -` as YAML): DEL, the C1
# controls, the BOM, the noncharacters U+FFFE/U+FFFF, and U+0085/U+2028/U+2029, which YAML
# would read as line breaks and fold away. They are written as \uXXXX escapes instead.
_YAML_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def values_payload(values: Mapping[str, Any]) -> bytes:
    """Chart values as helm reads them from stdin: JSON (a subset of YAML), UTF-8.

    Not ASCII-escaped: JSON writes a character outside the BMP (an emoji) as a surrogate
    pair, which helm's YAML parser refuses ("invalid Unicode character escape code").
    """
    text = json.dumps(values, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


def release_json(stdout: bytes) -> Any:
    """The release object in helm's stdout (newer helm may print registry lines first)."""
    return json.loads(stdout[max(stdout.find(b"{"), 0) :])


# ------------------------------------------------------------------------------ the runner


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
            await self._recover(name, namespace, major, history)
            args = upgrade_args(name, namespace, self.settings, major, digest=digest, owner=owner)
            try:
                stdout = await self._run("upgrade", name, namespace, args, payload, secrets)
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
