"""The rendered router container, field by field, against the router's contract
(`tests/support/router_contract.py`) and against what the router authors' own Kubernetes path
(`vllm-sr serve --target k8s`, i.e. the upstream chart's defaults) deploys.

A difference from the upstream chart fails until it is listed in `ARGUED_DIFFERENCES` with
its reason; a listed difference that no longer exists fails too, so the list stays true.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import SCENARIOS, rendered
from tests.support import router_contract as contract
from tests.support.helm import CHART, render

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def deployment(objs: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [o for o in objs if o["kind"] == "Deployment"]
    return found


def router(objs: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment(objs)["spec"]["template"]["spec"]["containers"]
    (found,) = [c for c in containers if c["name"] == "router"]
    return found


def router_config_map(objs: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [o for o in objs if o["kind"] == "ConfigMap" and "config.yaml" in o.get("data", {})]
    return found


def volumes(objs: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> dict[str, Any]:
    return {v["name"]: v for v in deployment(objs)["spec"]["template"]["spec"]["volumes"]}


def port_number(container: Mapping[str, Any], port: int | str) -> int:
    """A probe's port (a number or a container port name) as a number."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def under(path: str, folder: str) -> bool:
    path, folder = posixpath.normpath(path), posixpath.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def flag_names(args: list[str]) -> Iterator[str]:
    for arg in args:
        if arg.startswith("-"):
            yield arg.lstrip("-").split("=", 1)[0]


# --- the contract --------------------------------------------------------------------------------


def test_the_contract_is_read_from_the_router_version_the_chart_ships() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == contract.ROUTER_VERSION, (
        f"the chart ships {chart['appVersion']} but tests/support/router_contract.py describes "
        f"{contract.ROUTER_VERSION}: re-read the router source at the shipped version"
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_container_ports_are_the_ports_the_router_opens_on_the_pod_network(
    scenario: str,
) -> None:
    """The management API listens on loopback unless the config binds it further
    (managementApi.expose): only then is it a container port."""
    objs = rendered(scenario)
    ports = {p["name"]: p["containerPort"] for p in router(objs)["ports"]}
    config = yaml.safe_load(router_config_map(objs)["data"]["config.yaml"])
    api = config["global"]["services"]["management_api"]
    binds = {name: listener.bind for name, listener in contract.LISTENERS.items()}
    binds["api"] = api["bind_address"]
    expected = {
        name: listener.port
        for name, listener in contract.LISTENERS.items()
        if binds[name] != contract.LOOPBACK
    }
    assert ports == expected
    assert api["port"] == contract.LISTENERS["api"].port
    assert api["remote_exposure"] is (binds["api"] != contract.LOOPBACK)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_probe_is_a_tcp_connect_to_the_port_that_opens_when_the_router_is_ready(
    scenario: str,
) -> None:
    container = router(rendered(scenario))
    ready = contract.LISTENERS[contract.READY_SIGNAL]
    for kind in PROBES:
        probe = container[kind]
        # No grpc action: the router registers no grpc.health.v1 service
        # (GRPC_SERVICES), so a gRPC probe would get UNIMPLEMENTED forever.
        assert "grpc.health.v1.Health" not in contract.GRPC_SERVICES
        actions = {"tcpSocket", "httpGet", "grpc", "exec"} & set(probe)
        assert actions == {"tcpSocket"}, f"{kind}: {sorted(actions)}"
        assert port_number(container, probe["tcpSocket"]["port"]) == ready.port, kind
        # The kubelet probes the pod IP: a loopback-only listener would never answer it.
        assert ready.bind != contract.LOOPBACK


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_startup_budget_covers_a_first_model_download(scenario: str) -> None:
    startup = router(rendered(scenario))["startupProbe"]
    budget = startup["initialDelaySeconds"] + startup["periodSeconds"] * startup["failureThreshold"]
    assert budget >= contract.FIRST_START_BUDGET_SECONDS


def test_the_startup_budget_is_configurable() -> None:
    objs = render(
        [CHART / "ci" / "simple-values.yaml"],
        values={"startupProbe": {"failureThreshold": 720}},
    )
    assert router(objs)["startupProbe"]["failureThreshold"] == 720


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_argument_is_a_flag_the_router_defines(scenario: str) -> None:
    container = router(rendered(scenario))
    assert "command" not in container, "the image's entrypoint passes --config $CONFIG_FILE"
    unknown = set(flag_names(container.get("args", []))) - set(contract.FLAGS)
    assert not unknown, f"the router exits 2 on undefined flags: {sorted(unknown)}"


def test_arguments_given_in_values_reach_the_router_as_flags_it_defines() -> None:
    objs = render([CHART / "ci" / "simple-values.yaml"], values={"args": ["--metrics-port=9190"]})
    assert list(flag_names(router(objs)["args"])) == ["metrics-port"]


def test_a_container_port_of_another_number_is_where_the_router_listens() -> None:
    """The router opens its flags' ports (`--port`, `--metrics-port`), not the containerPort:
    a targetPort other than the flag's default reaches the router as that flag."""
    ports = {"grpc": {"targetPort": 50052}, "metrics": {"targetPort": 9191}}
    values = {"service": ports, "args": ["--secure=false"]}
    container = router(render([CHART / "ci" / "simple-values.yaml"], values=values))
    assert container["args"] == ["--port=50052", "--metrics-port=9191", "--secure=false"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "grpc": 50052,
        "metrics": 9191,
    }
    defaults = {f.name: f.default for f in contract.FLAGS.values()}
    assert (defaults["port"], defaults["metrics-port"]) == ("50051", "9190")
    assert "args" not in router(render([CHART / "ci" / "simple-values.yaml"]))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_config_and_tools_db_are_where_the_router_reads_them_and_image_assets_stay_visible(
    scenario: str,
) -> None:
    objs = rendered(scenario)
    mounts = router(objs)["volumeMounts"]
    by_path = {m["mountPath"]: m for m in mounts}
    config_map = router_config_map(objs)["metadata"]["name"]
    for path, key in ((contract.CONFIG_FILE, "config.yaml"), (contract.TOOLS_DB, "tools_db.json")):
        mount = by_path[path]
        assert mount["subPath"] == key and mount["readOnly"] is True
        assert volumes(objs)[mount["name"]]["configMap"]["name"] == config_map
    for asset in contract.IMAGE_ASSETS:
        hiding = [m["mountPath"] for m in mounts if under(asset, m["mountPath"])]
        assert not hiding, f"{hiding} hides the image's {asset}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_path_the_router_writes_is_a_writable_volume_under_a_read_only_root(
    scenario: str,
) -> None:
    container = router(rendered(scenario))
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    writable = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    wanted = {"models": contract.MODELS_DIR, "temp": contract.TEMP_DIR}
    for name in contract.WRITABLE_ENV:
        assert env.get(name), f"{name} must be set: its default lies on the read-only root"
        wanted[name] = str(env[name])
    for what, path in wanted.items():
        assert any(under(path, folder) for folder in writable), f"{what} {path} is not writable"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_download_credential_is_a_literal(scenario: str) -> None:
    for entry in router(rendered(scenario)).get("env", []):
        if entry["name"] in contract.UPSTREAM_CHART.token_env:
            assert "value" not in entry, f"{entry['name']} must come from a Secret"


def test_a_hugging_face_token_from_a_secret_reaches_the_router() -> None:
    token = {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}
    objs = render([CHART / "ci" / "simple-values.yaml"], values={"env": [token]})
    assert token in router(objs)["env"]
    assert "HF_TOKEN" in contract.DOWNLOAD_ENV


# --- the router authors' Kubernetes path ---------------------------------------------------------

# Where the chart deliberately differs from what `vllm-sr serve --target k8s` deploys, and why.
ARGUED_DIFFERENCES: dict[str, str] = {
    "livenessProbe.initialDelaySeconds": "0 here: the startup probe already holds liveness back "
    "until the port is open, so a fixed delay only postpones the first check.",
    "livenessProbe.timeoutSeconds": "5 here: a TCP connect on the pod network answers in "
    "milliseconds; 10 s adds nothing but a slower restart of a hung router.",
    "livenessProbe.failureThreshold": "3 x 30 s here: a router whose port stays closed for 90 s "
    "is restarted; upstream waits 150 s.",
    "readinessProbe.initialDelaySeconds": "0 here: readiness starts after the startup probe.",
    "readinessProbe.periodSeconds": "10 here: a router that stops listening leaves the Service "
    "within 30 s, not 150 s.",
    "readinessProbe.timeoutSeconds": "5 here, as for liveness.",
    "readinessProbe.failureThreshold": "3 here: see periodSeconds.",
    "startupProbe.initialDelaySeconds": "set here (0): upstream omits it, which means 0.",
    "args": "upstream passes --secure=false, the flag's default; the chart passes none and "
    "keeps the image's own defaults.",
    "token_env": "upstream binds HF_TOKEN and HUGGINGFACE_HUB_TOKEN from an optional Secret named "
    "hf-token-secret; the chart invents no Secret name: `env` binds HF_TOKEN from the user's "
    "Secret (documented in the chart README and troubleshooting).",
    "mounts./tmp": "the chart's root filesystem is read-only (upstream's is not): the temp "
    "folder, HOME and HF_HOME are emptyDirs.",
    "mounts./app/.cache": "HF_HOME and XDG_CACHE_HOME on an emptyDir, as for /tmp.",
}


def upstream_differences(container: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Every field where the rendered router container differs from the upstream chart's."""
    up = contract.UPSTREAM_CHART
    found: dict[str, tuple[Any, Any]] = {}
    for kind, reference in (
        ("startupProbe", up.startup),
        ("livenessProbe", up.liveness),
        ("readinessProbe", up.readiness),
    ):
        probe = container[kind]
        action = next(a for a in ("tcpSocket", "httpGet", "grpc", "exec") if a in probe)
        if action != up.probe_action:
            found[f"{kind}.action"] = (action, up.probe_action)
        elif port_number(container, probe[action]["port"]) != up.probe_port:
            found[f"{kind}.port"] = (probe[action]["port"], up.probe_port)
        for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold"):
            ours, theirs = probe.get(key), reference.get(key)
            if ours != theirs:
                found[f"{kind}.{key}"] = (ours, theirs)
    mounts = {m["mountPath"]: m.get("subPath", "") for m in container["volumeMounts"]}
    for path in sorted(set(mounts) | set(up.mounts)):
        if mounts.get(path) != up.mounts.get(path):
            found[f"mounts.{path}"] = (mounts.get(path), up.mounts.get(path))
    if tuple(container.get("args", ())) != up.args:
        found["args"] = (container.get("args", []), list(up.args))
    token_env = tuple(e["name"] for e in container.get("env", []) if e["name"] in up.token_env)
    if token_env != up.token_env:
        found["token_env"] = (token_env, up.token_env)
    return found


def test_the_router_container_differs_from_the_upstream_chart_only_where_argued() -> None:
    differences = upstream_differences(router(rendered("simple")))
    unargued = {k: v for k, v in differences.items() if k not in ARGUED_DIFFERENCES}
    assert not unargued, f"argue these in ARGUED_DIFFERENCES or remove them: {unargued}"
    stale = set(ARGUED_DIFFERENCES) - set(differences)
    assert not stale, f"no longer different, drop from ARGUED_DIFFERENCES: {sorted(stale)}"


def test_the_startup_budget_equals_the_upstream_charts() -> None:
    startup = router(rendered("simple"))["startupProbe"]
    up = contract.UPSTREAM_CHART.startup
    assert startup["periodSeconds"] * startup["failureThreshold"] == (
        up["periodSeconds"] * up["failureThreshold"]
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_vllm_sr_k8s_takes_the_rendered_config_as_is_and_sets_no_container_field(
    scenario: str, tmp_path: Path
) -> None:
    """`vllm-sr serve --target k8s` would deploy this very config with the upstream chart's
    container: its values carry the config and no probe, mount or port."""
    from cli.config_translator import translate_config_to_helm_values

    text = router_config_map(rendered(scenario))["data"]["config.yaml"]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    values = translate_config_to_helm_values(str(path), enable_observability=False)
    assert set(values) <= contract.VLLM_SR_K8S_VALUE_KEYS, sorted(values)
    assert values["configOverride"] == yaml.safe_load(text)
