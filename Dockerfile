# syntax=docker/dockerfile:1
#
# The semantic-router-operator image: the operator's virtualenv, the helm binary it runs,
# the semantic-router chart it installs and the SemanticRouter CRD.
#
#   make docker-build IMG=<registry>/semantic-router-operator:<tag>     (or podman-build)
#
# Base image: the official Python image, pinned by version and by the digest of its
# multi-architecture index (Docker Hub, library/python, tag 3.11.14-slim-bookworm).
# To move to a newer patch release, take the index digest the registry publishes for the
# new tag (`docker buildx imagetools inspect python:<tag>`) and update both parts together.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# ---------------------------------------------------------------------------------------------
# helm: the official release archive from get.helm.sh, checked against the sha256 published
# with the Helm v3.17.2 release (helm-v3.17.2-linux-<arch>.tar.gz.sha256sum).
FROM ${PYTHON_IMAGE} AS helm
ARG TARGETARCH=amd64
ARG HELM_VERSION=3.17.2
ARG HELM_SHA256_AMD64=90c28792a1eb5fb0b50028e39ebf826531ebfcf73f599050dbd79bab2f277241
ARG HELM_SHA256_ARM64=d78d76ec7625a94991e887ac049d93f44bd70e4876200b945f813c9e1ed1df7c
WORKDIR /tmp/helm
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
RUN case "${TARGETARCH}" in \
      amd64) sum="${HELM_SHA256_AMD64}" ;; \
      arm64) sum="${HELM_SHA256_ARM64}" ;; \
      *) echo "no pinned helm checksum for architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    archive="helm-v${HELM_VERSION}-linux-${TARGETARCH}.tar.gz"; \
    python -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
      "https://get.helm.sh/${archive}" "${archive}"; \
    echo "${sum}  ${archive}" | sha256sum -c -; \
    tar -xzf "${archive}" "linux-${TARGETARCH}/helm"; \
    install -m 0755 "linux-${TARGETARCH}/helm" /usr/local/bin/helm; \
    /usr/local/bin/helm version --short

# ---------------------------------------------------------------------------------------------
# builder: the operator and its runtime dependencies in a virtualenv (no test or lint extras,
# no pip inside the virtualenv: the base image's pip installs into it from outside).
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install /src \
    && /opt/venv/bin/semantic-router-operator --help > /dev/null

# ---------------------------------------------------------------------------------------------
# runtime
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="semantic-router-operator" \
      org.opencontainers.image.description="Kubernetes operator for vLLM Semantic Router (SemanticRouter, vllm.ai/v1alpha1)" \
      org.opencontainers.image.source="https://github.com/vllm-project/semantic-router" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

# No package tools in the final image: the operator's virtualenv has no pip either.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel 2>/dev/null; \
    rm -rf /root/.cache

COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm
COPY --from=builder /opt/venv /opt/venv
COPY charts/semantic-router/ /opt/semantic-router-operator/charts/semantic-router/
COPY crds/vllm.ai_semanticrouters.yaml /opt/semantic-router-operator/crds/vllm.ai_semanticrouters.yaml

# The root filesystem is read-only in the cluster: HOME and helm's cache, config and data
# live under /tmp (an emptyDir). An arbitrary UID (OpenShift) works too: nothing else is
# written.
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data \
    SR_OPERATOR_HELM_BINARY=/usr/local/bin/helm \
    SR_OPERATOR_CHART_PATH=/opt/semantic-router-operator/charts/semantic-router

# 8080: Prometheus metrics; 8081: liveness (/healthz).
EXPOSE 8080 8081
USER 65532:65532
ENTRYPOINT ["semantic-router-operator", "run"]
