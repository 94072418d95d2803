"""Decisions over helm's release history: the release and revisions as parsed, recovery of
a release left pending, rollback after a failed upgrade, and ownership of a release."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from semantic_router_operator.release.model import (
    GOOD,
    OWNER_LABEL,
    PENDING,
    ReleaseInfo,
    Revision,
    digest_from_description,
)


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
