"""A recording stand-in for the helm binary, for tests that need a cluster helm cannot reach.

``FakeHelm(tmp_path, major=4)`` writes an executable ``helm`` that records every call
(argv, stdin, environment, pid, start/end) and answers like helm does, keeping releases
and their revisions in a JSON file: ``upgrade --install``, ``rollback``, ``uninstall``,
``status``, ``history``, ``template`` and ``version``. Tests seed releases (a revision
stuck in ``pending-upgrade``, say), make commands fail with helm's real messages, or
slow them down to observe concurrency.

Release labels (``--labels k=v``) follow helm 3.17/4.1 (pkg/action): an install stores them
from its pending revision on, an upgrade merges them over the latest revision's, a
rollback keeps those of the revision it returns to; helm puts them on its release Secrets
beside its own (owner, name, status, version). A seeded release may be of another chart.
``status --output json`` prints the release without its chart and values, as helm 3.17 and
4.1 print it (name, namespace, version, info, manifest); ``history`` names the chart as
``<name>-<version>``.

Run as a script: ``python fakehelm.py STATE_DIR <helm arguments>``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

VALUE_FLAGS = {
    "--namespace",
    "-n",
    "--history-max",
    "--timeout",
    "--values",
    "-f",
    "--output",
    "-o",
    "--description",
    "--labels",
    "-l",
    "--max",
    "--kubeconfig",
    "--kube-context",
    "--api-versions",
    "--revision",
    "--template",
}
FULL_VERSION = {2: "v2.17.0", 3: "v3.17.2", 4: "v4.1.4"}


@dataclass(frozen=True)
class Call:
    """One recorded helm invocation (the binary itself is not part of `argv`)."""

    argv: list[str]
    stdin: str
    env: dict[str, str]
    pid: int
    start: int
    end: int | None
    returncode: int | None

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv else ""

    @property
    def release(self) -> tuple[str, str]:
        """(namespace, name) this call works on."""
        return namespace_of(self.argv), positionals(self.argv)[1]


def positionals(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    is_flag_value = False
    for arg in argv:
        if is_flag_value:
            is_flag_value = False
        elif arg in VALUE_FLAGS:
            is_flag_value = True
        elif not arg.startswith("-") or arg == "-":
            out.append(arg)
    return out


def flag(argv: Sequence[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in names and i + 1 < len(argv):
            return argv[i + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def namespace_of(argv: Sequence[str]) -> str:
    return flag(argv, "--namespace", "-n") or "default"


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class FakeHelm:
    """Test-side handle: where the fake lives, what it holds, what it was asked."""

    def __init__(self, root: Path, *, major: int = 4) -> None:
        self.root = root
        self.state_dir = root / "fakehelm"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.path = root / "helm"
        self.path.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(sys.executable)} {shlex.quote(__file__)} "
            f'{shlex.quote(str(self.state_dir))} "$@"\n'
        )
        self.path.chmod(0o755)
        self._write({"major": major, "releases": {}, "failures": [], "delays": {}})

    # -- state

    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self._state_file().read_text())
        return data

    def _write(self, state: Mapping[str, Any]) -> None:
        self._state_file().write_text(json.dumps(state))

    def seed(self, namespace: str, name: str, revisions: Sequence[Mapping[str, Any]]) -> None:
        """Store a release: per revision a status and optional description, age_seconds."""
        state = self._read()
        now = datetime.now(UTC)
        rows = []
        for number, rev in enumerate(revisions, start=1):
            updated = now - timedelta(seconds=float(rev.get("age_seconds", 0)))
            rows.append(
                {
                    "revision": int(rev.get("revision", number)),
                    "status": rev["status"],
                    "description": rev.get("description", "Upgrade complete"),
                    "updated": timestamp(updated),
                    "first": timestamp(updated),
                    "chart_version": rev.get("chart_version", "0.1.0"),
                    "chart": rev.get("chart", "semantic-router"),
                    "labels": dict(rev.get("labels", {})),
                    "values": rev.get("values", {}),
                }
            )
        state["releases"][f"{namespace}/{name}"] = rows
        self._write(state)

    def fail(
        self,
        command: str,
        stderr: str,
        *,
        times: int = 1,
        returncode: int = 1,
        records_failed_revision: bool = False,
    ) -> None:
        """Make the next `times` calls of `command` fail with `stderr` (helm's own words).

        `records_failed_revision` mimics an upgrade that rendered fine and failed while
        applying: helm stores a ``failed`` revision before exiting.
        """
        state = self._read()
        state["failures"].append(
            {
                "command": command,
                "stderr": stderr,
                "times": times,
                "returncode": returncode,
                "record": records_failed_revision,
            }
        )
        self._write(state)

    def delay(self, command: str, seconds: float) -> None:
        """Make every call of `command` take `seconds` longer."""
        state = self._read()
        state["delays"][command] = seconds
        self._write(state)

    def revisions(self, namespace: str, name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._read()["releases"].get(f"{namespace}/{name}", [])
        return rows

    def calls(self) -> list[Call]:
        """Every call so far, in start order; unfinished calls have ``end`` None."""
        started: dict[int, dict[str, Any]] = {}
        calls_file = self.state_dir / "calls.jsonl"
        if not calls_file.exists():
            return []
        for line in calls_file.read_text().splitlines():
            record = json.loads(line)
            started.setdefault(record["seq"], {}).update(record)
        return [
            Call(
                argv=r["argv"],
                stdin=r.get("stdin", ""),
                env=r.get("env", {}),
                pid=r["pid"],
                start=r["start"],
                end=r.get("end"),
                returncode=r.get("returncode"),
            )
            for r in sorted(started.values(), key=lambda r: r["start"])
        ]

    def argvs(self, command: str | None = None) -> list[list[str]]:
        return [c.argv for c in self.calls() if command is None or c.command == command]


# ------------------------------------------------------------------------- the fake binary


@contextmanager
def locked(state_dir: Path) -> Iterator[None]:
    with (state_dir / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def append_record(state_dir: Path, record: Mapping[str, Any]) -> None:
    with locked(state_dir), (state_dir / "calls.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\n")


def chart_metadata(chart: str) -> dict[str, Any]:
    import yaml  # only here: keeps every other fake call quick to start

    path = Path(chart) / "Chart.yaml"
    if path.is_file():
        data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        return data
    return {"name": "chart", "version": "0.1.0"}


def release_json(namespace: str, name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "version": row["revision"],
        "info": {
            "first_deployed": row["first"],
            "last_deployed": row["updated"],
            "status": row["status"],
            "description": row["description"],
        },
        "chart": {
            "metadata": {
                "name": row.get("chart", "semantic-router"),
                "version": row["chart_version"],
                "appVersion": row.get("app_version", "1.0.0"),
            }
        },
        "config": row.get("values", {}),
        "manifest": "---\n",
    }


class Exit(Exception):
    def __init__(self, code: int, stdout: str = "", stderr: str = "") -> None:
        super().__init__(stderr)
        self.code, self.stdout, self.stderr = code, stdout, stderr


def new_row(state: Mapping[str, Any], rows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    now = timestamp(datetime.now(UTC))
    row = {
        "revision": max((r["revision"] for r in rows), default=0) + 1,
        "updated": now,
        "first": rows[0]["first"] if rows else now,
        "chart_version": "0.1.0",
        "values": {},
        **fields,
    }
    rows.append(row)
    return row


def upgrade_labels(rows: Sequence[Mapping[str, Any]], argv: Sequence[str]) -> dict[str, str]:
    """The labels an upgrade stores: the latest revision's with ``--labels`` merged over."""
    labels = dict(rows[-1].get("labels") or {}) if rows else {}
    given = flag(argv, "--labels") or flag(argv, "-l") or ""
    for pair in filter(None, given.split(",")):
        key, _, value = pair.partition("=")
        if value == "null":
            labels.pop(key, None)
        else:
            labels[key] = value
    return labels


def prune(rows: list[dict[str, Any]], history_max: int) -> None:
    while history_max and len(rows) > history_max:
        oldest = next((r for r in rows if r["status"] != "deployed"), rows[0])
        rows.remove(oldest)


def handle(state: dict[str, Any], argv: list[str], stdin: str) -> str:
    """Answer one helm command against `state` (mutated in place); raise Exit on errors."""
    command = argv[0] if argv else ""
    major = int(state["major"])
    if command == "version":
        if "--short" in argv:
            return FULL_VERSION[major] + "+gfake\n"
        return FULL_VERSION[major]
    pos = positionals(argv)
    namespace = namespace_of(argv)
    if command == "template":
        name = pos[1]
        values = json.loads(stdin or "{}")
        return (
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            f"  name: {name}\n  namespace: {namespace}\n"
            f"data:\n  values: {json.dumps(json.dumps(values))}\n"
        )
    name = pos[1]
    key = f"{namespace}/{name}"
    rows: list[dict[str, Any]] = state["releases"].setdefault(key, [])
    failure = next((f for f in state["failures"] if f["command"] == command), None)
    if failure is not None:
        failure["times"] -= 1
        if failure["times"] <= 0:
            state["failures"].remove(failure)
        if failure["record"]:
            prev = rows[-1] if rows else None
            message = failure["stderr"].removeprefix("Error: ").removeprefix("UPGRADE FAILED: ")
            new_row(
                state,
                rows,
                status="failed",
                description=f'Upgrade "{name}" failed: {message}'.strip(),
                chart_version=prev["chart_version"] if prev else "0.1.0",
            )
        if not rows:
            del state["releases"][key]
        raise Exit(failure["returncode"], stderr=failure["stderr"])
    if command in ("status", "history", "rollback") and not rows:
        del state["releases"][key]
        raise Exit(1, stderr="Error: release: not found\n")
    if command == "status":
        # Like helm 3 and 4, `status --output json` leaves the chart out.
        status = release_json(namespace, name, rows[-1])
        del status["chart"], status["config"]
        return json.dumps(status)
    if command == "history":
        return json.dumps(
            [
                {
                    "revision": r["revision"],
                    "updated": r["updated"],
                    "status": r["status"],
                    "chart": f"{r.get('chart', 'semantic-router')}-{r['chart_version']}",
                    "app_version": "1.0.0",
                    "description": r["description"],
                }
                for r in rows
            ]
        )
    if command == "upgrade":
        if rows and rows[-1]["status"] in (
            "pending-install",
            "pending-upgrade",
            "pending-rollback",
        ):
            raise Exit(
                1,
                stderr="Error: UPGRADE FAILED: another operation (install/upgrade/rollback) "
                "is in progress\n",
            )
        installing = not rows
        labels = upgrade_labels(rows, argv)
        for r in rows:
            if r["status"] == "deployed":
                r["status"] = "superseded"
        default = "Install complete" if installing else "Upgrade complete"
        row = new_row(
            state,
            rows,
            status="deployed",
            description=flag(argv, "--description") or default,
            chart_version=str(chart_metadata(pos[2]).get("version", "0.1.0")),
            values=json.loads(stdin or "{}"),
            labels=labels,
        )
        prune(rows, int(flag(argv, "--history-max") or 10))
        return json.dumps(release_json(namespace, name, row)) if flag(argv, "--output") else ""
    if command == "rollback":
        target = int(pos[2]) if len(pos) > 2 else rows[-2]["revision"]
        source = next((r for r in rows if r["revision"] == target), None)
        if source is None:
            raise Exit(1, stderr=f"Error: release has no {target} version\n")
        # Like helm: the latest revision and every deployed one become superseded.
        rows[-1]["status"] = "superseded"
        for r in rows:
            if r["status"] == "deployed":
                r["status"] = "superseded"
        new_row(
            state,
            rows,
            status="deployed",
            description=f"Rollback to {target}",
            chart_version=source["chart_version"],
            chart=source.get("chart", "semantic-router"),
            labels=dict(source.get("labels") or {}),
            values=source["values"],
        )
        prune(rows, int(flag(argv, "--history-max") or 10))
        return "Rollback was a success! Happy Helming!\n"
    if command == "uninstall":
        if not rows:
            del state["releases"][key]
            if "--ignore-not-found" in argv:
                return ""
            raise Exit(
                1, stderr=f"Error: uninstall: Release not loaded: {name}: release: not found\n"
            )
        del state["releases"][key]
        return f'release "{name}" uninstalled\n'
    raise Exit(1, stderr=f'Error: unknown command "{command}" for "helm"\n')


def main(state_dir: Path, argv: list[str]) -> int:
    seq = time.monotonic_ns()
    reads_stdin = any(
        a in ("--values", "-f") and i + 1 < len(argv) and argv[i + 1] == "-"
        for i, a in enumerate(argv)
    )
    stdin = sys.stdin.read() if reads_stdin else ""
    base = {"seq": seq, "pid": os.getpid(), "argv": argv, "start": seq}
    append_record(state_dir, {**base, "stdin": stdin, "env": dict(os.environ)})
    state_file = state_dir / "state.json"
    with locked(state_dir):
        delay = float(json.loads(state_file.read_text())["delays"].get(argv[0] if argv else "", 0))
    if delay:
        time.sleep(delay)
    with locked(state_dir):
        state = json.loads(state_file.read_text())
        try:
            stdout, stderr, code = handle(state, argv, stdin), "", 0
        except Exit as exc:
            stdout, stderr, code = exc.stdout, exc.stderr, exc.code
        state_file.write_text(json.dumps(state))
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    sys.stdout.flush()
    append_record(state_dir, {**base, "end": time.monotonic_ns(), "returncode": code})
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
