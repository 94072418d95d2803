#!/usr/bin/env bash
# Rewrites the replace block of this module's go.mod: k8s.io/kubernetes points its staging modules
# (k8s.io/api, k8s.io/client-go, ...) at ./staging in its own go.mod, which a module that requires it
# cannot follow; each is pinned here to the published v0.X.Y that matches k8s.io/kubernetes v1.X.Y.
# Usage: tools/kubernetes/gen-replace.sh [v1.37.2]   (default: the version go.mod requires)
set -euo pipefail
cd "$(dirname "$0")"
version="${1:-$(sed -n 's/^\s*k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' go.mod | head -n 1)}"
[[ "$version" =~ ^v1\.([0-9]+\.[0-9]+)$ ]] || { echo "gen-replace.sh: expected a version like v1.37.2, got '$version'" >&2; exit 1; }
staging="v0.${BASH_REMATCH[1]}"
gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$gomod" ]] || { echo "gen-replace.sh: the module proxy gave no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
modules="$(sed -n 's/^\s*\(k8s.io\/[a-z0-9-]*\) => \.\/staging\/.*$/\1/p' "$gomod" | sort -u)"
go mod edit -require="k8s.io/kubernetes@$version"
for m in $(go mod edit -json | sed -n 's/^\s*"Path": "\(k8s.io\/[a-z0-9-]*\)",\{0,1\}$/\1/p' | sort -u); do
  go mod edit -dropreplace="$m"
done
for m in $modules; do
  go mod edit -replace="$m=$m@$staging"
done
echo "gen-replace.sh: pinned $(wc -w <<<"$modules") staging modules to $staging for k8s.io/kubernetes $version"
