#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go modules in tools/ (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) into a cache outside the checkout, keyed by
# each component's version and a digest of its tools module, and reuses a complete cache entry.
# Prints the directory that holds all the binaries (symlinks into the cache) on its last line.
#
#   scripts/build-control-plane.sh            build what is missing, print the bin directory
#   scripts/build-control-plane.sh --print    print the bin directory only if everything is built (else exit 1)
#
# Environment: CONTROL_PLANE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/semantic-router-operator/control-plane),
# GO (default go), GO_BUILD_JOBS (default: the number of CPUs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/tools"
cache="${CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/semantic-router-operator/control-plane}"
GO="${GO:-go}"
jobs="${GO_BUILD_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}"
print_only=false
[[ "${1:-}" == "--print" ]] && print_only=true

# required_version MODULE_DIR MODULE: the version the tools module requires.
required_version() {
  sed -n "s|^\s*\(require \)\{0,1\}$2 \(v[^ ]*\).*$|\2|p" "$1/go.mod" | head -n 1
}

# entry COMPONENT MODULE_DIR VERSION: the cache directory for that build of the tools module, keyed by
# the module's requirements, replacements and tools (not its comments) and its go.sum.
entry() {
  local digest
  digest="$({ cd "$2" && "$GO" mod edit -json && cat go.sum; } | sha256sum | cut -c1-12)"
  echo "$cache/$1/$3-$digest"
}

k8s_version="$(required_version "$tools/kubernetes" k8s.io/kubernetes)"
etcd_version="$(required_version "$tools/etcd" go.etcd.io/etcd/server/v3)"
kwok_version="$(required_version "$tools/kwok" sigs.k8s.io/kwok)"
k8s_dir="$(entry kubernetes "$tools/kubernetes" "$k8s_version")"
etcd_dir="$(entry etcd "$tools/etcd" "$etcd_version")"
kwok_dir="$(entry kwok "$tools/kwok" "$kwok_version")"
bin="$cache/bin-$(echo "$k8s_dir $etcd_dir $kwok_dir" | sha256sum | cut -c1-12)"

complete() { [[ -f "$1/.complete" ]]; }

if $print_only; then
  complete "$k8s_dir" && complete "$etcd_dir" && complete "$kwok_dir" && [[ -d "$bin" ]] || exit 1
  echo "$bin"
  exit 0
fi

command -v "$GO" >/dev/null 2>&1 || { echo "build-control-plane.sh: needs Go 1.26 or newer ($GO not found): https://go.dev/dl/ or your package manager" >&2; exit 1; }

# build COMPONENT_DIR TOOLS_MODULE LDFLAGS PACKAGE...: go build into a temporary directory, then rename it
# into place, so an interrupted build never leaves a half-filled cache entry.
build() {
  local dest="$1" module="$2" ldflags="$3"; shift 3
  if complete "$dest"; then
    echo "build-control-plane.sh: cached $dest" >&2
    return
  fi
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  echo "build-control-plane.sh: building $* into $dest" >&2
  local start=$SECONDS
  (cd "$module" && CGO_ENABLED=0 "$GO" build -p "$jobs" -trimpath -ldflags "-s -w $ldflags" -o "$tmp/" "$@")
  touch "$tmp/.complete"
  rm -rf "$dest"; mv "$tmp" "$dest"
  echo "build-control-plane.sh: built $(basename "$(dirname "$dest")") in $((SECONDS - start)) s" >&2
}

build_date="$(date -u -d @0 +%Y-%m-%dT%H:%M:%SZ)"
[[ "$k8s_version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || { echo "build-control-plane.sh: unexpected k8s.io/kubernetes version $k8s_version" >&2; exit 1; }
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do  # servers; client-go's User-Agent
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=${BASH_REMATCH[1]} -X $pkg.gitMinor=${BASH_REMATCH[2]}"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

build "$etcd_dir" "$tools/etcd" "" go.etcd.io/etcd/server/v3
build "$kwok_dir" "$tools/kwok" "-X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" sigs.k8s.io/kwok/cmd/kwok
build "$k8s_dir" "$tools/kubernetes" "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler

# kwok alone has no stages (kwokctl passes them): the node and pod lifecycles it plays come from the
# same module's kustomize/stage files, taken from the module cache into kwok's cache entry.
if [[ ! -s "$kwok_dir/kwok-stages.yaml" ]]; then
  src="$(cd "$tools/kwok" && "$GO" mod download -json "sigs.k8s.io/kwok@$kwok_version" | sed -n 's/^\s*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  stages=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
          pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
  for stage in "${stages[@]}"; do
    [[ -f "$src/kustomize/stage/$stage" ]] || { echo "build-control-plane.sh: kwok $kwok_version has no kustomize/stage/$stage" >&2; exit 1; }
    printf -- '---\n'; sed '/^---$/d' "$src/kustomize/stage/$stage"
  done > "$kwok_dir/kwok-stages.yaml.tmp"
  mv "$kwok_dir/kwok-stages.yaml.tmp" "$kwok_dir/kwok-stages.yaml"
fi

mkdir -p "$bin"
# go names etcd's binary after its package directory, server/.
if [[ -e "$etcd_dir/server" && ! -e "$etcd_dir/etcd" ]]; then mv "$etcd_dir/server" "$etcd_dir/etcd"; fi
for f in "$etcd_dir/etcd" "$kwok_dir/kwok" "$k8s_dir"/kube-apiserver "$k8s_dir"/kube-controller-manager "$k8s_dir"/kube-scheduler "$kwok_dir/kwok-stages.yaml"; do
  [[ -x "$f" || "$f" == *.yaml ]] || { echo "build-control-plane.sh: $f was not built" >&2; exit 1; }
  ln -sfn "$f" "$bin/$(basename "$f")"
done
echo "$bin"
