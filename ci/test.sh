#!/usr/bin/env bash
# The test command (docs/development.md): install what the tests need, then run them.
# Usage: bash ci/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg _; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < ci/apt-packages.txt
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "installing Debian packages: ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null
  else
    echo "missing system packages: ${missing[*]} (install them with your package manager, e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

python3 -m pip install -q -r ci/requirements-test.txt 2>&1 | grep -v -e "Running pip as the 'root' user" -e "dependency conflicts" -e "requires docutils" || true
python3 -m ruff check jemalloc_sys jemalloc_build _backend wheel_builder benchmarks tests docs/hooks.py
python3 -m mypy
exec python3 -m pytest "$@"
