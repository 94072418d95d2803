"""helm failures: classification of stderr into a reason (an ordered table, the first match
wins), a bounded summary, secrets scrubbed from anything printed, and release-name checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from semantic_router_operator import names
from semantic_router_operator.release.model import (
    MAX_STDERR,
    Reason,
    ReleaseError,
)

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
    if len(name) > 53 or not names.SUBDOMAIN.match(name):
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
    if len(namespace) > 63 or not names.LABEL.match(namespace):
        raise ReleaseError(
            "apply",
            name,
            namespace,
            reason="InvalidInput",
            transient=False,
            detail=f"namespace {namespace!r} is not a valid Kubernetes namespace name",
        )
