"""What kopf keeps on a SemanticRouter: a digest of the spec as the last-handled state, and
its handler progress; and the questions the drift timer asks of them."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from typing import cast

import kopf

from semantic_router_operator import values

STORAGE_PREFIX = "semantic-router.vllm.ai"


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
