#!/usr/bin/env bash
# Runs pytest and turns its "no tests collected" exit code (5) into a loud failure:
# a test run that ran nothing must never look green.
set -uo pipefail
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests for: $* (exit 5) - a run that tests nothing is a failure" >&2
  exit 1
fi
exit "$rc"
