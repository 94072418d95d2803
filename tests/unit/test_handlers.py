"""What one reconcile reads from the API and asks of helm when there is nothing to do.

An operator restart resumes every SemanticRouter at once: each read it makes then is
paid once per object. These tests run the operator's reconcile against an in-memory
API that records every read, and a release store that records every helm run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import kopf
import pytest
from semantic_router_operator import handlers
from semantic_router_operator.handlers import Operator
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.release import OWNER_LABEL, ReleaseInfo
from semantic_router_operator.settings import Settings

NAME, NAMESPACE = "my-router", "default"
SERVICE = f"/api/v1/namespaces/{NAMESPACE}/services/vllm-qwen"
SECRETS = f"/api/v1/namespaces/{NAMESPACE}/secrets"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{NAME}"
STORAGE_CLASSES = "/apis/storage.k8s.io/v1/storageclasses"
SPEC: dict[str, Any] = {
    "persistence": {"enabled": True, "storageClassName": "standard", "size": "1Gi"},
    "vllmEndpoints": [
        {
            "name": "qwen",
            "model": "qwen2.5-7b",
            "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
        }
    ],
}


class Store:
    """Releases in memory; every apply recorded; helm's release Secrets derived."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, int, str]] = []  # (name, revision, digest)
        self.helm_secrets: list[dict[str, Any]] = []

    def chart_version(self) -> str:
        return "0.1.0"

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
        revision = len(self.applied) + 1
        self.applied.append((name, revision, digest))
        for secret in self.helm_secrets:
            secret["metadata"]["labels"]["status"] = "superseded"
        labels = {"owner": "helm", "name": name, "status": "deployed", "version": str(revision)}
        labels[OWNER_LABEL] = owner
        self.helm_secrets.append({"metadata": {"labels": labels}})
        return ReleaseInfo(name, namespace, revision, "deployed", "0.1.0", digest=digest)

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None:
        return None

    async def uninstall(self, name: str, namespace: str) -> None:
        self.helm_secrets.clear()

    async def template(self, *args: Any, **kwargs: Any) -> str:
        return ""


class Api:
    """The reads the operator makes, answered from memory and recorded in order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads: list[tuple[str, str]] = []
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.storage_classes = [{"metadata": {"name": "standard"}}]
        self.objects: dict[str, dict[str, Any]] = {
            "/apis": {"groups": []},
            SERVICE: {"spec": {"ports": [{"port": 8000}]}},
            DEPLOYMENT: {
                "metadata": {"generation": 1},
                "spec": {"replicas": 1},
                "status": {
                    "observedGeneration": 1,
                    "replicas": 1,
                    "updatedReplicas": 1,
                    "readyReplicas": 1,
                    "availableReplicas": 1,
                },
            },
        }

    def use(self, info: Any) -> None:
        pass

    async def close(self) -> None:
        pass

    async def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        self.writes.append((path, dict(body)))
        return dict(body)

    async def get(self, path: str) -> dict[str, Any] | None:
        self.reads.append(("get", path))
        return self.objects.get(path)

    async def list_objects(
        self, path: str, labels: Mapping[str, str] | None = None, *, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        self.reads.append(("list", path))
        if path == SECRETS:
            wanted = dict(labels or {})
            return [
                s
                for s in self.store.helm_secrets
                if all(s["metadata"]["labels"].get(k) == v for k, v in wanted.items())
            ]
        if path == STORAGE_CLASSES:
            return list(self.storage_classes)
        return []


@pytest.fixture
def quiet_events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """kopf.event outside a running operator: recorded here instead of posted."""
    posted: list[dict[str, Any]] = []
    monkeypatch.setattr(kopf, "event", lambda _obj, **kw: posted.append(kw))
    return posted


def router(status: Mapping[str, Any] | None = None) -> kopf.Body:
    raw: dict[str, Any] = {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "u-1", "generation": 1},
        "spec": SPEC,
        "status": dict(status or {}),
    }
    return kopf.Body(cast(kopf.RawBody, raw))


async def installed(store: Store, api: Api) -> dict[str, Any]:
    """The status a first reconcile leaves: one release installed and Running."""
    op = Operator(settings=Settings(), releases=store, reader=api, metrics=Metrics())
    outcome = await op.reconcile(router(), trigger="create")
    assert outcome.error is None, outcome.error
    assert outcome.status.phase == "Running"
    return outcome.status.to_dict()


def restarted(store: Store, api: Api) -> Operator:
    """A new operator process: nothing in memory."""
    return Operator(settings=Settings(), releases=store, reader=api, metrics=Metrics())


async def test_resume_with_nothing_changed_reads_backend_release_and_deployment_once_each(
    quiet_events: list[dict[str, Any]],
) -> None:
    store = Store()
    api = Api(store)
    status = await installed(store, api)
    api.reads.clear()

    outcome = await restarted(store, api).reconcile(router(status), trigger="resume")

    assert outcome.error is None
    assert outcome.status.phase == "Running"
    # The platform is detected once per process ("/apis"); then three reads per router.
    assert api.reads == [
        ("get", "/apis"),
        ("get", SERVICE),
        ("list", SECRETS),
        ("get", DEPLOYMENT),
    ]
    assert [revision for _, revision, _ in store.applied] == [1]


async def test_resume_applies_again_a_release_that_changed_while_no_operator_ran(
    quiet_events: list[dict[str, Any]],
) -> None:
    store = Store()
    api = Api(store)
    status = await installed(store, api)
    store.helm_secrets[-1]["metadata"]["labels"].update(version="2", status="failed")

    outcome = await restarted(store, api).reconcile(router(status), trigger="resume")

    assert outcome.error is None
    [(_, _, first), (_, _, again)] = store.applied
    assert again == first
    assert outcome.status.release is not None
    assert outcome.status.release.revision == 2
    assert [e["reason"] for e in quiet_events] == ["Installed", "Upgraded"]


async def test_a_deployed_router_no_longer_depends_on_its_storage_class(
    quiet_events: list[dict[str, Any]],
) -> None:
    store = Store()
    api = Api(store)
    status = await installed(store, api)
    api.storage_classes.clear()  # its PVC is bound; the class is deleted afterwards
    api.reads.clear()

    outcome = await restarted(store, api).reconcile(router(status), trigger="timer")

    assert outcome.error is None
    assert outcome.status.phase == "Running"
    assert ("list", STORAGE_CLASSES) not in api.reads
    assert len(store.applied) == 1


async def test_a_router_to_be_released_still_needs_its_storage_class(
    quiet_events: list[dict[str, Any]],
) -> None:
    store = Store()
    api = Api(store)
    api.storage_classes.clear()

    op = Operator(settings=Settings(), releases=store, reader=api, metrics=Metrics())
    outcome = await op.reconcile(router(), trigger="create")

    assert isinstance(outcome.error, kopf.PermanentError)
    assert outcome.status.phase == "Failed"
    ready = next(c for c in outcome.status.conditions or [] if c.type == "Ready")
    assert ready.reason == "StorageClassNotFound"
    assert store.applied == []


def test_the_drift_timer_first_runs_one_interval_after_a_router_is_seen() -> None:
    settings = Settings(timer_interval=45.0)
    op = Operator(settings=settings, releases=Store(), reader=Api(Store()), metrics=Metrics())
    registry = kopf.OperatorRegistry()
    handlers.register(registry, op)

    handlers_ = cast(list[Any], registry._spawning.get_all_handlers())
    timers = [h for h in handlers_ if h.id == "drift"]

    assert [(t.interval, t.initial_delay) for t in timers] == [(45.0, 45.0)]
