"""Drift: what helm set on an owned object against what the object holds now (pure).

A helm upgrade with unchanged values restores exactly this: Helm 3's three-way merge
patches every field of the rendered manifest whose live value differs, and creates an
object that is missing; Helm 4 applies the manifest server-side with
``--force-conflicts``. Fields the manifest does not set (what the API server defaults,
what controllers write, annotations others add, the replicas of a Deployment whose HPA
scales it: the chart leaves ``replicas`` out when autoscaling is on) are never drift.

The manifest is read from helm's release Secret (`manifest_objects`, `decode_release`).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

# Object metadata the API server or controllers write: never part of a comparison.
_VOLATILE_META = frozenset(
    {
        "resourceVersion",
        "generation",
        "managedFields",
        "uid",
        "creationTimestamp",
        "selfLink",
        "ownerReferences",
        "finalizers",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkKMGTPE]i?|)$")
_SUFFIX: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    **{s: Decimal(10) ** (3 * (i + 1)) for i, s in enumerate("kMGTPE")},
    "K": Decimal(1000),
    **{f"{s}i": Decimal(2) ** (10 * (i + 1)) for i, s in enumerate("KMGTPE")},
}


@dataclass(frozen=True)
class Drift:
    """An owned object that no longer is what helm made it."""

    kind: str
    name: str
    namespace: str
    # "deleted", or the fields (dotted paths) whose value changed.
    fields: tuple[str, ...]

    @property
    def deleted(self) -> bool:
        return self.fields == ("deleted",)

    def describe(self) -> str:
        what = "deleted" if self.deleted else "changed (" + ", ".join(self.fields[:5]) + ")"
        more = f" and {len(self.fields) - 5} more" if len(self.fields) > 5 else ""
        return f"{self.kind} {self.namespace}/{self.name} {what}{more}"


def _quantity(value: str) -> Decimal | None:
    match = _QUANTITY.match(value)
    if not match:
        return None
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation:
        return None
    if suffix[:1] in ("e", "E"):
        return base * Decimal(10) ** int(suffix[1:])
    return base * _SUFFIX[suffix]


def _same_scalar(want: Any, have: Any) -> bool:
    if want == have:
        return True
    if isinstance(want, bool) or isinstance(have, bool):
        return False
    # The API server stores quantities canonically ("1024Mi" → "1Gi", "0.5" → "500m"),
    # and an int-or-string may come back as either.
    if isinstance(want, str | int | float) and isinstance(have, str | int | float):
        a, b = _quantity(str(want)), _quantity(str(have))
        return a is not None and a == b
    return False


def differences(want: Any, have: Any, path: str = "") -> list[str]:
    """Dotted paths of the leaves of `want` (what helm set) that `have` (the live object)
    does not hold. Extra keys in `have` are not differences: the API server and
    controllers add them. Lists are compared item by item and must keep their length."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return [path or "."]
        found: list[str] = []
        for key, value in want.items():
            sub = f"{path}.{key}" if path else str(key)
            if value is None:
                continue  # helm drops nulls before applying
            if key not in have:
                if _zero(value):
                    continue  # the API server does not store empty or zero values
                    # (`omitempty`): helm's patch of them changes nothing either
                found.append(sub)
                continue
            found += differences(value, have[key], sub)
        return found
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return [path or "."]
        found = []
        for index, (item_want, item_have) in enumerate(zip(want, have, strict=True)):
            found += differences(item_want, item_have, f"{path}[{index}]")
        return found
    return [] if _same_scalar(want, have) else [path or "."]


def _zero(value: Any) -> bool:
    """An empty map or list, 0, "" or false."""
    if isinstance(value, bool):
        return value is False
    return value in ({}, [], 0, "")


def compared(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a manifest object that drift is judged on: all but its status and the
    metadata the server writes (the namespace too: helm leaves it to the release)."""
    meta = {
        key: value
        for key, value in (obj.get("metadata") or {}).items()
        if key not in _VOLATILE_META and key != "namespace"
    }
    rest = {k: v for k, v in obj.items() if k not in ("status", "metadata", "apiVersion")}
    return {**rest, "metadata": meta}


def content_digest(obj: Mapping[str, Any]) -> str:
    """A digest of an object's content but its status and server-written metadata: equal
    digests mean only the status (or the server's bookkeeping) changed."""
    meta = obj.get("metadata") or {}
    annotations = {
        key: value
        for key, value in (meta.get("annotations") or {}).items()
        if key != "deployment.kubernetes.io/revision"
    }
    body = compared(obj)
    body["metadata"] = {**body["metadata"], "annotations": annotations}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def assess(
    expected: Mapping[str, Any] | None, live: Mapping[str, Any] | None, namespace: str
) -> Drift | None:
    """The drift of one object: `expected` is the manifest's object (None: helm did not
    render it, so nothing to restore), `live` the object now (None: deleted)."""
    if expected is None:
        return None
    meta = expected.get("metadata") or {}
    kind, name = str(expected.get("kind")), str(meta.get("name"))
    if live is None:
        return Drift(kind, name, namespace, ("deleted",))
    changed = differences(compared(expected), live)
    if kind == "Deployment" and _autoscaled(expected):
        changed = [path for path in changed if path != "spec.replicas"]
    return Drift(kind, name, namespace, tuple(changed)) if changed else None


def _autoscaled(deployment: Mapping[str, Any]) -> bool:
    """True when the chart left the replicas to an HPA (it renders none then)."""
    return "replicas" not in (deployment.get("spec") or {})


def manifest_objects(manifest: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) → object, of a release's rendered manifest (helm's multi-document
    YAML); hooks are not part of it."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in yaml.safe_load_all(manifest):
        if isinstance(doc, dict) and doc.get("kind"):
            name = str((doc.get("metadata") or {}).get("name") or "")
            found[(str(doc["kind"]), name)] = doc
    return found


def decode_release(encoded: str) -> dict[str, Any]:
    """The release record helm keeps in its storage Secret: the Secret's ``data.release``
    is base64 (the API's encoding) of base64 (helm's) of gzip'd JSON."""
    raw = base64.b64decode(base64.b64decode(encoded))
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    record: dict[str, Any] = json.loads(raw)
    return record
