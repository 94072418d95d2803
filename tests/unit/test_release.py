"""release.py: the exact helm commands, recovery, rollback, errors, and real helm renders."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from semantic_router_operator.release import (
    OWNER_LABEL,
    HelmReleases,
    ReleaseError,
    ReleaseInfo,
    ReleaseSettings,
    Revision,
    classify,
    describe,
    ownership,
    parse_major,
    plan_recovery,
    scrub,
    secret_strings,
    split_chart,
)
from semantic_router_operator.release.model import HISTORY_MAX

from tests.support.fakehelm import Call, FakeHelm
from tests.support.helm import CHART, helm_binary

MAJORS = (3, 4)
NS = "team-a"
DIGEST = "sha256:0123abcd"
DESCRIPTION = describe(DIGEST)
VALUES: dict[str, Any] = {"replicas": 2, "vllmEndpoints": [{"name": "a", "model": "m-1"}]}
UID = "0b5e3c1a-7d2f-4f43-9a51-1c2d3e4f5a6b"


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    path = tmp_path / "chart"
    (path / "templates").mkdir(parents=True)
    (path / "Chart.yaml").write_text("apiVersion: v2\nname: semantic-router\nversion: 1.2.3\n")
    return path


def releases_for(
    tmp_path: Path, chart: Path, major: int = 4, **settings: Any
) -> tuple[FakeHelm, HelmReleases]:
    fake = FakeHelm(tmp_path, major=major)
    return fake, HelmReleases(ReleaseSettings(helm=str(fake.path), chart=chart, **settings))


def upgrade_argv(name: str, chart: Path, major: int, digest: str = DIGEST) -> list[str]:
    argv = [
        "upgrade",
        name,
        str(chart),
        "--install",
        "--namespace",
        NS,
        "--history-max",
        str(HISTORY_MAX),
        "--timeout",
        "300s",
        "--values",
        "-",
        "--output",
        "json",
        "--description",
        describe(digest),
    ]
    return [*argv, "--force-conflicts"] if major == 4 else argv


def rollback_argv(name: str, revision: int, major: int) -> list[str]:
    argv = ["rollback", name, str(revision), "--namespace", NS, "--history-max", str(HISTORY_MAX)]
    argv += ["--timeout", "300s"]
    return [*argv, "--force-conflicts"] if major == 4 else argv


def history_argv(name: str) -> list[str]:
    return ["history", name, "--output", "json", "--max", "256", "--namespace", NS]


def uninstall_argv(name: str) -> list[str]:
    return ["uninstall", name, "--namespace", NS, "--ignore-not-found", "--timeout", "300s"]


def real_helm_accepts(major: int, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Ask the real helm of `major` to parse `argv`: `--help` succeeds only on known flags."""
    return subprocess.run(
        [helm_binary(major), *argv, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def helm_homes(tmp_path: Path) -> dict[str, str]:
    return {
        f"HELM_{kind}_HOME": str(tmp_path / "helm-home" / kind.lower())
        for kind in ("CACHE", "CONFIG", "DATA")
    }


def max_overlap(calls: Sequence[Call]) -> int:
    events = sorted(
        [(c.start, 1) for c in calls] + [(c.end or c.start, -1) for c in calls],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# ---------------------------------------------------------------- install / upgrade commands


@pytest.mark.parametrize("major", MAJORS)
async def test_first_apply_runs_version_history_then_upgrade_install_with_exact_flags(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)

    info = await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert fake.argvs() == [
        ["version", "--short"],
        history_argv("router"),
        upgrade_argv("router", chart, major),
    ]
    assert (info.name, info.namespace, info.revision, info.status) == ("router", NS, 1, "deployed")
    assert (info.chart_version, info.digest) == ("1.2.3", DIGEST)


@pytest.mark.parametrize("major", MAJORS)
async def test_values_reach_helm_as_json_on_stdin_and_no_file_is_written(
    tmp_path: Path, chart: Path, major: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    fake, releases = releases_for(tmp_path, chart, major)

    await releases.apply("router", NS, VALUES, digest=DIGEST)
    await releases.template("router", NS, VALUES)

    writers = [c for c in fake.calls() if c.command in ("upgrade", "template")]
    assert [json.loads(c.stdin) for c in writers] == [VALUES, VALUES]
    for call in writers:
        assert call.argv[call.argv.index("--values") + 1] == "-"
        assert "-f" not in call.argv
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in chart.rglob("*")) == ["Chart.yaml", "templates"]


@pytest.mark.parametrize("major", MAJORS)
async def test_every_command_the_adapter_runs_is_accepted_by_the_real_helm_of_that_major(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(
        tmp_path, chart, major, kubeconfig=tmp_path / "kubeconfig", kube_context="prod"
    )
    fake.seed(
        NS, "stuck", [{"status": "deployed"}, {"status": "pending-upgrade", "age_seconds": 3600}]
    )
    fake.seed(NS, "fresh", [{"status": "pending-install", "age_seconds": 3600}])
    fake.seed(NS, "ok", [{"status": "deployed"}])
    fake.fail("upgrade", "Error: UPGRADE FAILED: timed out", records_failed_revision=True)

    with pytest.raises(ReleaseError):
        await releases.apply("ok", NS, VALUES, digest=DIGEST)
    await releases.apply("stuck", NS, VALUES, digest=DIGEST)
    await releases.apply("fresh", NS, VALUES, digest=DIGEST, owner=UID)
    await releases.status("ok", NS)
    await releases.uninstall("ok", NS)
    await releases.template("ok", NS, VALUES, api_versions=["route.openshift.io/v1"])

    commands = {c.command for c in fake.calls()}
    assert commands == {
        "version",
        "history",
        "upgrade",
        "rollback",
        "uninstall",
        "status",
        "template",
    }
    for argv in fake.argvs():
        verdict = real_helm_accepts(major, argv)
        assert verdict.returncode == 0, (argv, verdict.stderr)
        assert "deprecated" not in verdict.stderr.lower(), (argv, verdict.stderr)


@pytest.mark.parametrize("major", MAJORS)
async def test_helm4_alone_gets_force_conflicts_because_helm3_rejects_it(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)
    await releases.apply("router", NS, VALUES, digest=DIGEST)

    upgrade = fake.argvs("upgrade")[0]
    assert ("--force-conflicts" in upgrade) == (major == 4)
    for name in ("--force-conflicts", "--rollback-on-failure"):
        verdict = real_helm_accepts(3, ["upgrade", "r", str(chart), name])
        assert "unknown flag" in verdict.stderr
    for atomic in ("--atomic", "--rollback-on-failure", "--wait"):
        assert atomic not in upgrade


WAIT_FLAGS = [
    (3, ["--wait", "--wait-for-jobs"], ["--wait"]),
    (4, ["--wait=watcher", "--wait-for-jobs"], ["--wait=watcher"]),
]


@pytest.mark.parametrize(("major", "upgrade_wait", "uninstall_wait"), WAIT_FLAGS)
async def test_wait_setting_emits_the_wait_flag_each_major_understands(
    tmp_path: Path, chart: Path, major: int, upgrade_wait: list[str], uninstall_wait: list[str]
) -> None:
    fake, releases = releases_for(tmp_path, chart, major, wait=True)
    fake.seed(NS, "router", [{"status": "deployed"}])
    fake.fail("upgrade", "Error: UPGRADE FAILED: boom", records_failed_revision=True)

    with pytest.raises(ReleaseError):
        await releases.apply("router", NS, VALUES, digest=DIGEST)
    await releases.uninstall("router", NS)

    (upgrade,), (rollback,), (uninstall,) = (
        fake.argvs("upgrade"),
        fake.argvs("rollback"),
        fake.argvs("uninstall"),
    )
    assert upgrade == upgrade_argv("router", chart, major) + upgrade_wait
    assert rollback == rollback_argv("router", 1, major) + upgrade_wait
    assert uninstall == uninstall_argv("router") + uninstall_wait
    for argv in (upgrade, rollback, uninstall):
        assert real_helm_accepts(major, argv).returncode == 0
    # Helm 4's --wait=watcher is refused by Helm 3 (a boolean flag there).
    assert real_helm_accepts(3, upgrade).returncode == (0 if major == 3 else 1)


async def test_kubeconfig_and_context_go_to_cluster_commands_and_no_token_flag_exists(
    tmp_path: Path, chart: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    fake, releases = releases_for(tmp_path, chart, kubeconfig=kubeconfig, kube_context="prod")

    await releases.apply("router", NS, VALUES, digest=DIGEST)
    await releases.status("router", NS)
    await releases.template("router", NS, VALUES)

    kube = ["--kubeconfig", str(kubeconfig), "--kube-context", "prod"]
    for call in fake.calls():
        if call.command in ("history", "upgrade", "status"):
            assert call.argv[-4:] == kube
        else:
            assert "--kubeconfig" not in call.argv
        assert not any(a.startswith(("--kube-token", "--kube-apiserver")) for a in call.argv)
    assert "kubetoken" not in ReleaseSettings.model_fields


async def test_extra_environment_reaches_helm_next_to_the_operator_environment(
    tmp_path: Path, chart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    fake, releases = releases_for(tmp_path, chart, env={"HELM_CACHE_HOME": "/var/cache/helm"})

    await releases.apply("router", NS, VALUES, digest=DIGEST)

    for call in fake.calls():
        assert call.env["HELM_CACHE_HOME"] == "/var/cache/helm"
        assert call.env["KUBERNETES_SERVICE_HOST"] == "10.0.0.1"


async def test_helm_version_is_asked_once_per_process(tmp_path: Path, chart: Path) -> None:
    fake, releases = releases_for(tmp_path, chart, 3)

    await releases.apply("a", NS, VALUES, digest=DIGEST)
    await releases.apply("b", NS, VALUES, digest=DIGEST)
    await releases.uninstall("a", NS)

    assert fake.argvs("version") == [["version", "--short"]]
    assert await releases.helm_major() == 3


async def test_unsupported_helm_major_is_retried_and_names_the_binary(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, 2)

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert (caught.value.reason, caught.value.transient) == ("UnsupportedHelm", True)
    assert str(fake.path) in str(caught.value)
    assert "Helm 3 and Helm 4" in str(caught.value)
    assert fake.argvs("upgrade") == []


async def test_history_is_capped_at_the_configured_revisions(tmp_path: Path, chart: Path) -> None:
    fake, releases = releases_for(tmp_path, chart, history_max=3)

    for n in range(5):
        await releases.apply("router", NS, {"n": n}, digest=f"sha256:{n}")

    assert all(argv[argv.index("--history-max") + 1] == "3" for argv in fake.argvs("upgrade"))
    assert [r.revision for r in await releases.history("router", NS)] == [3, 4, 5]


def test_an_unbounded_history_is_refused_with_the_field_named() -> None:
    with pytest.raises(pydantic.ValidationError, match="history_max"):
        ReleaseSettings(chart=Path("chart"), history_max=0)


async def test_a_release_name_helm_would_refuse_is_rejected_before_running_helm(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("r" * 60, NS, VALUES, digest=DIGEST)

    assert (caught.value.reason, caught.value.transient) == ("InvalidInput", False)
    assert "metadata.name" in str(caught.value) and "at most 53" in str(caught.value)
    assert fake.calls() == []


# ------------------------------------------------------------------ status / digest / history


@pytest.mark.parametrize("major", MAJORS)
async def test_status_reads_back_revision_chart_version_and_digest(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)
    await releases.apply("router", NS, VALUES, digest="sha256:first")
    await releases.apply("router", NS, VALUES, digest="sha256:second")

    info = await releases.status("router", NS)

    assert fake.argvs("status") == [["status", "router", "--output", "json", "--namespace", NS]]
    assert info is not None
    assert (info.revision, info.status, info.deployed) == (2, "deployed", True)
    assert (info.chart_version, info.digest) == ("1.2.3", "sha256:second")
    assert info.chart_name == "semantic-router"
    assert [r.digest for r in await releases.history("router", NS)] == [
        "sha256:first",
        "sha256:second",
    ]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("semantic-router-0.4.0", ("semantic-router", "0.4.0")),
        ("team-cache-1.2.3", ("team-cache", "1.2.3")),
        ("my-chart-2-1.0.0-rc.1", ("my-chart-2", "1.0.0-rc.1")),
        ("redis-v17.3.7+build.5", ("redis", "v17.3.7+build.5")),
        ("no-version", None),
    ],
)
def test_the_chart_column_of_helm_history_splits_into_name_and_version(
    column: str, expected: tuple[str, str] | None
) -> None:
    assert split_chart(column) == expected


async def test_status_of_a_release_of_another_chart_names_that_chart_as_history_does(
    tmp_path: Path, chart: Path
) -> None:
    # helm status --output json carries no chart: the name comes from helm history.
    fake, releases = releases_for(tmp_path, chart)
    fake.seed(
        NS, "cache", [{"status": "deployed", "chart": "team-cache", "chart_version": "7.0.1"}]
    )

    info = await releases.status("cache", NS)

    assert info is not None
    assert (info.chart_name, info.chart_version) == ("team-cache", "7.0.1")
    assert [argv[0] for argv in fake.argvs()][-2:] == ["status", "history"]


async def test_status_of_a_missing_release_is_none(tmp_path: Path, chart: Path) -> None:
    _, releases = releases_for(tmp_path, chart)

    assert await releases.status("absent", NS) is None
    assert await releases.history("absent", NS) == []


async def test_a_rolled_back_release_reports_no_digest_so_the_operator_reapplies(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)
    await releases.apply("router", NS, VALUES, digest="sha256:good")
    fake.fail("upgrade", "Error: UPGRADE FAILED: boom", records_failed_revision=True)
    with pytest.raises(ReleaseError):
        await releases.apply("router", NS, VALUES, digest="sha256:bad")

    info = await releases.status("router", NS)

    assert info is not None
    assert (info.revision, info.deployed, info.digest) == (3, True, None)
    assert info.description == "Rollback to 1"


# ----------------------------------------------------------------------------- uninstall


@pytest.mark.parametrize("major", MAJORS)
async def test_uninstall_runs_exact_command_and_a_missing_release_is_success(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)
    await releases.apply("router", NS, VALUES, digest=DIGEST)

    await releases.uninstall("router", NS)
    await releases.uninstall("router", NS)

    assert fake.argvs("uninstall") == [uninstall_argv("router")] * 2
    assert fake.revisions(NS, "router") == []


async def test_uninstall_treats_helm_release_not_found_error_as_success(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, 3)
    fake.fail("uninstall", "Error: uninstall: Release not loaded: router: release: not found\n")

    await releases.uninstall("router", NS)

    assert len(fake.argvs("uninstall")) == 1


# ------------------------------------------------------------------ rollback after failure


@pytest.mark.parametrize("major", MAJORS)
async def test_failed_upgrade_is_rolled_back_to_the_last_deployed_revision(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)
    fake.seed(NS, "router", [{"status": "superseded"}, {"status": "deployed"}])
    fake.fail(
        "upgrade",
        'Error: UPGRADE FAILED: cannot patch "router" with kind Deployment: Deployment.apps '
        '"router" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
        records_failed_revision=True,
    )

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, VALUES, digest=DIGEST)

    error = caught.value
    assert (error.reason, error.transient, error.rolled_back_to) == ("InvalidResource", False, 2)
    assert "spec.replicas" in str(error) and "rolled back to revision 2" in str(error)
    assert [c.argv for c in fake.calls()][1:] == [
        history_argv("router"),
        upgrade_argv("router", chart, major),
        history_argv("router"),
        rollback_argv("router", 2, major),
    ]
    assert [(r["revision"], r["status"]) for r in fake.revisions(NS, "router")] == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "superseded"),
        (4, "deployed"),
    ]


async def test_render_error_changes_nothing_so_nothing_is_rolled_back(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, 3)
    fake.seed(NS, "router", [{"status": "deployed"}])
    fake.fail(
        "upgrade",
        "Error: UPGRADE FAILED: values don't meet the specifications of the schema(s) in the "
        "following chart(s):\nsemantic-router:\n- replicas: Invalid type. Expected: integer, "
        "given: string\n",
    )

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, {"replicas": "two"}, digest=DIGEST)

    assert (caught.value.reason, caught.value.transient) == ("SchemaInvalid", False)
    assert "- replicas: Invalid type" in caught.value.detail
    assert caught.value.rolled_back_to is None
    assert fake.argvs("rollback") == []


async def test_a_failed_first_install_has_nothing_to_roll_back_to(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)
    fake.fail(
        "upgrade",
        'Error: INSTALLATION FAILED: admission webhook "validate.example.com" denied the '
        "request: image not allowed",
        records_failed_revision=True,
    )

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert (caught.value.reason, caught.value.rolled_back_to) == ("AdmissionDenied", None)
    assert "INSTALLATION FAILED" not in caught.value.detail
    assert fake.argvs("rollback") == []
    assert [r["status"] for r in fake.revisions(NS, "router")] == ["failed"]

    await releases.apply("router", NS, VALUES, digest=DIGEST)
    assert [r["status"] for r in fake.revisions(NS, "router")] == ["failed", "deployed"]


async def test_when_the_rollback_also_fails_the_upgrade_error_is_reported(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)
    fake.seed(NS, "router", [{"status": "deployed"}])
    fake.fail(
        "upgrade", "Error: UPGRADE FAILED: Deployment is invalid", records_failed_revision=True
    )
    fake.fail("rollback", "Error: Kubernetes cluster unreachable: connection refused")

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert (caught.value.operation, caught.value.reason) == ("upgrade", "InvalidResource")
    assert caught.value.rolled_back_to is None
    assert len(fake.argvs("rollback")) == 1


# ----------------------------------------------------------------------- pending recovery


@pytest.mark.parametrize("major", MAJORS)
async def test_stale_pending_upgrade_is_rolled_back_before_applying(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)
    fake.seed(
        NS,
        "router",
        [
            {"status": "deployed", "age_seconds": 7200},
            {"status": "pending-upgrade", "age_seconds": 3600},
        ],
    )

    info = await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert [c.argv for c in fake.calls()][1:] == [
        history_argv("router"),
        rollback_argv("router", 1, major),
        upgrade_argv("router", chart, major),
    ]
    assert (info.revision, info.status, info.digest) == (4, "deployed", DIGEST)


@pytest.mark.parametrize("major", MAJORS)
async def test_stale_pending_install_that_never_deployed_is_uninstalled_then_installed(
    tmp_path: Path, chart: Path, major: int
) -> None:
    fake, releases = releases_for(tmp_path, chart, major)
    fake.seed(NS, "router", [{"status": "pending-install", "age_seconds": 3600}])

    info = await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert [c.argv for c in fake.calls()][1:] == [
        history_argv("router"),
        uninstall_argv("router"),
        upgrade_argv("router", chart, major),
    ]
    assert (info.revision, info.status) == (1, "deployed")


async def test_stale_pending_rollback_is_completed_towards_the_last_good_revision(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, 3)
    fake.seed(
        NS,
        "router",
        [
            {"status": "superseded", "age_seconds": 9000},
            {"status": "deployed", "age_seconds": 8000},
            {"status": "failed", "age_seconds": 7000},
            {"status": "pending-rollback", "age_seconds": 3600},
        ],
    )

    await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert fake.argvs("rollback") == [rollback_argv("router", 2, 3)]


async def test_release_stuck_uninstalling_is_uninstalled_before_installing_again(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)
    fake.seed(
        NS, "router", [{"status": "deployed"}, {"status": "uninstalling", "age_seconds": 600}]
    )

    await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert [c.command for c in fake.calls()] == ["version", "history", "uninstall", "upgrade"]


async def test_a_recent_pending_revision_is_left_to_its_owner_and_reported_transient(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)
    fake.seed(
        NS, "router", [{"status": "deployed"}, {"status": "pending-upgrade", "age_seconds": 5}]
    )

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert (caught.value.reason, caught.value.transient) == ("OperationInProgress", True)
    assert [c.command for c in fake.calls()] == ["version", "history"]


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rev(number: int, status: str, age: float = 3600) -> Revision:
    return Revision(revision=number, status=status, updated=NOW - timedelta(seconds=age))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], ("none", None)),
        ([rev(1, "deployed")], ("none", None)),
        ([rev(1, "deployed"), rev(2, "failed")], ("none", None)),
        ([rev(1, "deployed"), rev(2, "pending-upgrade")], ("rollback", 1)),
        ([rev(1, "deployed"), rev(2, "pending-upgrade", age=10)], ("busy", None)),
        ([rev(1, "pending-install")], ("uninstall", None)),
        ([rev(1, "failed"), rev(2, "pending-upgrade")], ("uninstall", None)),
        ([rev(1, "superseded"), rev(2, "deployed"), rev(3, "pending-rollback")], ("rollback", 2)),
        ([rev(1, "deployed"), rev(2, "uninstalling")], ("uninstall", None)),
        (
            [rev(1, "deployed"), Revision(revision=2, status="pending-upgrade")],
            ("rollback", 1),
        ),
    ],
)
def test_recovery_plan_for_each_history(
    history: list[Revision], expected: tuple[str, int | None]
) -> None:
    plan = plan_recovery(history, now=NOW, stale_after=330)

    assert (plan.action, plan.revision) == expected


# ------------------------------------------------------------------- errors and secrets


# Messages as the real helm 3.17 / 4.1 binaries print them (collected from the binaries).
@pytest.mark.parametrize(
    ("stderr", "reason", "transient"),
    [
        (
            'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp '
            "127.0.0.1:1: connect: connection refused",
            "ClusterUnreachable",
            True,
        ),
        (
            'Error: kubernetes cluster unreachable: Get "https://10.0.0.1/version": dial tcp: '
            "i/o timeout",
            "Timeout",
            True,
        ),
        (
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
            "OperationInProgress",
            True,
        ),
        (
            'Error: UPGRADE FAILED: Operation cannot be fulfilled on deployments.apps "r": the '
            "object has been modified; please apply your changes to the latest version",
            "Conflict",
            True,
        ),
        (
            "Error: UPGRADE FAILED: the server is currently unable to handle the request",
            "ServerError",
            True,
        ),
        ("Error: UPGRADE FAILED: context canceled", "Cancelled", True),
        ("Error: UPGRADE FAILED: etcdserver: request timed out", "Timeout", True),
        ("Error: UPGRADE FAILED: something nobody has seen before", "HelmFailed", True),
        (
            "Error: values don't meet the specifications of the schema(s) in the following "
            "chart(s):\ndemo:\n- replicaCount: Invalid type. Expected: integer, given: string",
            "SchemaInvalid",
            False,
        ),
        (
            "Error: values don't meet the specifications of the schema(s) in the following "
            "chart(s):\ndemo:\n- at '/replicaCount': got string, want integer",
            "SchemaInvalid",
            False,
        ),
        (
            "Error: execution error at (demo/templates/fail.yaml:1:24): connection refused is "
            "not a valid backend",
            "RenderFailed",
            False,
        ),
        (
            "Error: failed to parse -: error converting YAML to JSON: yaml: line 1: did not "
            "find expected node content",
            "RenderFailed",
            False,
        ),
        (
            'Error: INSTALLATION FAILED: Service "r" is invalid: spec.ports[0].port: Invalid '
            "value: 0",
            "InvalidResource",
            False,
        ),
        (
            'Error: INSTALLATION FAILED: deployments.apps is forbidden: User "system:'
            'serviceaccount:op:op" cannot create resource "deployments"',
            "Forbidden",
            True,
        ),
        (
            "Error: INSTALLATION FAILED: rendered manifests contain a resource that already "
            'exists. Unable to continue with install: Service "r" in namespace "a" exists and '
            "cannot be imported into the current release",
            "ResourceExists",
            True,
        ),
        (
            "Error: non-absolute URLs should be in form of repo_name/path_to_chart, got: x",
            "ChartNotFound",
            True,
        ),
        (
            'Error: INSTALLATION FAILED: persistentvolumeclaims "r-models" is forbidden: '
            "exceeded quota: storage, requested: requests.storage=10Gi, used: "
            "requests.storage=0, limited: requests.storage=1Gi",
            "QuotaExceeded",
            True,
        ),
        (
            'Error: INSTALLATION FAILED: admission webhook "validate.kyverno.svc" denied the '
            "request: policy require-labels: the Deployment is invalid",
            "AdmissionDenied",
            True,
        ),
        (
            'Error: UPGRADE FAILED: Service "r" is invalid: spec.loadBalancerIP: Forbidden: '
            "may not be used when `type` is 'ClusterIP'",
            "InvalidResource",
            False,
        ),
    ],
)
def test_helm_failures_are_classified_transient_or_permanent(
    stderr: str, reason: str, transient: bool
) -> None:
    assert classify(stderr) == (reason, transient)


def test_scrub_removes_known_secret_values_and_credential_shapes() -> None:
    values = {"config": {"redis": {"password": "hunter2-pass"}, "model": "qwen3"}}
    text = (
        "password: hunter2-pass at https://admin:s3cret@db:5432 with Authorization: Bearer "
        "abc.def token=xyz123 eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.c2lnbmF0dXJl model qwen3"
    )

    cleaned = scrub(text, secret_strings(values))

    for secret in ("hunter2-pass", "s3cret", "abc.def", "xyz123", "eyJhbGci"):
        assert secret not in cleaned
    assert "model qwen3" in cleaned


async def test_secrets_never_reach_the_error_or_the_logs(
    tmp_path: Path, chart: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, releases = releases_for(tmp_path, chart)
    fake.seed(NS, "router", [{"status": "deployed"}])
    values = {"marker": "values-marker-1234", "store": {"password": "hunter2-pass"}}
    fake.fail(
        "upgrade",
        'Error: UPGRADE FAILED: Secret "x" is invalid: data: password=hunter2-pass; '
        "Authorization: Bearer sa-token-value",
        records_failed_revision=True,
    )

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, values, digest=DIGEST)
    await releases.apply("router", NS, values, digest=DIGEST)
    await releases.status("router", NS)

    shown = f"{caught.value} {caught.value.detail} {caplog.text}"
    for secret in ("hunter2-pass", "sa-token-value", "values-marker-1234"):
        assert secret not in shown
    assert 'Secret "x" is invalid' in str(caught.value)
    assert "<stdin>" in caplog.text


# ------------------------------------------------------------------- concurrency


async def test_commands_on_one_release_never_overlap_and_all_stay_within_the_bound(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, max_concurrent=2)
    fake.delay("history", 0.1)
    fake.delay("upgrade", 0.3)

    await asyncio.gather(
        *(releases.apply(f"r{i % 3}", NS, {"n": i}, digest=f"sha256:{i}") for i in range(9))
    )

    calls = [c for c in fake.calls() if c.command != "version"]
    assert all(c.end is not None for c in calls)
    by_release: dict[tuple[str, str], list[Call]] = defaultdict(list)
    for call in calls:
        by_release[call.release].append(call)
    assert sorted(by_release) == [(NS, "r0"), (NS, "r1"), (NS, "r2")]
    for own in by_release.values():
        assert max_overlap(own) == 1
        assert [c.command for c in own] == ["history", "upgrade"] * 3
    assert max_overlap(calls) == 2


async def test_a_helm_process_past_its_deadline_is_stopped_and_reported_transient(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, timeout_seconds=1, grace_seconds=0)
    fake.delay("upgrade", 60)

    with pytest.raises(ReleaseError) as caught:
        await releases.apply("router", NS, VALUES, digest=DIGEST)

    assert (caught.value.reason, caught.value.transient) == ("Timeout", True)
    assert "did not finish within 1s" in str(caught.value)
    (upgrade,) = [c for c in fake.calls() if c.command == "upgrade"]
    assert upgrade.end is None
    assert process_gone(upgrade.pid)


async def test_cancelling_an_apply_stops_the_running_helm_process(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart)
    fake.delay("upgrade", 60)
    task = asyncio.create_task(releases.apply("router", NS, VALUES, digest=DIGEST))
    for _ in range(400):
        if fake.argvs("upgrade"):
            break
        await asyncio.sleep(0.05)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    (upgrade,) = [c for c in fake.calls() if c.command == "upgrade"]
    assert process_gone(upgrade.pid)


# ------------------------------------------------------------------- template and chart


async def test_template_runs_exact_command_with_api_versions(tmp_path: Path, chart: Path) -> None:
    fake, releases = releases_for(tmp_path, chart)

    manifest = await releases.template("router", NS, VALUES, api_versions=["route.openshift.io/v1"])

    assert fake.argvs("template") == [
        [
            *["template", "router", str(chart), "--namespace", NS, "--values", "-"],
            *["--api-versions", "route.openshift.io/v1"],
        ]
    ]
    assert "name: router" in manifest


@pytest.fixture(scope="module")
def demo_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`helm create` output with a schema that requires an integer replicaCount."""
    root = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [helm_binary(4), "create", "demo"], cwd=root, check=True, capture_output=True, timeout=60
    )
    schema = {"type": "object", "properties": {"replicaCount": {"type": "integer"}}}
    (root / "demo" / "values.schema.json").write_text(json.dumps(schema))
    return root / "demo"


@pytest.mark.parametrize("major", MAJORS)
async def test_real_helm_template_renders_values_given_on_stdin(
    tmp_path: Path, demo_chart: Path, major: int
) -> None:
    releases = HelmReleases(
        ReleaseSettings(helm=helm_binary(major), chart=demo_chart, env=helm_homes(tmp_path))
    )

    manifest = await releases.template("router", NS, {"replicaCount": 3})

    objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == "router-demo"
    assert deployment["spec"]["replicas"] == 3
    assert releases.chart_version() == "0.1.0"


@pytest.mark.parametrize("major", MAJORS)
async def test_real_helm_schema_violation_is_permanent_and_names_the_value(
    tmp_path: Path, demo_chart: Path, major: int
) -> None:
    releases = HelmReleases(
        ReleaseSettings(helm=helm_binary(major), chart=demo_chart, env=helm_homes(tmp_path))
    )

    with pytest.raises(ReleaseError) as caught:
        await releases.template("router", NS, {"replicaCount": "two"})

    assert (caught.value.reason, caught.value.transient) == ("SchemaInvalid", False)
    assert "replicaCount" in caught.value.detail


@pytest.mark.parametrize("major", MAJORS)
async def test_real_helm_without_a_reachable_cluster_fails_transient(
    tmp_path: Path, demo_chart: Path, major: int
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    releases = HelmReleases(
        ReleaseSettings(
            helm=helm_binary(major),
            chart=demo_chart,
            kubeconfig=kubeconfig,
            env=helm_homes(tmp_path),
        )
    )

    for operation in (
        releases.apply("router", NS, {"replicaCount": 1}, digest=DIGEST),
        releases.status("router", NS),
        releases.uninstall("router", NS),
    ):
        with pytest.raises(ReleaseError) as caught:
            await operation
        assert (caught.value.reason, caught.value.transient) == ("ClusterUnreachable", True)
        assert "cluster unreachable" in caught.value.detail.lower()


def test_chart_version_is_read_from_a_chart_directory_or_package(
    tmp_path: Path, chart: Path
) -> None:
    package = tmp_path / "semantic-router-1.2.3.tgz"
    with tarfile.open(package, "w:gz") as archive:
        data = (chart / "Chart.yaml").read_bytes()
        member = tarfile.TarInfo("semantic-router/Chart.yaml")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))

    assert HelmReleases(ReleaseSettings(chart=chart)).chart_version() == "1.2.3"
    assert HelmReleases(ReleaseSettings(chart=package)).chart_version() == "1.2.3"


@pytest.mark.parametrize(
    ("output", "major"), [("v4.1.4+g05fa379\n", 4), ("v3.17.2+gcc0bbbd", 3), ("v2.17.0", 2)]
)
def test_helm_major_is_read_from_version_short(output: str, major: int) -> None:
    assert parse_major(output) == major


async def test_a_missing_helm_binary_is_retried_and_named(tmp_path: Path, chart: Path) -> None:
    missing = tmp_path / "no-such-helm"
    releases = HelmReleases(ReleaseSettings(helm=str(missing), chart=chart))

    with pytest.raises(ReleaseError) as caught:
        await releases.template("router", NS, VALUES)

    assert (caught.value.reason, caught.value.transient) == ("HelmMissing", True)
    assert str(missing) in caught.value.detail


@pytest.mark.parametrize("major", MAJORS)
async def test_the_project_chart_renders_through_the_adapter_and_chart_errors_name_the_value(
    tmp_path: Path, major: int
) -> None:
    releases = HelmReleases(
        ReleaseSettings(helm=helm_binary(major), chart=CHART, env=helm_homes(tmp_path))
    )
    simple = yaml.safe_load((CHART / "ci" / "simple-values.yaml").read_text())

    manifest = await releases.template("router", NS, {**simple, "platform": "kubernetes"})
    with pytest.raises(ReleaseError) as schema:
        await releases.template("router", NS, {**simple, "replicas": "two"})
    llamastack = {"name": "ls", "model": "m", "backend": {"type": "llamastack"}}
    with pytest.raises(ReleaseError) as render:
        await releases.template("router", NS, {"vllmEndpoints": [llamastack]})

    kinds = {doc["kind"] for doc in yaml.safe_load_all(manifest) if doc}
    assert {"Deployment", "ConfigMap", "Service"} <= kinds
    assert releases.chart_version() == yaml.safe_load((CHART / "Chart.yaml").read_text())["version"]
    assert (schema.value.reason, schema.value.transient) == ("SchemaInvalid", False)
    assert "replicas" in schema.value.detail
    assert (render.value.reason, render.value.transient) == ("RenderFailed", False)
    assert "vllmEndpoints[0].backend.type llamastack needs backend.resolved" in render.value.detail


# ------------------------------------------------------------------------------- ownership


def helm_status(chart: str, digest: str | None = None) -> ReleaseInfo:
    return ReleaseInfo("r", NS, 1, "deployed", "1.0.0", digest=digest, chart_name=chart)


HELM = {"owner": "helm", "name": "r", "status": "deployed", "version": "1"}


async def test_an_apply_for_a_router_labels_the_release_with_its_uid(
    tmp_path: Path, chart: Path
) -> None:
    fake, releases = releases_for(tmp_path, chart, 4)
    await releases.apply("router", NS, VALUES, digest=DIGEST, owner=UID)
    [upgrade] = [c for c in fake.calls() if c.command == "upgrade"]
    assert upgrade.argv[upgrade.argv.index("--labels") + 1] == f"{OWNER_LABEL}={UID}"


def test_no_release_of_that_name_is_free_to_install() -> None:
    claim = ownership([], UID, release=None, chart_name="semantic-router", adopt=False)
    assert (claim.how, claim.owned) == ("absent", True)


def test_a_release_labelled_with_the_routers_uid_is_its_own() -> None:
    labels = [{**HELM, OWNER_LABEL: UID}, {**HELM, "version": "2"}]
    claim = ownership(labels, UID, release=None, chart_name="semantic-router", adopt=False)
    assert (claim.how, claim.owned) == ("labelled", True)


@pytest.mark.parametrize("adopt", [False, True])
def test_another_charts_release_is_taken_even_with_the_adopt_annotation(adopt: bool) -> None:
    claim = ownership(
        [HELM], UID, release=helm_status("redis"), chart_name="semantic-router", adopt=adopt
    )
    assert (claim.how, claim.owned, claim.chart) == ("taken", False, "redis")
    assert claim.why == "it is a release of chart redis"


def test_this_chart_installed_by_hand_is_taken_unless_adopted() -> None:
    by_hand = helm_status("semantic-router")
    refused = ownership([HELM], UID, release=by_hand, chart_name="semantic-router", adopt=False)
    adopted = ownership([HELM], UID, release=by_hand, chart_name="semantic-router", adopt=True)
    assert (refused.how, refused.owned) == ("taken", False)
    assert "installed without the operator" in refused.why
    assert (adopted.how, adopted.owned) == ("adopted", True)


def test_a_release_the_operator_made_for_another_router_is_taken() -> None:
    labels = [{**HELM, OWNER_LABEL: "other-uid"}]
    claim = ownership(
        labels,
        UID,
        release=helm_status("semantic-router", DIGEST),
        chart_name="semantic-router",
        adopt=False,
    )
    assert (claim.how, claim.owned) == ("taken", False)
    assert "another SemanticRouter (uid other-uid)" in claim.why


def test_an_unlabelled_release_with_the_operators_digest_is_its_own() -> None:
    claim = ownership(
        [HELM],
        UID,
        release=helm_status("semantic-router", DIGEST),
        chart_name="semantic-router",
        adopt=False,
    )
    assert (claim.how, claim.owned) == ("recorded", True)
