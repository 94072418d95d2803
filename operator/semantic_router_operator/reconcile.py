"""The reconcile of one SemanticRouter, as its steps, and the timer and delete behind kopf.

`Operator.reconcile` runs the steps in order; each decides one thing and may end the
reconcile by raising `Stop(problem, retry)`; `_conclude` handles every ending in one place:
it reads the Deployment and Route afresh (unless the spec is invalid or the API in trouble),
computes the status and tells kopf whether and when to retry.

    parse → resolve → check platform → build values → skip if deployed → check storage
          → check ownership → apply
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import kopf

from semantic_router_operator import (
    discovery,
    gateway,
    models,
    names,
    observe,
    platform,
    routerconfig,
    status,
    values,
)
from semantic_router_operator.discovery import BackendResult
from semantic_router_operator.kube import KubeApiError, KubeClient
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.models import SemanticRouterSpec, gateway_mode_of
from semantic_router_operator.platform import Platform, PlatformDetector
from semantic_router_operator.release import (
    Ownership,
    ReleaseError,
    ReleaseInfo,
    ReleaseManager,
)
from semantic_router_operator.runstate import (
    Logger,
    LoginFn,
    Memory,
    Outcome,
    Reader,
    Run,
    Stop,
    default_login,
    kopf_error,
    uid_of,
    utcnow,
)
from semantic_router_operator.settings import Settings
from semantic_router_operator.status import Observation, Problem, ProblemKind

log = logging.getLogger(__name__)

# Reconciles that also check helm's latest revision is still the one applied: the drift
# timer, and the resume after an operator restart (which stands in for the timer's first
# run: the timer first fires one interval later).
DRIFT_CHECKS = frozenset({"timer", "resume"})
# Problems whose status does not read the workload: the spec cannot be released, or the
# API cannot be read.
UNREFRESHED = frozenset({ProblemKind.INVALID_SPEC, ProblemKind.API})


@dataclass
class Operator:
    """The reconcile logic behind the kopf handlers, with its collaborators."""

    settings: Settings
    releases: ReleaseManager
    reader: Reader = field(default_factory=KubeClient)
    detector: PlatformDetector = field(default_factory=PlatformDetector)
    metrics: Metrics = field(default_factory=Metrics)
    login: LoginFn = default_login
    clock: Callable[[], str] = utcnow
    backoff_base: float = 30.0
    backoff_max: float = 900.0
    # Every SemanticRouter's (creationTimestamp, name, naming spec) by namespace, kept by
    # kopf from its watch (the `routers` index); None outside kopf: then listed from the API.
    routers: observe.RouterIndex | None = None
    drift_status: Callable[[str, str], Mapping[str, Any] | None] = lambda ns, name: None
    handler_context: Any = None  # a contextvars.Context
    workload_read: dict[tuple[str, str], float] = field(default_factory=dict)
    _memory: dict[str, Memory] = field(default_factory=dict)

    # -- helpers

    def remember(self, uid: str) -> Memory:
        return self._memory.setdefault(uid, Memory())

    def forget(self, uid: str) -> None:
        """Drop what this process knows about a router (it is gone)."""
        self._memory.pop(uid, None)

    def backoff(self, retry: int) -> float:
        """Seconds before retry number `retry` (0-based): exponential, bounded."""
        return float(min(self.backoff_max, self.backoff_base * 2 ** min(retry, 16)))

    def next_try(self, delay: float) -> str:
        """When a retry `delay` seconds from now happens, as the status tells it."""
        when = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=delay)
        return f"next try in {delay:g}s, at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"

    def known_release(
        self, uid: str, previous: Mapping[str, Any], namespace: str
    ) -> ReleaseInfo | None:
        """The release as last applied by this process, else as the status recorded it."""
        memory = self._memory.get(uid)
        if memory is not None and memory.release is not None:
            return memory.release
        return status.release_from_status(previous, namespace)

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
        """Bring one SemanticRouter's release in line with its spec (`force`: run helm
        even with these values deployed, a repair); compute its status."""
        async with self.remember(uid_of(body)).lock:
            run = replace(self._start(body, trigger, logger, retry), force=force)
            outcome = await self._reconcile(run)
        result = "success" if outcome.error is None else type(outcome.error).__name__
        self.metrics.reconciled(trigger, result)
        meta = body.get("metadata") or {}
        self.metrics.set_release_state(
            str(meta.get("namespace")), str(meta.get("name")), status.release_state(outcome.status)
        )
        return outcome

    def _start(self, body: kopf.Body, trigger: str, logger: Logger, retry: int) -> Run:
        meta = body.get("metadata") or {}
        uid = uid_of(body)
        previous: Mapping[str, Any] = body.get("status") or {}
        spec = body.get("spec") or {}
        obs = Observation(
            generation=int(meta.get("generation") or 0),
            gateway_mode=gateway_mode_of(spec),
            release=self.known_release(uid, previous, str(meta["namespace"])),
            gateway=gateway.unobserved(spec, str(meta["namespace"]), str(meta["name"])),
        )
        return Run(
            body=body,
            trigger=trigger,
            logger=logger,
            retry=retry,
            name=names.release_name(str(meta["name"])),
            namespace=str(meta["namespace"]),
            memory=self.remember(uid),
            obs=obs,
        )

    async def _reconcile(self, run: Run) -> Outcome:
        try:
            spec = self.parse(run)
            detected, resolved = await self.resolve(run, spec)
            self.check_platform(run, spec, detected)
            chart_values = self.build_values(run, spec, resolved, detected)
            await self.skip_if_deployed(run)
            await self.check_storage(run, spec, resolved)
            await self.check_ownership(run)
            await self.apply(run, chart_values)
        except Stop as stop:
            return await self._conclude(run, stop)
        except KubeApiError as exc:
            return await self._conclude(run, self._api_trouble(run, exc))
        except ReleaseError as exc:
            return await self._conclude(run, self._release_failed(run, exc))
        return await self._conclude(run, Stop())

    async def _conclude(self, run: Run, stop: Stop) -> Outcome:
        """The one ending of every reconcile: the workload read afresh (unless the spec is
        invalid or the API in trouble: then as last reported), the status computed, kopf
        told what to retry."""
        problem, error = stop.problem, kopf_error(stop)
        if isinstance(stop.retry, float) and problem is not None:
            message = f"{problem.message}; {self.next_try(stop.retry)}"
            problem = replace(problem, message=message)
        repairs = self.drift_status(run.namespace, run.name)
        obs = replace(run.obs, problem=problem, drift_repair=repairs)
        if problem is None or problem.kind not in UNREFRESHED:
            self.workload_read[(run.namespace, run.name)] = time.monotonic()
            workload, route = await observe.workload(
                self.reader, run.name, run.namespace, obs.routes_enabled
            )
            obs = replace(obs, workload=workload, route=route)
            if obs.gateway is not None:
                obs = replace(obs, gateway=await gateway.observe(self.reader, obs.gateway.ref))
        else:
            obs = replace(obs, workload=status.Workload.last_seen(run.previous))
        return Outcome(status.compute(obs, run.previous, self.clock()), error)

    # -- the steps

    def parse(self, run: Run) -> SemanticRouterSpec:
        """The spec, validated by the API models."""
        try:
            return models.parse_spec(run.body.get("spec") or {})
        except models.SpecError as exc:
            raise self._invalid(run, str(exc)) from None

    async def resolve(
        self, run: Run, spec: SemanticRouterSpec
    ) -> tuple[Platform, list[BackendResult]]:
        """What the cluster offers: the platform, and each endpoint's backend."""
        detected = await self.detector.detect(self.reader, run.logger)
        reported = discovery.reported_failures(run.previous)
        resolved = await discovery.resolve(
            _endpoints(spec),
            run.namespace,
            self.reader,
            run.logger,
            owner=run.owner,
            reported=reported,
        )
        for result in resolved:
            if not result.resolved and reported.get(result.endpoint) != result.message:
                message = f"backend {result.endpoint} ({result.type}): {result.message}"
                kopf.event(
                    run.body, type="Warning", reason="BackendDiscoveryFailed", message=message
                )
        run.obs = replace(run.obs, backends=resolved)
        return detected, resolved

    def check_platform(self, run: Run, spec: SemanticRouterSpec, detected: Platform) -> None:
        """Routes only on OpenShift: elsewhere the release leaves the Route out
        (values.build) and the rest deploys; the status says Degraded, with one Warning
        event while it lasts. A ReadWriteOnce models claim several replicas share: one
        Warning event (it works while they land on one node)."""
        claim = platform.claim_not_shared(spec.persistence.to_dict(), spec.most_replicas)
        if claim is not None and run.memory.claim_warning != claim:
            kopf.event(run.body, type="Warning", reason="ModelsClaimNotShared", message=claim)
            run.logger.warning(claim)
        run.memory.claim_warning = claim or ""
        routes = bool(spec.openshift and spec.openshift.routes and spec.openshift.routes.enabled)
        route_problem = platform.check_routes(routes, detected)
        shortfall = None
        if route_problem is not None:
            shortfall = Problem(ProblemKind.PLATFORM, "RoutesNeedOpenShift", route_problem)
            if run.memory.shortfall != route_problem:
                self._announce(run.body, shortfall.reason, route_problem, run.logger)
        run.memory.shortfall = route_problem or ""
        run.obs = replace(
            run.obs, routes_enabled=platform.routes_deployed(routes, detected), shortfall=shortfall
        )

    def build_values(
        self,
        run: Run,
        spec: SemanticRouterSpec,
        resolved: Sequence[BackendResult],
        detected: Platform,
    ) -> dict[str, Any]:
        """The chart values, and their digest (`run.want`)."""
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
            raise self._invalid(run, str(exc)) from None
        run.want = values.digest(self.releases.chart_version(), chart_values)
        return chart_values

    async def skip_if_deployed(self, run: Run) -> None:
        """Nothing to do when helm already has exactly these values. On a restart, as on
        the timer, helm's latest revision is checked too (drift while no one watched)."""
        known = run.known
        if run.trigger == "watch" or (run.force and (known is None or known.digest != run.want)):
            raise Stop()  # a watch refreshes the status; a repair re-applies what is deployed
        if run.force or known is None or not known.deployed or known.digest != run.want:
            return
        if run.trigger in DRIFT_CHECKS and not await observe.release_intact(
            self.reader, run.name, run.namespace, known, run.logger
        ):
            return
        raise Stop()

    async def check_storage(
        self, run: Run, spec: SemanticRouterSpec, resolved: Sequence[BackendResult]
    ) -> None:
        """Before a helm run only: the StorageClass (helm may create the PVC; a release
        deployed with these very values has its claim already), a backend to route to,
        and values helm refused for good (the timer leaves them alone)."""
        storage = await platform.validate_storage(spec.persistence.to_dict(), self.reader)
        if storage is not None:
            self._announce(run.body, storage.reason, storage.message, run.logger)
            raise Stop(Problem(ProblemKind.STORAGE, storage.reason, storage.message), "never")
        if _endpoints(spec) and not any(r.resolved for r in resolved):
            summary = discovery.summary(resolved)
            raise Stop(Problem(ProblemKind.NO_BACKENDS, "NoBackendsFound", summary))
        if run.trigger == "timer" and run.memory.failed_digest == run.want:
            raise Stop(run.memory.failure)

    async def check_ownership(self, run: Run) -> None:
        """Never touch a release this operator did not install for this router: checked
        before this process's first helm run for it."""
        if run.memory.release is not None:
            return
        clashes = await observe.collisions(self.reader, self.routers, run.body)
        if clashes:
            raise self._collision(run, clashes)
        claim = await observe.claim(
            self.reader,
            self.releases,
            self.settings.chart_path,
            run.body,
            run.name,
            run.namespace,
        )
        if not claim.owned:
            raise self._name_taken(run, claim)
        if claim.how == "adopted":
            run.logger.info(f"Adopting release {run.namespace}/{run.name} (chart {claim.chart})")

    async def apply(self, run: Run, chart_values: Mapping[str, Any]) -> None:
        """helm upgrade --install."""
        action = "install" if run.known is None else "upgrade"
        with self.metrics.helm_run(action) as helm_run:
            try:
                info = await self.releases.apply(
                    run.name,
                    run.namespace,
                    chart_values,
                    digest=run.want,
                    owner=observe.owner_uid(run.body),
                    **({"repair": True} if run.force else {}),
                )
            except ReleaseError as exc:
                helm_run["reason"] = exc.reason
                raise
        applied = replace(info, digest=info.digest or run.want)
        run.memory.release, run.memory.failed_digest, run.memory.failure = applied, "", None
        run.obs = replace(run.obs, release=applied)
        verb = "Installed" if action == "install" else "Upgraded"
        message = (
            f"{verb} release {run.name} revision {applied.revision} "
            f"(chart {applied.chart_version}, {applied.status})"
        )
        kopf.event(run.body, type="Normal", reason=verb, message=message)
        run.logger.info(message)

    # -- how a reconcile stops

    def _invalid(self, run: Run, message: str, reason: str = "InvalidSpec") -> Stop:
        """The spec cannot be released (here): the reason, an event, nothing retried."""
        self._announce(run.body, reason, message, run.logger, "Invalid SemanticRouter spec: ")
        return Stop(Problem(ProblemKind.INVALID_SPEC, reason, message), "never")

    def _api_trouble(self, run: Run, exc: KubeApiError) -> Stop:
        delay = max(self.backoff(run.retry), exc.retry_after or 0.0)
        self._announce(run.body, "KubernetesApiError", str(exc), run.logger)
        run.logger.warning(f"Kubernetes API trouble, retrying in {delay:g}s")
        return Stop(Problem(ProblemKind.API, "KubernetesApiError", str(exc)), delay)

    def _release_failed(self, run: Run, exc: ReleaseError) -> Stop:
        problem = Problem(ProblemKind.RELEASE, exc.reason, str(exc))
        self._announce(run.body, "ReleaseFailed", str(exc), run.logger)
        if exc.transient:
            delay = self.backoff(run.retry)
            run.logger.warning(f"helm failed (transient), retrying in {delay:g}s")
            return Stop(problem, delay)
        run.memory.failed_digest, run.memory.failure = run.want, problem
        run.logger.error("helm failed permanently; the release is retried when the spec changes")
        return Stop(problem, "never")

    def _collision(self, run: Run, clashes: list[tuple[str, str, str]]) -> Stop:
        """Another router's release holds a name this one needs: nothing runs; retried in
        case that router goes away."""
        other, kind, object_name = clashes[0]
        message = (
            f"the release would create {kind} {object_name}, which SemanticRouter {other} "
            f"(created earlier in {run.namespace}) also creates: rename this SemanticRouter"
        )
        if len(clashes) > 1:
            message += f" ({len(clashes)} names clash)"
        return self._blocked(run, "NameCollision", message)

    def _name_taken(self, run: Run, claim: Ownership) -> Stop:
        """Another release holds the name: nothing runs; retried in case it goes away."""
        message = (
            f"release {run.namespace}/{run.name} (chart {claim.chart}) was not installed by the "
            f"operator for this SemanticRouter ({claim.why}): nothing was changed. Rename "
            "the SemanticRouter, remove that release, or, for a release of this chart "
            f"installed without the operator, annotate the SemanticRouter "
            f"{observe.ADOPT_ANNOTATION}=true to adopt it"
        )
        return self._blocked(run, "ReleaseNameTaken", message)

    def _blocked(self, run: Run, reason: str, message: str) -> Stop:
        """Something outside this router blocks its release: no helm run, a Warning event,
        the reason in the status with the next try, retried with backoff."""
        self._announce(run.body, reason, message, log)
        return Stop(Problem(ProblemKind.RELEASE, reason, message), self.backoff(run.retry))

    def _announce(
        self, body: kopf.Body, reason: str, message: str, logger: Logger, log_prefix: str = ""
    ) -> None:
        """A Warning event and a log line, unless the status already reports this very
        problem (the timer re-checks every interval and must not repeat itself)."""
        if not status.reported(body.get("status"), message):
            kopf.event(body, type="Warning", reason=reason, message=message)
            logger.warning(f"{log_prefix}{message}")


def _endpoints(spec: SemanticRouterSpec) -> list[dict[str, Any]]:
    return [e.to_dict() for e in spec.vllm_endpoints or []]
