#!/usr/bin/env bash
# Regenerate the router config key inventory from the router's Go source.
# Usage: scripts/router-config-keys.sh <router git dir> <commit> [output]
# Reads src/semantic-router/pkg/config at <commit> (non-test .go files) and writes the JSON
# inventory the chart tests check every rendered router config against.
set -euo pipefail
repo=${1:?router git directory (bare or not)}
commit=${2:?commit of the router source}
out=${3:-tests/chart/data/router-config-keys.json}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
full=$(git -C "$repo" rev-parse "$commit^{commit}")
git -C "$repo" ls-tree --name-only "$full" src/semantic-router/pkg/config/ |
  grep -E '\.go$' | grep -v '_test\.go$' |
  while read -r path; do git -C "$repo" show "$full:$path" > "$work/$(basename "$path")"; done
(cd "$here/routerkeys" && GO111MODULE=off go run main.go "$work" "$full") > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out from $full"
