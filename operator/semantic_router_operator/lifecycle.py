"""The drift timer and the delete handler's work, on an `Operator`.

The timer re-runs the reconcile once the change handlers have processed the current spec,
and writes the status itself; the delete handler uninstalls the release when it is this
router's.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import kopf

from semantic_router_operator import names, observe, status
from semantic_router_operator.kopfstate import NUDGE_ANNOTATION, handled, retry_scheduled
from semantic_router_operator.kube import KubeApiError
from semantic_router_operator.models import GROUP, PLURAL, VERSION
from semantic_router_operator.reconcile import Operator, log
from semantic_router_operator.release import ReleaseError
from semantic_router_operator.runstate import Logger, uid_of


def stalled(op: Operator, body: kopf.Body) -> bool:
    """True when a spec change waits for the change handlers and nothing will wake
    them: the same unhandled version seen on two timer runs in a row, no reconcile
    running, no retry scheduled. It happens when the API lost kopf's write of the
    handler's outcome (a 5xx burst outlasting kopf's retries): kopf then never sees
    another event for this object, and the status would stay behind for good."""
    memory = op.remember(uid_of(body))
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


async def check(
    op: Operator,
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

    The owned-object watches run it too (`trigger` "watch": a status refresh; "drift"
    with `force`: a repair by a helm upgrade of the unchanged values).
    """
    if not handled(body):
        if trigger == "timer" and stalled(op, body):
            logger.warning(
                "The latest spec change was not recorded as handled (an API write was "
                "lost); waking the change handlers"
            )
            nudge = {"metadata": {"annotations": {NUDGE_ANNOTATION: op.clock()}}}
            await _write(op, body, "", nudge, retry)
        return
    outcome = await op.reconcile(body, trigger=trigger, logger=logger, retry=retry, force=force)
    previous = body.get("status") or {}
    if status.changed(previous, outcome.status):
        version = (body.get("metadata") or {}).get("resourceVersion")
        patch = {
            "metadata": {"resourceVersion": version},
            "status": status.as_patch(previous, outcome.status),
        }
        await _write(op, body, "/status", patch, retry)


async def _write(
    op: Operator, body: kopf.Body, subresource: str, patch: Mapping[str, Any], retry: int
) -> None:
    meta = body.get("metadata") or {}
    ns, name = quote(str(meta["namespace"])), quote(str(meta["name"]))
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}/{name}" + subresource
    try:
        await op.reader.merge_patch(path, patch)
    except KubeApiError as exc:
        delay = max(op.backoff(retry), exc.retry_after or 0.0)
        raise kopf.TemporaryError(f"{exc}; retrying in {delay:g}s", delay=delay) from exc


async def uninstall(op: Operator, body: kopf.Body, *, logger: Logger = log, retry: int = 0) -> None:
    """helm uninstall the release; a release that is already gone is fine."""
    meta = body.get("metadata") or {}
    name, namespace = str(meta["name"]), str(meta["namespace"])
    release = names.release_name(name)
    uid = uid_of(body)
    async with op.remember(uid).lock:
        try:
            claim = await observe.claim(
                op.reader, op.releases, op.settings.chart_path, body, release, namespace
            )
        except (KubeApiError, ReleaseError) as exc:
            delay = op.backoff(retry)
            logger.warning(f"cannot tell who owns release {release}, retrying in {delay:g}s: {exc}")
            raise kopf.TemporaryError(str(exc), delay=delay) from exc
        if claim.how == "absent":
            logger.info(f"Release {namespace}/{release} is already gone")
            op.forget(uid)
            op.metrics.set_release_state(namespace, name, None)
            return
        if not claim.owned:
            message = (
                f"Left release {namespace}/{release} (chart {claim.chart}) in place: it was "
                f"not installed by the operator for this SemanticRouter ({claim.why})"
            )
            kopf.event(body, type="Normal", reason="ReleaseNotOwned", message=message)
            logger.info(message)
            op.forget(uid)
            op.metrics.set_release_state(namespace, name, None)
            return
        try:
            with op.metrics.helm_run("uninstall") as run:
                try:
                    await op.releases.uninstall(release, namespace)
                except ReleaseError as exc:
                    run["reason"] = exc.reason
                    raise
        except ReleaseError as exc:
            kopf.event(body, type="Warning", reason="UninstallFailed", message=str(exc))
            if exc.transient:
                delay = op.backoff(retry)
                logger.warning(f"helm uninstall failed, retrying in {delay:g}s: {exc}")
                raise kopf.TemporaryError(str(exc), delay=delay) from exc
            logger.error(f"helm uninstall failed; resources may remain: {exc}")
            raise kopf.PermanentError(str(exc)) from exc
    op.forget(uid)
    op.metrics.set_release_state(namespace, name, None)
    message = f"Uninstalled release {release}"
    kopf.event(body, type="Normal", reason="Uninstalled", message=message)
    logger.info(message)
