# semantic-router-operator: a kopf operator and a Helm chart for vLLM Semantic Router.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(CURDIR)/bin
export PATH := $(BIN):$(CURDIR)/$(VENV)/bin:$(PATH)

CHART  := charts/semantic-router
SAMPLE ?= simple
OUT    ?= out

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $@

$(BIN)/helm4 $(BIN)/helm3: scripts/install-helm.sh
	./scripts/install-helm.sh

# checkov (security scan of the chart tier) lives in its own virtualenv: its pins conflict with ours.
.venv-checkov/.installed: scripts/install-checkov.sh
	./scripts/install-checkov.sh $(PYTHON)
	touch $@

.PHONY: dev
dev: $(VENV)/.installed $(BIN)/helm4 $(BIN)/helm3 .venv-checkov/.installed ## Create the virtualenvs, install all dependencies and the helm binaries in ./bin.

.PHONY: quickstart
quickstart: dev ## Set everything up and print the manifests of the default deployment (SAMPLE=simple).
	helm template $(SAMPLE) $(CHART) -f $(CHART)/ci/$(SAMPLE)-values.yaml

# manifests needs only an existing virtualenv; it never reinstalls one that is merely older than pyproject.toml.
.PHONY: manifests
manifests: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Regenerate the SemanticRouter CRD in crds/ from the pydantic models.
	$(PY) -m semantic_router_operator.crd > crds/vllm.ai_semanticrouters.yaml

.PHONY: chart-docs
chart-docs: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Regenerate the values table in the chart README from the values.yaml comments.
	$(PY) scripts/chart_readme.py

.PHONY: docs
docs: chart-docs ## Regenerate the generated docs: docs/crd-reference.md (from the models) and the chart README values table.
	$(PY) scripts/crd_reference.py

##@ Test

.PHONY: lint
lint: dev ## Run ruff and mypy.
	ruff check operator tests
	ruff format --check operator tests
	mypy

.PHONY: test
test: dev lint ## Run every test tier except e2e (unit, chart, integration, dataplane).
	./scripts/pytest.sh tests --ignore=tests/e2e
