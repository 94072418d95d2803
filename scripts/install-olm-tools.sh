#!/usr/bin/env bash
# Builds the OLM tools the bundle tests run, from the Go module proxy, pinned by
# tools/olm/go.mod and go.sum, and caches them outside the checkout, keyed by version:
#   opm              operator-registry's CLI (opm render, opm validate: file-based catalogs)
#   bundle-validate  operator-framework/api's validators behind a small command
#                    (tools/olm/bundle-validate: the checks of `operator-sdk bundle validate
#                    --select-optional suite=operatorframework`)
# Usage: scripts/install-olm-tools.sh [opm|bundle-validate]...
#   prints the path of each binary named (both when none is named), building it when missing.
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/semantic-router-operator/bin (SR_TOOLS_CACHE overrides).
# Go's module and build caches stay where `go env` puts them.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
module="$root/tools/olm"
cache="${SR_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/semantic-router-operator/bin}"
command -v go >/dev/null || { echo "install-olm-tools: Go 1.24+ is needed (https://go.dev/dl)" >&2; exit 1; }

version_of() {  # the pinned version of a module, from tools/olm/go.mod
  (cd "$module" && go list -m -f '{{.Version}}' "$1")
}

# opm: keyed by the operator-registry version. No cgo: the SQLite index commands opm still
# carries are not used (catalogs are file-based), and the binary stays static.
build_opm() {
  local version target pkg=github.com/operator-framework/operator-registry
  version="$(version_of "$pkg")"
  target="$cache/opm-$version"
  if [ ! -x "$target" ]; then
    mkdir -p "$cache"
    echo "install-olm-tools: building opm $version into $target" >&2
    (cd "$module" && CGO_ENABLED=0 go build -p 1 -trimpath -tags json1,containers_image_openpgp \
      -ldflags "-X $pkg/cmd/opm/version.opmVersion=$version" \
      -o "$target.tmp.$$" "$pkg/cmd/opm")
    mv -f "$target.tmp.$$" "$target"
  fi
  echo "$target"
}

# bundle-validate: keyed by the operator-framework/api version and the command's source.
build_validator() {
  local version digest target
  version="$(version_of github.com/operator-framework/api)"
  digest="$(cat "$module/go.sum" "$module/bundle-validate/main.go" | sha256sum | cut -c1-12)"
  target="$cache/bundle-validate-$version-$digest"
  if [ ! -x "$target" ]; then
    mkdir -p "$cache"
    echo "install-olm-tools: building bundle-validate (operator-framework/api $version) into $target" >&2
    (cd "$module" && CGO_ENABLED=0 go build -p 1 -trimpath -tags json1,containers_image_openpgp \
      -o "$target.tmp.$$" ./bundle-validate)
    mv -f "$target.tmp.$$" "$target"
  fi
  echo "$target"
}

[ "$#" -gt 0 ] || set -- opm bundle-validate
for tool in "$@"; do
  case "$tool" in
    opm) build_opm ;;
    bundle-validate) build_validator ;;
    *) echo "install-olm-tools: unknown tool $tool (opm, bundle-validate)" >&2; exit 2 ;;
  esac
done
