"""The helm command lines the operator runs (pure builders), the values payload it writes
to helm's stdin and the release JSON it reads back."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from semantic_router_operator.release.model import (
    _VERSION,
    OWNER_LABEL,
    ReleaseSettings,
    describe,
)

# --------------------------------------------------------------------------- pure helpers


def parse_major(version_output: str) -> int:
    """Major version from ``helm version --short`` (``v4.1.4+g05fa379`` → 4)."""
    match = _VERSION.search(version_output)
    if not match:
        raise ValueError(f"cannot read a helm version from {version_output.strip()!r}")
    return int(match.group(1))


def wait_flags(major: int, *, jobs: bool) -> list[str]:
    """``--wait`` is a boolean on Helm 3 and a strategy on Helm 4."""
    flags = ["--wait"] if major < 4 else ["--wait=watcher"]
    return [*flags, "--wait-for-jobs"] if jobs else flags


def upgrade_args(
    name: str,
    namespace: str,
    settings: ReleaseSettings,
    major: int,
    *,
    digest: str,
    owner: str = "",
) -> list[str]:
    args = [
        "upgrade",
        name,
        str(settings.chart),
        "--install",
        "--namespace",
        namespace,
        "--history-max",
        str(settings.history_max),
        "--timeout",
        f"{settings.timeout_seconds}s",
        "--values",
        "-",
        "--output",
        "json",
        "--description",
        describe(digest),
    ]
    if owner:
        args += ["--labels", f"{OWNER_LABEL}={owner}"]
    if major >= 4:
        args.append("--force-conflicts")
    if settings.wait:
        args += wait_flags(major, jobs=True)
    return args


def rollback_args(
    name: str, namespace: str, revision: int, settings: ReleaseSettings, major: int
) -> list[str]:
    args = [
        "rollback",
        name,
        str(revision),
        "--namespace",
        namespace,
        "--history-max",
        str(settings.history_max),
        "--timeout",
        f"{settings.timeout_seconds}s",
    ]
    if major >= 4:
        args.append("--force-conflicts")
    if settings.wait:
        args += wait_flags(major, jobs=True)
    return args


def uninstall_args(name: str, namespace: str, settings: ReleaseSettings, major: int) -> list[str]:
    args = [
        "uninstall",
        name,
        "--namespace",
        namespace,
        "--ignore-not-found",
        "--timeout",
        f"{settings.timeout_seconds}s",
    ]
    if settings.wait:
        args += wait_flags(major, jobs=False)
    return args


def template_args(
    name: str, namespace: str, settings: ReleaseSettings, api_versions: Sequence[str] = ()
) -> list[str]:
    args = ["template", name, str(settings.chart), "--namespace", namespace, "--values", "-"]
    for api in api_versions:
        args += ["--api-versions", api]
    return args


# would read as line breaks and fold away. They are written as \uXXXX escapes instead.
_YAML_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def values_payload(values: Mapping[str, Any]) -> bytes:
    """Chart values as helm reads them from stdin: JSON (a subset of YAML), UTF-8.

    Not ASCII-escaped: JSON writes a character outside the BMP (an emoji) as a surrogate
    pair, which helm's YAML parser refuses ("invalid Unicode character escape code").
    """
    text = json.dumps(values, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


def release_json(stdout: bytes) -> Any:
    """The release object in helm's stdout (newer helm may print registry lines first)."""
    return json.loads(stdout[max(stdout.find(b"{"), 0) :])


# ------------------------------------------------------------------------------ the runner
