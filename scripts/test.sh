#!/usr/bin/env bash
# Runs every test of the project: lint, then each part's suite in its own environment, then
# the end-to-end suite. Sets up what it needs first (scripts/setup.sh, idempotent).
#
#   scripts/test.sh [PYTEST ARGS...]   extra arguments go to every pytest run (e.g. -x, -k name)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
venvs="$root/.venvs"
results="$root/build/test-results"

"$root/scripts/setup.sh" || { echo "setup failed" >&2; exit 1; }
rm -rf "$results"
mkdir -p "$results"

status=0
step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

step "lint: ruff"
"$venvs/ha/bin/ruff" check . || status=1
"$venvs/ha/bin/ruff" format --check . || status=1
step "lint: shellcheck"
mapfile -t shell_scripts < <(find . -path ./.venvs -prune -o -path ./build -prune -o \
  \( -name '*.sh' -o -path ./.ci/run \) -type f -print | sort)
shellcheck "${shell_scripts[@]}" || status=1

# run_suite NAME ENVIRONMENT FOLDER [PYTEST ARGS...]
run_suite() {
  local name=$1 env=$2 folder=$3
  shift 3
  if ! compgen -G "$folder/test_*.py" >/dev/null; then
    echo "no tests in $folder yet"
    return 0
  fi
  step "tests: $name ($env environment)"
  "$venvs/$env/bin/python" -m pytest "$folder" -p no:cacheprovider \
    --junitxml="$results/$name.xml" "$@" || status=1
}

run_suite server server tests/server "$@"
# The integration's line coverage is part of the bar (at least 95 %).
run_suite ha ha tests/ha --cov=custom_components.dalle_frame --cov-report=term-missing:skip-covered \
  --cov-fail-under=95 "$@"
run_suite satellite satellite tests/satellite "$@"
# Real processes, not pytest-homeassistant-custom-component's in-process HA: its plugin stays off.
run_suite e2e ha tests/e2e -p no:homeassistant "$@"

step "summary"
python3 "$root/scripts/summarize_tests.py" "$results" || status=1
exit "$status"
