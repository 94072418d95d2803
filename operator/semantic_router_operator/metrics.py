"""Prometheus metrics of the operator: reconciles, helm runs, release states.

One `Metrics` per operator process, on its own registry (tests make their own).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PREFIX = "semantic_router_operator"

# Helm runs take from under a second (no-op upgrade) to the helm timeout (minutes).
HELM_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    """The operator's counters, histograms and gauges."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.reconciles = Counter(
            f"{PREFIX}_reconciles_total",
            "Reconciles of SemanticRouter resources, by trigger and result.",
            ["trigger", "result"],
            registry=self.registry,
        )
        self.helm_runs = Counter(
            f"{PREFIX}_helm_runs_total",
            "helm install/upgrade/uninstall runs, by action and result.",
            ["action", "result"],
            registry=self.registry,
        )
        self.helm_failures = Counter(
            f"{PREFIX}_helm_failures_total",
            "Failed helm runs, by action and failure reason.",
            ["action", "reason"],
            registry=self.registry,
        )
        self.helm_duration = Histogram(
            f"{PREFIX}_helm_run_duration_seconds",
            "Duration of helm runs, by action.",
            ["action"],
            buckets=HELM_BUCKETS,
            registry=self.registry,
        )
        self.release_state = Gauge(
            f"{PREFIX}_release_state",
            "1 for the current state of each SemanticRouter's release (helm status or phase).",
            ["namespace", "name", "state"],
            registry=self.registry,
        )
        self._states: dict[tuple[str, str], str] = {}

    def reconciled(self, trigger: str, result: str) -> None:
        self.reconciles.labels(trigger=trigger, result=result).inc()

    @contextmanager
    def helm_run(self, action: str) -> Iterator[dict[str, Any]]:
        """Time one helm run; the caller sets ``outcome["reason"]`` on failure."""
        outcome: dict[str, Any] = {}
        start = time.monotonic()
        try:
            yield outcome
        except BaseException:
            reason = str(outcome.get("reason") or "Error")
            self.helm_runs.labels(action=action, result="failure").inc()
            self.helm_failures.labels(action=action, reason=reason).inc()
            raise
        else:
            self.helm_runs.labels(action=action, result="success").inc()
        finally:
            self.helm_duration.labels(action=action).observe(time.monotonic() - start)

    def set_release_state(self, namespace: str, name: str, state: str | None) -> None:
        """Record the release state of one SemanticRouter (None: it is gone)."""
        key = (namespace, name)
        old = self._states.pop(key, None)
        if old is not None:
            self.release_state.remove(namespace, name, old)
        if state is not None:
            self._states[key] = state
            self.release_state.labels(namespace=namespace, name=name, state=state).set(1)

    def serve(self, port: int) -> None:
        """Expose /metrics on `port` (0: not at all) from a background thread."""
        if port:
            start_http_server(port, registry=self.registry)
