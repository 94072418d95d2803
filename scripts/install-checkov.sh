#!/usr/bin/env bash
# Installs the pinned checkov (the chart tier's security scanner) into its own virtualenv,
# ./.venv-checkov: checkov pins many dependencies that would conflict with the project's.
# Usage: scripts/install-checkov.sh [python]   (default: python3)
set -euo pipefail

version="3.3.30"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-checkov"
python="${1:-python3}"

if [ -x "$venv/bin/checkov" ] && [ "$("$venv/bin/checkov" --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "checkov==$version"
echo "install-checkov: $("$venv/bin/checkov" --version) in $venv"
