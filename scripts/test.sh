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
if [[ -f pi_satellite/install.sh ]]; then
  step "lint: shellcheck"
  shellcheck scripts/*.sh pi_satellite/*.sh addon_inference/*.sh .ci/run || status=1
fi

# run_suite NAME ENVIRONMENT FOLDER
run_suite() {
  local name=$1 env=$2 folder=$3
  if ! compgen -G "$folder/test_*.py" >/dev/null; then
    echo "no tests in $folder yet"
    return 0
  fi
  step "tests: $name ($env environment)"
  "$venvs/$env/bin/python" -m pytest "$folder" -p no:cacheprovider \
    --junitxml="$results/$name.xml" "${@:4}" || status=1
}

run_suite server server tests/server "$@"
run_suite ha ha tests/ha "$@"
run_suite satellite satellite tests/satellite "$@"
run_suite e2e ha tests/e2e "$@"

step "summary"
python3 "$root/scripts/summarize_tests.py" "$results" || status=1
exit "$status"
