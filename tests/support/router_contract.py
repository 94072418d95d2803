"""The router container as the router's own source defines it: the contract the chart must meet.

Read from vllm-project/semantic-router main at commit 3d48f8c9 (2026-08-22), the closest source
to the v0.4.0 image the chart ships (`appVersion`), and from the router's CLI, PyPI `vllm-sr`
0.4.0. Each entry names the file it was read from. When the chart moves to another router
version, re-read these files at that version and update `ROUTER_VERSION` with the facts: the
chart tier fails until the two agree.

`UPSTREAM_CHART` holds what the router authors' own Kubernetes path deploys: `vllm-sr serve
--target k8s` (`cli/k8s_backend.py`) turns a config into values that carry only the config
(`configOverride`), env and observability switches (`cli/config_translator.py`), so the router
container comes from the defaults of the upstream chart, `deploy/helm/semantic-router`.
"""

from __future__ import annotations

from dataclasses import dataclass

ROUTER_VERSION = "v0.4.0"
SOURCE = "vllm-project/semantic-router@3d48f8c9 (2026-08-22)"
CLI = "vllm-sr 0.4.0"


@dataclass(frozen=True)
class Flag:
    """A command-line flag of the router binary and its default."""

    name: str
    default: str
    meaning: str


# src/semantic-router/cmd/runtime_bootstrap.go, parseRuntimeOptions: Go's `flag` package, so an
# undefined flag makes the router exit 2 before it starts.
FLAGS: dict[str, Flag] = {
    f.name: f
    for f in (
        Flag("config", "config/config.yaml", "config file (the entrypoint passes $CONFIG_FILE)"),
        Flag("port", "50051", "ext_proc gRPC port"),
        Flag("api-port", "0", "management API port; 0 = config (8080)"),
        Flag("api-bind", "", "management API bind address; empty = config (127.0.0.1)"),
        Flag("management-auth-mode", "", "bearer or disabled"),
        Flag("management-remote-exposure", "false", "allow a non-loopback management API"),
        Flag("metrics-port", "9190", "Prometheus metrics port; 0 disables"),
        Flag("enable-api", "true", "start the management API"),
        Flag("secure", "false", "TLS on the ext_proc server"),
        Flag("cert-path", "", "folder with tls.crt and tls.key for --secure"),
        Flag("kubeconfig", "", "kubeconfig for the CRD watcher"),
        Flag("namespace", "default", "namespace of the CRD watcher"),
        Flag("download-only", "false", "download the models and exit"),
    )
}


@dataclass(frozen=True)
class Listener:
    """A port the router opens, on which address, and what it serves."""

    port: int
    bind: str
    serves: tuple[str, ...]
    opens: str


ANY = "0.0.0.0"
LOOPBACK = "127.0.0.1"

LISTENERS: dict[str, Listener] = {
    # pkg/extproc/server.go: net.Listen("tcp", ":<port>"), then grpc.NewServer and only
    # ext_proc.RegisterExternalProcessorServer: no grpc.health.v1, no reflection.
    "grpc": Listener(
        50051,
        ANY,
        ("envoy.service.ext_proc.v3.ExternalProcessor",),
        "last: after model download, loading and warm-up (cmd/main.go)",
    ),
    # cmd/runtime_bootstrap.go, startMetricsServerIfEnabled: http.ListenAndServe(":<port>").
    "metrics": Listener(9190, ANY, ("/metrics",), "after model download, before loading"),
    # pkg/config/management_api.go defaults: bind_address 127.0.0.1, port 8080, remote_exposure
    # false; a non-loopback bind needs bearer auth with tokens (or the internal-listener env).
    "api": Listener(
        8080,
        LOOPBACK,
        ("/health", "/startup-status", "/api/v1/classify/*", "/config/*"),
        "first: before model download (cmd/main.go, startAPIServerIfEnabled)",
    ),
}

# The gRPC services a client can call on the ext_proc port (grpc.health.v1.Health is not one).
GRPC_SERVICES = LISTENERS["grpc"].serves

# The listener whose TCP port opening means "ready to classify": the only probe target that is
# both reachable from the kubelet (not loopback) and answered only once the models are loaded.
READY_SIGNAL = "grpc"

# tools/docker/Dockerfile.extproc and tools/docker/entrypoint.sh.
WORKDIR = "/app"
ENTRYPOINT = "/app/entrypoint.sh"
CONFIG_FILE = "/app/config/config.yaml"  # entrypoint: ${CONFIG_FILE:-/app/config/config.yaml}
IMAGE_ASSETS = ("/app/config/knowledge_bases",)  # COPY config/knowledge_bases/ /app/config/...
# Knowledge bases resolve against the config file's folder, then VLLM_SR_CONFIG_ASSET_ROOT,
# then /app/config (pkg/config/kb_config.go): a volume mounted over /app/config hides them.

# The tools DB path in the config is relative to the working directory (pkg/tools/tools.go):
# the chart's config sets `config/tools_db.json`.
TOOLS_DB = "/app/config/tools_db.json"

# pkg/modeldownload: models are fetched with the `hf` CLI (`hf download <repo> --local-dir
# models/<name>`, relative to WORKDIR) at start; HF_TOKEN for gated models, HF_ENDPOINT for a
# mirror, HF_HOME for the CLI's cache. The CLI (Python) also writes under HOME and the temp
# folder; the startup status file falls back to $TMPDIR/vllm-sr/ when the config folder is
# read-only (pkg/startupstatus/status.go).
MODELS_DIR = "/app/models"
DOWNLOAD_ENV = ("HF_TOKEN", "HF_ENDPOINT", "HF_HOME")
WRITABLE_ENV = ("HOME", "HF_HOME")
TEMP_DIR = "/tmp"

# The upstream chart allows a first start (model download) this long: 360 x 10 s.
FIRST_START_BUDGET_SECONDS = 3600


@dataclass(frozen=True)
class UpstreamChart:
    """What `vllm-sr serve --target k8s` deploys for the router container (upstream chart
    `deploy/helm/semantic-router`, templates/deployment.yaml and values.yaml at SOURCE)."""

    probe_action: str
    probe_port: int
    startup: dict[str, int]
    liveness: dict[str, int]
    readiness: dict[str, int]
    mounts: dict[str, str]
    args: tuple[str, ...]
    token_env: tuple[str, ...]


UPSTREAM_CHART = UpstreamChart(
    probe_action="tcpSocket",
    probe_port=50051,
    startup={"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 360},
    liveness={
        "initialDelaySeconds": 30,
        "periodSeconds": 30,
        "timeoutSeconds": 10,
        "failureThreshold": 5,
    },
    readiness={
        "initialDelaySeconds": 30,
        "periodSeconds": 30,
        "timeoutSeconds": 10,
        "failureThreshold": 5,
    },
    mounts={
        "/app/config/config.yaml": "config.yaml",
        "/app/config/tools_db.json": "tools_db.json",
        "/app/models": "",
    },
    args=("--secure=false",),
    token_env=("HF_TOKEN", "HUGGINGFACE_HUB_TOKEN"),
)

# The values keys `translate_config_to_helm_values` (vllm-sr 0.4.0) may emit: none of them sets a
# probe, a mount or a port, which is why the upstream chart's defaults are the reference.
VLLM_SR_K8S_VALUE_KEYS = frozenset(
    {
        "configOverride",
        "dependencies",
        "env",
        "envFromSecrets",
        "image",
        "global",
        "dashboard",
        "podAnnotations",
    }
)
