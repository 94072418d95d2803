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

.PHONY: control-plane
control-plane: ## Build the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) from tools/, or reuse the cached build.
	@./scripts/build-control-plane.sh >/dev/null

.PHONY: dev
dev: $(VENV)/.installed $(BIN)/helm4 $(BIN)/helm3 .venv-checkov/.installed control-plane ## Create the virtualenvs, install all dependencies, the helm binaries in ./bin and the local control plane.

.PHONY: quickstart
# quickstart needs no control plane: rendering runs helm template offline (make test builds the control plane).
quickstart: $(VENV)/.installed $(BIN)/helm4 $(BIN)/helm3 ## Install the Python environment and helm, then print the manifests the operator deploys for a sample CR (SAMPLE=simple).
	semantic-router-operator render samples/vllm.ai_v1alpha1_semanticrouter_$(SAMPLE).yaml

# manifests needs only an existing virtualenv; it never reinstalls one that is merely older than pyproject.toml.
.PHONY: manifests
manifests: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Regenerate the SemanticRouter CRD in crds/ from the pydantic models.
	$(PY) -m semantic_router_operator.crd > crds/vllm.ai_semanticrouters.yaml

.PHONY: chart-docs
chart-docs: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Regenerate the values tables in the READMEs of both charts from their values.yaml comments.
	$(PY) scripts/chart_readme.py
	$(PY) scripts/chart_readme.py --chart charts/semantic-router-operator

.PHONY: docs
docs: chart-docs ## Regenerate the generated docs: docs/crd-reference.md (from the models) and the chart README values table.
	$(PY) scripts/crd_reference.py

.PHONY: generate
ROUTER_SRC ?= ../semantic-router/.git
ROUTER_COMMIT ?= 3d48f8c9cc0d5b15067ce324a03ec6cc25f192c3
.PHONY: router-keys
router-keys: ## Re-read the router config key inventory from the router's Go source (ROUTER_SRC git dir, ROUTER_COMMIT; needs go).
	scripts/router-config-keys.sh $(ROUTER_SRC) $(ROUTER_COMMIT) tests/chart/data/router-config-keys.json

generate: manifests docs bundle ## Run every generator: the CRD, the generated docs, the OLM bundle and the copies in config/.

##@ Build

# The operator image; the version comes from pyproject.toml.
VERSION     ?= $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml | head -n 1)
IMAGE_BASE  ?= ghcr.io/vllm-project/semantic-router-operator
IMG         ?= $(IMAGE_BASE):$(VERSION)
BUNDLE_IMG  ?= $(IMAGE_BASE)-bundle:v$(VERSION)
CATALOG_IMG ?= $(IMAGE_BASE)-catalog:v$(VERSION)
CHANNELS        ?= alpha
DEFAULT_CHANNEL ?= alpha
CONTAINER_TOOL  ?= docker
KUBECTL            ?= kubectl
OPERATOR_NAMESPACE ?= semantic-router-operator-system

# $(call need,tool,how to get it): stop with a message naming the missing tool.
need = command -v $(1) >/dev/null 2>&1 || { echo "make $@: needs $(1), which is not installed: $(2)" >&2; exit 1; }
need-engine = docker info >/dev/null 2>&1 || { echo "make $@: needs a running Docker engine (docker info failed): start Docker, or use the podman targets" >&2; exit 1; }
need-cluster = $(KUBECTL) get --raw /version --request-timeout=5s >/dev/null 2>&1 || { echo "make $@: needs a Kubernetes cluster, and kubectl reaches none (context: $$($(KUBECTL) config current-context 2>/dev/null || echo none)); point KUBECONFIG at one, or create one with kind (https://kind.sigs.k8s.io): kind create cluster" >&2; exit 1; }

.PHONY: build
build: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Build the operator's wheel and sdist into out/dist.
	$(PY) -m build --version >/dev/null 2>&1 || $(PY) -m pip install --quiet 'build>=1.2'
	$(PY) -m build --outdir $(OUT)/dist .

# The charts, linted and packaged as versioned archives (<name>-<version>.tgz) into DIST;
# publish one with `helm push $(DIST)/<name>-<version>.tgz oci://<registry>/<path>` (docs/install.md).
DIST   ?= dist
CHARTS ?= charts/semantic-router charts/semantic-router-operator

.PHONY: chart-package
chart-package: | $(BIN)/helm4 ## Lint the charts (helm lint --strict) and package them into DIST=dist as <chart>-<version>.tgz (CHARTS=...).
	@for chart in $(CHARTS); do $(BIN)/helm4 lint --strict "$$chart" || exit 1; done
	mkdir -p $(DIST)
	@for chart in $(CHARTS); do $(BIN)/helm4 package "$$chart" --destination $(DIST) || exit 1; done

.PHONY: docker-build
docker-build: ## Build the operator image with Docker (IMG=<registry>/semantic-router-operator:<tag>).
	@$(call need,docker,install Docker Engine (https://docs.docker.com/engine/install/) or use make podman-build)
	@$(need-engine)
	docker build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image with Docker (IMG=...).
	@$(call need,docker,install Docker Engine (https://docs.docker.com/engine/install/) or use make podman-push)
	@$(need-engine)
	docker push $(IMG)

.PHONY: podman-build
podman-build: ## Build the operator image with Podman (IMG=<registry>/semantic-router-operator:<tag>).
	@$(call need,podman,install Podman (https://podman.io/docs/installation; on Debian or Ubuntu: apt-get install podman))
	podman build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: podman-push
podman-push: ## Push the operator image with Podman (IMG=...).
	@$(call need,podman,install Podman (https://podman.io/docs/installation; on Debian or Ubuntu: apt-get install podman))
	podman push $(IMG)

# Release parameters of the bundle: config/manifests/release.yaml, or these for one build.
# RELEASE=1 requires every image by digest (docs/install.md, "Releasing the bundle").
CREATED_AT   ?=
ROUTER_IMAGE ?=
ENVOY_IMAGE  ?=
RELEASE      ?=
BUNDLE_ARGS = --image $(IMG) --version $(VERSION) --channels $(CHANNELS) --default-channel $(DEFAULT_CHANNEL) \
  $(if $(CREATED_AT),--created-at $(CREATED_AT)) $(if $(ROUTER_IMAGE),--router-image $(ROUTER_IMAGE)) \
  $(if $(ENVOY_IMAGE),--envoy-image $(ENVOY_IMAGE)) $(if $(filter 1 true yes,$(RELEASE)),--release)

.PHONY: bundle
bundle: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Regenerate the OLM bundle in bundle/ (IMG, VERSION, CHANNELS, CREATED_AT, ROUTER_IMAGE, ENVOY_IMAGE, RELEASE=1) and the copies in config/.
	$(PY) scripts/deploy_manifests.py sync
	$(PY) scripts/bundle.py $(BUNDLE_ARGS)

# opm and the bundle validator, built from the Go module proxy (tools/olm) and cached outside
# the checkout: ${XDG_CACHE_HOME:-~/.cache}/semantic-router-operator/bin.
OPM = $(shell ./scripts/install-olm-tools.sh opm)
BUNDLE_VALIDATE = $(shell ./scripts/install-olm-tools.sh bundle-validate)

.PHONY: olm-tools
olm-tools: ## Build (once; cached) opm and bundle-validate, the OLM tools the bundle tests run; needs Go.
	./scripts/install-olm-tools.sh

.PHONY: bundle-validate
bundle-validate: ## Validate bundle/ with operator-framework's validators (those of operator-sdk bundle validate --select-optional suite=operatorframework).
	$(BUNDLE_VALIDATE) bundle

.PHONY: catalog
catalog: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Render the file-based catalog of BUNDLE_IMG into out/catalog with opm, and opm validate it.
	rm -rf $(OUT)/catalog $(OUT)/catalog.Dockerfile
	$(PY) scripts/catalog.py --opm $(OPM) --bundle-image $(BUNDLE_IMG) --output $(OUT)/catalog --dockerfile

.PHONY: bundle-build
bundle-build: ## Build the OLM bundle image (BUNDLE_IMG) from bundle/ with CONTAINER_TOOL (docker or podman).
	@$(call need,$(CONTAINER_TOOL),install Docker or Podman and set CONTAINER_TOOL)
	$(CONTAINER_TOOL) build -f bundle/bundle.Dockerfile -t $(BUNDLE_IMG) bundle

.PHONY: bundle-push
bundle-push: ## Push the OLM bundle image (BUNDLE_IMG).
	@$(call need,$(CONTAINER_TOOL),install Docker or Podman and set CONTAINER_TOOL)
	$(CONTAINER_TOOL) push $(BUNDLE_IMG)

.PHONY: catalog-build
catalog-build: catalog ## Build the file-based catalog image (CATALOG_IMG) serving BUNDLE_IMG, with CONTAINER_TOOL.
	@$(call need,$(CONTAINER_TOOL),install Docker or Podman and set CONTAINER_TOOL)
	$(CONTAINER_TOOL) build -f $(OUT)/catalog.Dockerfile -t $(CATALOG_IMG) $(OUT)

.PHONY: catalog-push
catalog-push: ## Push the OLM catalog image (CATALOG_IMG).
	@$(call need,$(CONTAINER_TOOL),install Docker or Podman and set CONTAINER_TOOL)
	$(CONTAINER_TOOL) push $(CATALOG_IMG)

##@ Local cluster

.PHONY: cluster
cluster: $(if $(wildcard $(PY)),,$(VENV)/.installed) control-plane ## Start a local Kubernetes control plane on 127.0.0.1 with two fake nodes (idempotent); prints the export KUBECONFIG line.
	@$(PY) -m scripts.local_cluster up --state .cluster

.PHONY: cluster-down
cluster-down: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Stop the local control plane started by make cluster and remove its state (.cluster/).
	@$(PY) -m scripts.local_cluster down --state .cluster

##@ Deployment

.PHONY: install
install: ## Install the SemanticRouter CRD into the cluster of the current kubeconfig.
	@$(need-cluster)
	$(KUBECTL) apply --server-side -f crds/vllm.ai_semanticrouters.yaml
	$(KUBECTL) wait --for=condition=Established crd/semanticrouters.vllm.ai --timeout=60s

.PHONY: uninstall
uninstall: ## Remove the SemanticRouter CRD (and with it every SemanticRouter) from the cluster.
	@$(need-cluster)
	$(KUBECTL) delete --ignore-not-found -f crds/vllm.ai_semanticrouters.yaml

# config/default watches every namespace; config/namespaced only the namespaces it names.
DEPLOY_DIR ?= config/default

.PHONY: deploy
deploy: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Deploy the operator with kustomize (DEPLOY_DIR=config/default or config/namespaced): make deploy IMG=<image>.
	@$(need-cluster)
	$(PY) scripts/deploy_manifests.py build --image $(IMG) $(DEPLOY_DIR) | $(KUBECTL) apply --server-side -f -
	$(KUBECTL) -n $(OPERATOR_NAMESPACE) rollout status deployment/semantic-router-operator-controller-manager --timeout=180s

.PHONY: undeploy
undeploy: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Remove the operator; the CRD and your SemanticRouters stay (make uninstall removes them).
	@$(need-cluster)
	$(PY) scripts/deploy_manifests.py build --image $(IMG) --exclude-crd $(DEPLOY_DIR) | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: run
run: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Run the operator here against the cluster of the current kubeconfig (make install first).
	@$(need-cluster)
	semantic-router-operator run

.PHONY: openshift-deploy
openshift-deploy: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Deploy with OLM: operator-sdk run bundle BUNDLE_IMG, else a CatalogSource (CATALOG_IMG) and Subscription.
	@$(need-cluster)
	@if command -v operator-sdk >/dev/null 2>&1; then \
	  set -x; \
	  $(KUBECTL) create namespace $(OPERATOR_NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f -; \
	  operator-sdk run bundle $(BUNDLE_IMG) --namespace $(OPERATOR_NAMESPACE); \
	else \
	  echo "operator-sdk not found: subscribing through a CatalogSource of $(CATALOG_IMG) (config/olm)"; \
	  set -x; \
	  $(PY) scripts/deploy_manifests.py olm --catalog-image $(CATALOG_IMG) --channel $(DEFAULT_CHANNEL) | $(KUBECTL) apply -f -; \
	fi

.PHONY: openshift-undeploy
openshift-undeploy: $(if $(wildcard $(PY)),,$(VENV)/.installed) ## Remove the OLM deployment of the operator (the CRD stays).
	@$(need-cluster)
	@if command -v operator-sdk >/dev/null 2>&1; then \
	  set -x; operator-sdk cleanup semantic-router-operator --namespace $(OPERATOR_NAMESPACE); \
	else \
	  set -x; \
	  $(KUBECTL) -n $(OPERATOR_NAMESPACE) delete subscription semantic-router-operator --ignore-not-found; \
	  $(KUBECTL) -n $(OPERATOR_NAMESPACE) delete clusterserviceversion semantic-router-operator.v$(VERSION) --ignore-not-found; \
	  $(PY) scripts/deploy_manifests.py olm --catalog-image $(CATALOG_IMG) --channel $(DEFAULT_CHANNEL) | $(KUBECTL) delete --ignore-not-found -f -; \
	fi

##@ Test

.PHONY: lint
lint: dev ## Run ruff and mypy.
	ruff check operator tests bench scripts
	ruff format --check operator tests bench scripts
	mypy

.PHONY: test
test: dev lint olm-tools ## Run every test tier: unit, repository, chart, integration, reliability, dataplane, then e2e (on KUBECONFIG's cluster, else on a local control plane started and stopped for the run).
	./scripts/pytest.sh tests --ignore=tests/e2e
	./scripts/pytest.sh tests/e2e -p no:cacheprovider

.PHONY: e2e
e2e: dev ## Run the end-to-end tier alone: on KUBECONFIG's cluster when set, else on a local control plane started and stopped for the run.
	./scripts/pytest.sh tests/e2e -p no:cacheprovider

##@ Benchmarks

# Benchmarks are not tests: they measure and write docs/benchmarks.md; nothing asserts on timing.
.PHONY: bench
bench: $(if $(wildcard $(PY)),,$(VENV)/.installed) $(BIN)/helm4 $(BIN)/helm3 control-plane ## Run the benchmarks (about 20 minutes on 2 cores; section 7 on the local control plane) and rewrite docs/benchmarks.md with the figures.
	$(PY) -m bench.run --output docs/benchmarks.md
