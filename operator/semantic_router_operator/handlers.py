"""kopf handlers: one reconcile for create/update/resume, a timer, and a delete handler.

The handlers are thin: they hand the object to `Operator`, which reads (discovery,
platform, Deployment, Route), decides with pure functions (models, values, status) and
writes (helm through the release manager, the status, Events).

One reconcile, as data flows (docs/architecture.md):

    spec → models → discovery → platform → values → digest unchanged? stop → helm → status

`register()` puts the handlers on a kopf registry; `configure()` sets kopf's storage so
that only a digest of the spec is kept on the object (specs can be megabytes, and an
annotation holds at most 256 KiB).
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from urllib.parse import quote

import kopf

from semantic_router_operator import (
    discovery,
    models,
    names,
    platform,
    routerconfig,
    status,
    values,
    wiring,
)
from semantic_router_operator.discovery import ApiReader, KubeReader, KubeReadError
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.models import GROUP, PLURAL, VERSION
from semantic_router_operator.platform import Platform, PlatformDetector
from semantic_router_operator.release import (
    OWNER_LABEL,
    Ownership,
    ReleaseError,
    ReleaseInfo,
    ReleaseManager,
    ownership,
    read_chart_name,
)
from semantic_router_operator.settings import Settings
from semantic_router_operator.status import Observation, Problem, ProblemKind

log = logging.getLogger(__name__)

STORAGE_PREFIX = "semantic-router.vllm.ai"
FINALIZER = "vllm.ai/semantic-router-operator"
HELM_RELEASE_LABELS = {"owner": "helm"}
# Set to "true" on a SemanticRouter to take over a release of this chart installed without
# the operator (helm install of the chart alone, then the operator).
ADOPT_ANNOTATION = "vllm.ai/adopt-release"
# Reconciles that also check helm's latest revision is still the one applied: the drift
# timer, and the resume after an operator restart (which stands in for the timer's first
# run: the timer first fires one interval later).
DRIFT_CHECKS = frozenset({"timer", "resume"})

Logger = logging.Logger | logging.LoggerAdapter[logging.Logger]
LoginFn = Callable[..., Any]


# --- kopf configuration ---------------------------------------------------------------------------


class SpecDigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Keeps the sha256 of the spec as the last-handled state, not the spec itself.

    kopf compares the stored essence with the fresh one to tell a real change from
    noise; a digest of the spec answers that question in 80 bytes whatever the spec's
    size. Handler kwargs `old`/`new`/`diff` then carry digests, which the handlers here
    do not use.
    """

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[kopf.FieldSpec] | None = None
    ) -> kopf.BodyEssence:
        spec = body.get("spec") or {}
        digest = hashlib.sha256(values.canonical_json(spec).encode()).hexdigest()
        return cast(kopf.BodyEssence, {"specDigest": f"sha256:{digest}"})


DIFFBASE = SpecDigestDiffBaseStorage(prefix=STORAGE_PREFIX)
PROGRESS = kopf.AnnotationsProgressStorage(prefix=STORAGE_PREFIX)
RECONCILE_HANDLER = kopf.HandlerId("reconcile")
# Written by the timer to wake the change handlers when kopf lost track of a spec change.
NUDGE_ANNOTATION = f"{STORAGE_PREFIX}/nudged"


def handled(body: kopf.Body) -> bool:
    """True when the change handlers have processed the current spec (successfully or
    for good): until then, a spec change is theirs to apply and to retry, not the timer's."""
    return bool(DIFFBASE.fetch(body=body) == DIFFBASE.build(body=body))


def retry_scheduled(body: kopf.Body, now: datetime.datetime) -> bool:
    """True when kopf has a retry of the change handler scheduled after `now`."""
    record = PROGRESS.fetch(key=RECONCILE_HANDLER, body=body) or {}
    delayed = record.get("delayed")
    if not delayed:
        return False
    try:
        when = datetime.datetime.fromisoformat(str(delayed))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when > now


def configure(settings: kopf.OperatorSettings, *, namespaced: bool = False) -> None:
    """kopf settings of this operator: its own finalizer and small annotations only.
    `namespaced`: it watches only the namespaces named in SR_OPERATOR_NAMESPACES."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = PROGRESS
    settings.persistence.diffbase_storage = DIFFBASE
    # The operator posts its own Events (kopf.event); from log lines, only errors become
    # Events, so that periodic checks never flood the object's event list.
    settings.posting.level = logging.ERROR
    # Long watches with a client-side bound, so a silently dropped connection is noticed.
    # A SemanticRouter being deleted keeps its finalizer until its drift timer has exited;
    # a timer caught mid-run is checked again after this many seconds (kopf's default: 60).
    settings.background.cancellation_polling = 2
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # Named namespaces are watched as given: kopf neither lists nor watches Namespaces
    # (which the operator's role does not allow) nor CRDs. Otherwise it would try, be
    # refused and warn at every start. The CRD must then exist when the operator starts.
    settings.scanning.disabled = namespaced


# --- the operator ---------------------------------------------------------------------------------


class Reader(KubeReader, Protocol):
    """A KubeReader that follows kopf's credentials."""

    def use(self, info: Any) -> None: ...

    async def close(self) -> None: ...

    async def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None: ...


def utcnow() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_login(**kwargs: Any) -> Any:
    """kopf's login through the kubernetes client (in-cluster account or kubeconfig)."""
    return kopf.login_via_client(**kwargs)


@dataclass
class Outcome:
    """What one reconcile did: the status to write, and the error to hand to kopf."""

    status: dict[str, Any]
    error: Exception | None = None


@dataclass
class _Memory:
    """What this process knows about one SemanticRouter between reconciles."""

    release: status.ReleaseInfo | None = None
    # Values helm refused for good, and why: the timer leaves them alone (and keeps
    # reporting the failure) until they change.
    failed_digest: str = ""
    failure: Problem | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The resourceVersion the timer last found waiting for the change handlers.
    unhandled_version: str = ""


@dataclass
class Operator:
    """The reconcile logic behind the kopf handlers, with its collaborators."""

    settings: Settings
    releases: ReleaseManager
    reader: Reader = field(default_factory=ApiReader)
    detector: PlatformDetector = field(default_factory=PlatformDetector)
    metrics: Metrics = field(default_factory=Metrics)
    login: LoginFn = default_login
    clock: Callable[[], str] = utcnow
    backoff_base: float = 30.0
    backoff_max: float = 900.0
    # Every SemanticRouter's (creationTimestamp, name, naming spec) by namespace, kept by
    # kopf from its watch (the `routers` index); None outside kopf: then listed from the API.
    routers: Mapping[str, Iterable[tuple[str, str, Mapping[str, Any]]]] | None = None
    # The driftRepair status of a release (namespace, release), from the owned-object
    # watches (wiring.register); None: no watches.
    drift_status: Callable[[str, str], Mapping[str, Any] | None] | None = None
    # The context kopf runs resource handlers in (its event queue among it): work started
    # outside kopf's handlers (the owned-object watches) runs in it, to post Events.
    handler_context: contextvars.Context | None = None
    # (namespace, release) → when a reconcile last started reading the Deployment
    # (monotonic): a status change the watches saw before that needs no refresh.
    workload_read: dict[tuple[str, str], float] = field(default_factory=dict)
    _memory: dict[str, _Memory] = field(default_factory=dict)

    # -- helpers

    def _remember(self, uid: str) -> _Memory:
        return self._memory.setdefault(uid, _Memory())

    def router_lock(self, body: Mapping[str, Any]) -> asyncio.Lock:
        """Held while one of the router's reconciles (and its helm run) is under way."""
        return self._remember(_uid(body)).lock

    def backoff(self, retry: int) -> float:
        """Seconds before retry number `retry` (0-based): exponential, bounded."""
        return float(min(self.backoff_max, self.backoff_base * 2 ** min(retry, 16)))

    def next_try(self, delay: float) -> str:
        """When a retry `delay` seconds from now happens, as the status tells it."""
        when = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=delay)
        return f"next try in {delay:g}s, at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"

    def known_release(self, uid: str, previous: Mapping[str, Any]) -> status.ReleaseInfo | None:
        """The release as last applied by this process, else as the status recorded it."""
        memory = self._memory.get(uid)
        if memory is not None and memory.release is not None:
            return memory.release
        return status.ReleaseInfo.from_status(previous)

    async def _read(self, path: str) -> dict[str, Any] | None:
        try:
            return await self.reader.get(path)
        except KubeReadError as exc:
            log.warning(f"status read skipped: {exc}")
            return None

    async def observe_workload(
        self, name: str, namespace: str, routes: bool
    ) -> tuple[status.Workload | None, Mapping[str, Any] | None]:
        """The router Deployment and, when Routes are on, the Route of release `name`
        (both named as the chart names them, `names.fullname`)."""
        ns, obj = quote(namespace), quote(names.fullname(name))
        self.workload_read[(namespace, name)] = time.monotonic()
        deployment = await self._read(f"/apis/apps/v1/namespaces/{ns}/deployments/{obj}")
        route = None
        if routes:
            route = await self._read(f"/apis/route.openshift.io/v1/namespaces/{ns}/routes/{obj}")
        return status.Workload.from_deployment(deployment), route

    async def observe_release(self, name: str, namespace: str) -> tuple[int, str] | None:
        """(revision, helm status) of the release's latest revision, from helm's own
        storage Secrets (labels only): no helm process is started."""
        secrets = await self.reader.list_objects(
            f"/api/v1/namespaces/{quote(namespace)}/secrets",
            {**HELM_RELEASE_LABELS, "name": name},
            metadata_only=True,
        )
        revisions = []
        for secret in secrets:
            labels = (secret.get("metadata") or {}).get("labels") or {}
            try:
                revisions.append((int(labels.get("version", "")), str(labels.get("status", ""))))
            except ValueError:
                continue
        return max(revisions) if revisions else None

    def stalled(self, body: kopf.Body) -> bool:
        """True when a spec change waits for the change handlers and nothing will wake
        them: the same unhandled version seen on two timer runs in a row, no reconcile
        running, no retry scheduled. It happens when the API lost kopf's write of the
        handler's outcome (a 5xx burst outlasting kopf's retries): kopf then never sees
        another event for this object, and the status would stay behind for good."""
        memory = self._remember(_uid(body))
        version = str((body.get("metadata") or {}).get("resourceVersion") or "")
        now = datetime.datetime.now(tz=datetime.UTC)
        if memory.lock.locked() or retry_scheduled(body, now):
            memory.unhandled_version = ""
            return False
        if memory.unhandled_version != version:
            memory.unhandled_version = version
            return False
        memory.unhandled_version = ""
        return True

    # -- the timer

    async def check(
        self,
        body: kopf.Body,
        *,
        logger: Logger = log,
        retry: int = 0,
        trigger: str = "timer",
        force: bool = False,
    ) -> None:
        """The drift timer: discovery, status and repair once the change handlers have
        processed the current spec; a nudge for them when kopf lost track of it.

        It writes the status itself rather than through kopf's patch: kopf stops a timer
        for good when applying the timer's patch fails (a 409, a 5xx burst outlasting its
        retries), and drift repair must survive an API hiccup. A failed write raises
        kopf.TemporaryError: the timer retries it, then carries on. The write names the
        resourceVersion the status was computed from, so it never overwrites a newer one.
        """
        if not handled(body):
            if trigger == "timer" and self.stalled(body):
                logger.warning(
                    "The latest spec change was not recorded as handled (an API write was "
                    "lost); waking the change handlers"
                )
                nudge = {"metadata": {"annotations": {NUDGE_ANNOTATION: self.clock()}}}
                await self._write(body, "", nudge, retry)
            return
        outcome = await self.reconcile(
            body, trigger=trigger, logger=logger, retry=retry, force=force
        )
        previous = body.get("status") or {}
        if status.changed(previous, outcome.status):
            version = (body.get("metadata") or {}).get("resourceVersion")
            patch = {
                "metadata": {"resourceVersion": version},
                "status": status.as_patch(previous, outcome.status),
            }
            await self._write(body, "/status", patch, retry)

    async def _write(
        self, body: kopf.Body, subresource: str, patch: Mapping[str, Any], retry: int
    ) -> None:
        meta = body.get("metadata") or {}
        ns, name = quote(str(meta["namespace"])), quote(str(meta["name"]))
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}/{name}" + subresource
        try:
            await self.reader.merge_patch(path, patch)
        except KubeReadError as exc:
            delay = max(self.backoff(retry), exc.retry_after or 0.0)
            raise kopf.TemporaryError(f"{exc}; retrying in {delay:g}s", delay=delay) from exc

    # -- one reconcile

    async def reconcile(
        self,
        body: kopf.Body,
        *,
        trigger: str,
        logger: Logger = log,
        retry: int = 0,
        force: bool = False,
    ) -> Outcome:
        """Bring one SemanticRouter's release in line with its spec; compute its status.
        `force`: run helm even when the release has these values (a drift repair)."""
        async with self._remember(_uid(body)).lock:
            outcome = await self._reconcile(
                body, trigger=trigger, logger=logger, retry=retry, force=force
            )
        result = "success" if outcome.error is None else type(outcome.error).__name__
        self.metrics.reconciled(trigger, result)
        meta = body.get("metadata") or {}
        self.metrics.set_release_state(
            str(meta.get("namespace")), str(meta.get("name")), release_state(outcome.status)
        )
        return outcome

    async def _reconcile(
        self, body: kopf.Body, *, trigger: str, logger: Logger, retry: int, force: bool = False
    ) -> Outcome:
        meta = body.get("metadata") or {}
        cr_name, namespace = str(meta["name"]), str(meta["namespace"])
        # The helm release, and the names of its objects, derive from the CR's name.
        name = names.release_name(cr_name)
        uid = _uid(body)
        generation = int(meta.get("generation") or 0)
        previous: Mapping[str, Any] = body.get("status") or {}
        raw_spec: Mapping[str, Any] = body.get("spec") or {}
        memory = self._remember(uid)
        known = self.known_release(uid, previous)
        obs = Observation(generation=generation, gateway_mode=status.gateway_mode(raw_spec))

        def finish(obs: Observation, error: Exception | None = None) -> Outcome:
            if self.drift_status is not None:
                obs = _with(obs, drift_repair=self.drift_status(namespace, name))
            return Outcome(status.compute(obs, previous, self.clock()), error)

        def api_trouble(exc: KubeReadError) -> Outcome:
            delay = max(self.backoff(retry), exc.retry_after or 0.0)
            message = f"{exc}; {self.next_try(delay)}"
            problem = Problem(ProblemKind.API, "KubernetesApiError", message)
            self._announce(body, "KubernetesApiError", str(exc), logger)
            logger.warning(f"Kubernetes API trouble, retrying in {delay:g}s")
            return finish(
                _with(obs, release=known, problem=problem),
                kopf.TemporaryError(str(exc), delay=delay),
            )

        # 1. The spec, validated by the API models.
        try:
            spec = models.parse_spec(raw_spec)
        except models.SpecError as exc:
            return self._invalid(body, obs, known, str(exc), logger, finish)

        routes = bool(spec.openshift and spec.openshift.routes and spec.openshift.routes.enabled)
        endpoints = [e.to_dict() for e in spec.vllm_endpoints or []]

        # 2. What the cluster offers: platform, backends.
        try:
            detected = await self.detector.detect(self.reader, logger)
            resolved = await discovery.resolve(
                endpoints,
                namespace,
                self.reader,
                logger,
                owner=f"{namespace}/{cr_name}",
                reported=discovery.reported_failures(previous),
            )
        except KubeReadError as exc:
            return api_trouble(exc)

        reported = discovery.reported_failures(previous)
        for result in resolved:
            if not result.resolved and reported.get(result.endpoint) != result.message:
                message = f"backend {result.endpoint} ({result.type}): {result.message}"
                kopf.event(body, type="Warning", reason="BackendDiscoveryFailed", message=message)
        route_problem = platform.check_routes(routes, detected)
        routes = routes and detected is Platform.OPENSHIFT
        obs = _with(obs, routes_enabled=routes, backends=resolved, release=known)
        if route_problem is not None:
            return self._invalid(
                body, obs, known, route_problem, logger, finish, reason="RoutesNeedOpenShift"
            )

        # 3. The chart values and their digest.
        try:
            defaults = values.read_chart_defaults(self.settings.chart_path)
            chart_values = values.build(
                spec,
                resolved,
                detected,
                chart_defaults=defaults,
                images=self.settings.related_images,
            )
        except routerconfig.RouterConfigError as exc:
            return self._invalid(body, obs, known, str(exc), logger, finish)
        want = values.digest(self.releases.chart_version(), chart_values)

        # 4. Nothing to do when helm already has exactly these values. On a restart, as on
        # the timer, helm's latest revision is checked too (drift while no one watched).
        up_to_date = known is not None and known.deployed and known.digest == want
        if trigger in DRIFT_CHECKS and known is not None and up_to_date:
            up_to_date = await self._release_intact(name, namespace, known, logger)
        if up_to_date and not force:
            return await self._refreshed(name, namespace, obs, finish)

        # 5. The StorageClass matters only to a helm run, which may create the PVC (a
        # release deployed with these very values has its claim already).
        try:
            storage = await platform.validate_storage(spec.persistence.to_dict(), self.reader)
        except KubeReadError as exc:
            return api_trouble(exc)
        if storage is not None:
            problem = Problem(ProblemKind.STORAGE, storage.reason, storage.message)
            self._announce(body, storage.reason, storage.message, logger)
            return await self._refreshed(
                name,
                namespace,
                _with(obs, problem=problem),
                finish,
                kopf.PermanentError(storage.message),
            )
        if endpoints and not any(r.resolved for r in resolved):
            problem = Problem(
                ProblemKind.NO_BACKENDS, "NoBackendsFound", discovery.summary(resolved)
            )
            return await self._refreshed(name, namespace, _with(obs, problem=problem), finish)

        if trigger == "timer" and memory.failed_digest == want:
            return await self._refreshed(
                name, namespace, _with(obs, problem=memory.failure), finish
            )

        # 6. Never touch a release this operator did not install for this router: checked
        # before this process's first helm run for it.
        if memory.release is None:
            try:
                clashes = await self.collisions(body)
            except KubeReadError as exc:
                return api_trouble(exc)
            if clashes:
                return await self._collision(body, name, namespace, obs, clashes, retry, finish)
            try:
                claim = await self.claim(body, name, namespace)
            except KubeReadError as exc:
                return api_trouble(exc)
            except ReleaseError as exc:
                return await self._release_failed(
                    body, name, namespace, obs, known, want, exc, retry, logger, finish
                )
            if not claim.owned:
                return await self._name_taken(body, name, namespace, obs, claim, retry, finish)
            if claim.how == "adopted":
                logger.info(f"Adopting release {namespace}/{name} (chart {claim.chart})")

        # 7. helm upgrade --install.
        action = "install" if known is None else "upgrade"
        try:
            with self.metrics.helm_run(action) as run:
                try:
                    repair = {"repair": True} if force else {}
                    info = await self.releases.apply(
                        name, namespace, chart_values, digest=want, owner=_owner(body), **repair
                    )
                except ReleaseError as exc:
                    run["reason"] = exc.reason
                    raise
        except ReleaseError as exc:
            return await self._release_failed(
                body, name, namespace, obs, known, want, exc, retry, logger, finish
            )
        applied = _release_info(info, want)
        memory.release, memory.failed_digest, memory.failure = applied, "", None
        verb = "Installed" if action == "install" else "Upgraded"
        message = (
            f"{verb} release {name} revision {applied.revision} "
            f"(chart {applied.chart_version}, {applied.status})"
        )
        kopf.event(body, type="Normal", reason=verb, message=message)
        logger.info(message)
        return await self._refreshed(name, namespace, _with(obs, release=applied), finish)

    async def claim(self, body: kopf.Body, name: str, namespace: str) -> Ownership:
        """Whether release `name` is this router's to upgrade and uninstall: the labels of
        helm's release Secrets (metadata only), then, when they do not name this router,
        ``helm status`` for the release's chart."""
        secrets = await self.reader.list_objects(
            f"/api/v1/namespaces/{quote(namespace)}/secrets",
            {**HELM_RELEASE_LABELS, "name": name},
            metadata_only=True,
        )
        labels = [(s.get("metadata") or {}).get("labels") or {} for s in secrets]
        uid, chart = _owner(body), read_chart_name(self.settings.chart_path)
        if not labels or any(uid and found.get(OWNER_LABEL) == uid for found in labels):
            return ownership(labels, uid, release=None, chart_name=chart, adopt=False)
        info = await self.releases.status(name, namespace)
        return ownership(labels, uid, release=info, chart_name=chart, adopt=_adopts(body))

    async def collisions(self, body: kopf.Body) -> list[tuple[str, str, str]]:
        """Objects this router's release would share with the release of a SemanticRouter
        created before it in its namespace (`names.collisions`): the older one keeps them."""
        meta = body.get("metadata") or {}
        namespace = str(meta["namespace"])
        if self.routers is not None:
            known = list(self.routers.get(namespace, ()))
        else:
            listed = await self.reader.list_objects(
                f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{PLURAL}"
            )
            known = [router_entry(other) for other in listed]
        mine = _age(meta)
        older = [(name, spec) for created, name, spec in known if (created, name) < mine]
        return names.collisions(str(meta["name"]), body.get("spec") or {}, older)

    async def _collision(
        self,
        body: kopf.Body,
        name: str,
        namespace: str,
        obs: Observation,
        clashes: list[tuple[str, str, str]],
        retry: int,
        finish: Callable[..., Outcome],
    ) -> Outcome:
        """Another router's release holds a name this one needs: nothing runs; retried in
        case that router goes away."""
        other, kind, object_name = clashes[0]
        delay = self.backoff(retry)
        message = (
            f"the release would create {kind} {object_name}, which SemanticRouter {other} "
            f"(created earlier in {namespace}) also creates: rename this SemanticRouter"
        )
        if len(clashes) > 1:
            message += f" ({len(clashes)} names clash)"
        return await self._blocked(
            body, name, namespace, obs, "NameCollision", message, delay, finish
        )

    async def _name_taken(
        self,
        body: kopf.Body,
        name: str,
        namespace: str,
        obs: Observation,
        claim: Ownership,
        retry: int,
        finish: Callable[..., Outcome],
    ) -> Outcome:
        """Another release holds the name: nothing runs; retried in case it goes away."""
        delay = self.backoff(retry)
        message = (
            f"release {namespace}/{name} (chart {claim.chart}) was not installed by the "
            f"operator for this SemanticRouter ({claim.why}): nothing was changed. Rename "
            "the SemanticRouter, remove that release, or, for a release of this chart "
            f"installed without the operator, annotate the SemanticRouter "
            f"{ADOPT_ANNOTATION}=true to adopt it"
        )
        return await self._blocked(
            body, name, namespace, obs, "ReleaseNameTaken", message, delay, finish
        )

    async def _blocked(
        self,
        body: kopf.Body,
        name: str,
        namespace: str,
        obs: Observation,
        reason: str,
        message: str,
        delay: float,
        finish: Callable[..., Outcome],
    ) -> Outcome:
        """Something outside this router blocks its release: no helm run, a Warning event,
        the reason in the status with the next try, retried after `delay`."""
        problem = Problem(ProblemKind.RELEASE, reason, f"{message}; {self.next_try(delay)}")
        self._announce(body, reason, message, log)
        return await self._refreshed(
            name,
            namespace,
            _with(obs, problem=problem),
            finish,
            kopf.TemporaryError(message, delay=delay),
        )

    async def _release_intact(
        self, name: str, namespace: str, known: status.ReleaseInfo, logger: Logger
    ) -> bool:
        """True when helm's latest revision is the one we applied, still deployed."""
        try:
            observed = await self.observe_release(name, namespace)
        except KubeReadError as exc:
            logger.warning(f"cannot read the helm release of {namespace}/{name}: {exc}")
            return True
        if observed == (known.revision, "deployed"):
            return True
        seen = "missing" if observed is None else f"revision {observed[0]} {observed[1]}"
        logger.warning(
            f"Release {namespace}/{name} drifted (expected revision {known.revision} deployed, "
            f"found {seen}); applying it again"
        )
        return False

    def _announce(
        self, body: kopf.Body, reason: str, message: str, logger: Logger, log_prefix: str = ""
    ) -> None:
        """A Warning event and a log line, unless the status already reports this very
        problem (the timer re-checks every interval and must not repeat itself)."""
        if not _reported(body.get("status"), message):
            kopf.event(body, type="Warning", reason=reason, message=message)
            logger.warning(f"{log_prefix}{message}")

    def _invalid(
        self,
        body: kopf.Body,
        obs: Observation,
        known: status.ReleaseInfo | None,
        message: str,
        logger: Logger,
        finish: Callable[..., Outcome],
        reason: str = "InvalidSpec",
    ) -> Outcome:
        """The spec cannot be released (here): the reason, an event, nothing retried."""
        problem = Problem(ProblemKind.INVALID_SPEC, reason, message)
        self._announce(body, reason, message, logger, "Invalid SemanticRouter spec: ")
        return finish(_with(obs, problem=problem, release=known), kopf.PermanentError(message))

    async def _release_failed(
        self,
        body: kopf.Body,
        name: str,
        namespace: str,
        obs: Observation,
        known: status.ReleaseInfo | None,
        want: str,
        exc: ReleaseError,
        retry: int,
        logger: Logger,
        finish: Callable[..., Outcome],
    ) -> Outcome:
        problem = Problem(ProblemKind.RELEASE, exc.reason, str(exc))
        self._announce(body, "ReleaseFailed", str(exc), logger)
        error: Exception
        if exc.transient:
            delay = self.backoff(retry)
            problem = Problem(ProblemKind.RELEASE, exc.reason, f"{exc}; {self.next_try(delay)}")
            logger.warning(f"helm failed (transient), retrying in {delay:g}s")
            error = kopf.TemporaryError(str(exc), delay=delay)
        else:
            memory = self._remember(_uid(body))
            memory.failed_digest, memory.failure = want, problem
            logger.error("helm failed permanently; the release is retried when the spec changes")
            error = kopf.PermanentError(str(exc))
        obs = _with(obs, problem=problem, release=known)
        return await self._refreshed(name, namespace, obs, finish, error)

    async def _refreshed(
        self,
        name: str,
        namespace: str,
        obs: Observation,
        finish: Callable[..., Outcome],
        error: Exception | None = None,
    ) -> Outcome:
        """The outcome with the Deployment and Route read fresh into the status."""
        workload, route = await self.observe_workload(name, namespace, obs.routes_enabled)
        return finish(_with(obs, workload=workload, route=route), error)

    # -- delete

    async def uninstall(self, body: kopf.Body, *, logger: Logger = log, retry: int = 0) -> None:
        """helm uninstall the release; a release that is already gone is fine."""
        meta = body.get("metadata") or {}
        name, namespace = str(meta["name"]), str(meta["namespace"])
        release = names.release_name(name)
        uid = _uid(body)
        async with self._remember(uid).lock:
            try:
                claim = await self.claim(body, release, namespace)
            except (KubeReadError, ReleaseError) as exc:
                delay = self.backoff(retry)
                logger.warning(
                    f"cannot tell who owns release {release}, retrying in {delay:g}s: {exc}"
                )
                raise kopf.TemporaryError(str(exc), delay=delay) from exc
            if claim.how == "absent":
                logger.info(f"Release {namespace}/{release} is already gone")
                self._memory.pop(uid, None)
                self.metrics.set_release_state(namespace, name, None)
                return
            if not claim.owned:
                message = (
                    f"Left release {namespace}/{release} (chart {claim.chart}) in place: it was "
                    f"not installed by the operator for this SemanticRouter ({claim.why})"
                )
                kopf.event(body, type="Normal", reason="ReleaseNotOwned", message=message)
                logger.info(message)
                self._memory.pop(uid, None)
                self.metrics.set_release_state(namespace, name, None)
                return
            try:
                with self.metrics.helm_run("uninstall") as run:
                    try:
                        await self.releases.uninstall(release, namespace)
                    except ReleaseError as exc:
                        run["reason"] = exc.reason
                        raise
            except ReleaseError as exc:
                kopf.event(body, type="Warning", reason="UninstallFailed", message=str(exc))
                if exc.transient:
                    delay = self.backoff(retry)
                    logger.warning(f"helm uninstall failed, retrying in {delay:g}s: {exc}")
                    raise kopf.TemporaryError(str(exc), delay=delay) from exc
                logger.error(f"helm uninstall failed; resources may remain: {exc}")
                raise kopf.PermanentError(str(exc)) from exc
        self._memory.pop(uid, None)
        self.metrics.set_release_state(namespace, name, None)
        message = f"Uninstalled release {release}"
        kopf.event(body, type="Normal", reason="Uninstalled", message=message)
        logger.info(message)


def release_state(computed: Mapping[str, Any]) -> str | None:
    """The state the release_state metric shows: helm's status of the release, "failed"
    while the last helm run failed, nothing while there is no release."""
    for cond in computed.get("conditions") or []:
        if cond.get("type") == "ReleaseFailed" and cond.get("status") == "True":
            return "failed"
    release = computed.get("release") or {}
    return str(release["status"]) if release.get("status") else None


def _reported(previous: Mapping[str, Any] | None, message: str) -> bool:
    """True when the status already shows `message` as a failure (Ready False or
    ReleaseFailed True)."""
    for cond in (previous or {}).get("conditions") or []:
        failing = (cond.get("type"), cond.get("status")) in (
            ("Ready", "False"),
            ("ReleaseFailed", "True"),
        )
        if failing and str(cond.get("message") or "").startswith(message):
            return True
    return False


def router_entry(obj: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(creationTimestamp, name, the spec fields object names depend on) of a router."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    naming = {key: spec[key] for key in ("persistence", "serviceAccount") if key in spec}
    created, name = _age(meta)
    return created, name, naming


def _age(meta: Mapping[str, Any]) -> tuple[str, str]:
    """Sort key of routers by age: creation time (RFC 3339 sorts as text), then name."""
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


def _owner(body: Mapping[str, Any]) -> str:
    """The uid written on the router's release as its owner label ("" when unknown)."""
    return str((body.get("metadata") or {}).get("uid") or "")


def _adopts(body: Mapping[str, Any]) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(ADOPT_ANNOTATION, "")).strip().lower() == "true"


def _uid(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")


def _with(obs: Observation, **changes: Any) -> Observation:
    fields = {**obs.__dict__, **changes}
    return Observation(**fields)


def _release_info(info: ReleaseInfo, digest: str) -> status.ReleaseInfo:
    return status.ReleaseInfo(
        name=info.name,
        revision=info.revision,
        chart_version=info.chart_version or "",
        status=info.status,
        digest=info.digest or digest,
    )


def write_status(patch: Any, previous: Mapping[str, Any] | None, fresh: Mapping[str, Any]) -> None:
    """Put the status change into kopf's patch (applied to the status subresource)."""
    if status.changed(previous, fresh):
        for key, value in status.as_patch(previous, fresh).items():
            patch.status[key] = value


# --- kopf registration ----------------------------------------------------------------------------


def register(registry: kopf.OperatorRegistry, op: Operator) -> None:
    """Put this operator's handlers on `registry`."""
    resource = (models.GROUP, models.VERSION, models.PLURAL)

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings, namespaced=not op.settings.clusterwide)

    @kopf.on.login(registry=registry)
    async def login(**kwargs: Any) -> Any:
        info = op.login(**kwargs)
        if info is not None:
            op.reader.use(info)
        return info

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await op.reader.close()

    @kopf.index(*resource, registry=registry, id="routers")
    def routers(body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, Any]:
        if op.handler_context is None:
            op.handler_context = contextvars.copy_context()
        return {str(namespace): router_entry(body)}

    @kopf.on.resume(*resource, registry=registry, id="reconcile")
    @kopf.on.create(*resource, registry=registry, id="reconcile")
    @kopf.on.update(*resource, registry=registry, id="reconcile")
    async def reconcile(
        body: kopf.Body,
        patch: kopf.Patch,
        reason: str,
        retry: int,
        logger: Logger,
        **kwargs: Any,
    ) -> None:
        op.routers = kwargs["routers"]
        outcome = await op.reconcile(body, trigger=str(reason), logger=logger, retry=retry)
        write_status(patch, body.get("status"), outcome.status)
        if outcome.error is not None:
            raise outcome.error

    # First run one interval after the object is seen: create and resume have just
    # reconciled it (a run at once would repeat every read for every object on start-up).
    @kopf.timer(
        *resource,
        registry=registry,
        id="drift",
        interval=op.settings.timer_interval,
        initial_delay=op.settings.timer_interval,
    )
    async def check(body: kopf.Body, logger: Logger, **kwargs: Any) -> None:
        op.routers = kwargs["routers"]
        # A random pause spreads the checks of many routers over the interval.
        stopped = kwargs.get("stopped")
        if op.settings.timer_jitter > 0 and stopped is not None:
            await stopped.wait(random.uniform(0, op.settings.timer_jitter))
            if stopped:
                return
        await op.check(body, logger=logger, retry=int(kwargs.get("retry") or 0))

    wiring.register(registry, op)

    @kopf.on.delete(*resource, registry=registry, id="uninstall")
    async def delete(body: kopf.Body, retry: int, logger: Logger, **_: Any) -> None:
        await op.uninstall(body, logger=logger, retry=retry)
