"""Names derived from a SemanticRouter's name (pure): its helm release, and the name the
chart gives the release's objects.

A SemanticRouter may be named like any object, a DNS subdomain of up to 253 characters.
helm takes release names of at most 53 characters, and most of the objects the chart
makes must be DNS labels (63 characters, no dots, a letter first for Services). Short
names pass through unchanged (``my-router`` → release ``my-router``, ``deployment/my-router``,
PVC ``my-router-models``); a name that does not fit is shortened and suffixed with a hash
of the whole name, so that names stay within the limits, stable across reconciles, and
distinct for two long names that share a long prefix.

`fullname` mirrors the chart's ``semantic-router.fullname`` helper: the operator reads
back the Deployment and the Route the chart names that way.

Names of different SemanticRouters can still meet: router ``x``'s headless Service is
``x-grpc-headless``, the main Service of a router named ``x-grpc-headless``. `objects`
lists, per kind, the names a router's release takes, and `collisions` finds the routers
whose names meet it, so that the operator reports the clash before helm runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

RELEASE_MAX = 53  # helm's limit on release names
# The chart suffixes the fullname with at most 14 characters ("-grpc-headless"): a
# fullname of at most 49 keeps every derived object name within a 63-character label.
FULLNAME_MAX = 49
HASH_LENGTH = 10

# The Kubernetes name rules (RFC 1123), defined here once: the API models, the helm layer
# and the command line check names with these.
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS label (a namespace, a Service name): at most 63 characters."""
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A DNS subdomain (most object names, helm release names): at most 253 characters."""
LABEL = re.compile(DNS1123_LABEL)
SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN)
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LETTER_FIRST = re.compile(r"^[a-z]")
# DNS labels that YAML (1.1, as helm and the API machinery read it) takes for a boolean or null.
YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]


def _shortened(text: str, limit: int, original: str) -> str:
    """`text` cut to leave room for ``-<hash of original>`` within `limit`."""
    head = text[: limit - HASH_LENGTH - 1].strip("-.")
    return f"{head}-{_hash(original)}"


def release_name(name: str) -> str:
    """The helm release of the SemanticRouter `name`: `name` itself when helm accepts it,
    else its first 42 characters and a hash of the whole name (53 characters)."""
    if len(name) <= RELEASE_MAX and SUBDOMAIN.match(name):
        return name
    return _shortened(name, RELEASE_MAX, name)


def fullname(release: str) -> str:
    """The chart's name for the objects of `release` (``semantic-router.fullname``): the
    release name when it is a DNS label of at most 49 characters that YAML does not read as
    a boolean or null; else the name with dots made dashes, a letter in front if it lacks
    one, cut, and a hash of the release name."""
    if len(release) <= FULLNAME_MAX and _DNS_LABEL.match(release) and release not in YAML_WORDS:
        return release
    label = release.replace(".", "-")
    if not _LETTER_FIRST.match(label):
        label = f"sr-{label}"
    return _shortened(label, FULLNAME_MAX, release)


def _cut(text: str, limit: int) -> str:
    """helm's ``trunc limit | trimSuffix "-"``."""
    cut = text[:limit]
    return cut[:-1] if cut.endswith("-") else cut


def objects(name: str, spec: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of what the release of the SemanticRouter `name` holds, named as the
    chart names it: the release itself, the objects named after the fullname (Deployment
    stands for the HPA, PDB, Ingress, HTTPRoute, Route and ServiceMonitor, named alike),
    both Services, both ConfigMaps, the models PVC and the ServiceAccount it creates."""
    release = release_name(name)
    full = fullname(release)
    taken = {
        ("helm release", release),
        ("Deployment", full),
        ("Service", full),
        ("Service", f"{_cut(full, 49)}-grpc-headless"),
        ("ConfigMap", _cut(f"{full}-config", 63)),
        ("ConfigMap", _cut(f"{full}-envoy", 63)),
    }
    persistence = spec.get("persistence") or {}
    if persistence.get("enabled", True) and not persistence.get("existingClaim"):
        taken.add(("PersistentVolumeClaim", f"{_cut(full, 56)}-models"))
    account = spec.get("serviceAccount") or {}
    if account.get("create", True):
        taken.add(("ServiceAccount", str(account.get("name") or full)))
    return taken


def collisions(
    name: str, spec: Mapping[str, Any], others: Iterable[tuple[str, Mapping[str, Any]]]
) -> list[tuple[str, str, str]]:
    """(other router, kind, object name) for each object the router `name` would share
    with one of `others` (name, spec) in its namespace, sorted."""
    mine = objects(name, spec)
    found = []
    for other, other_spec in others:
        if other == name:
            continue
        for kind, object_name in sorted(mine & objects(other, other_spec)):
            found.append((other, kind, object_name))
    return sorted(found)
