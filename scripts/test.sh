#!/usr/bin/env bash
# Runs every test of the project: lint, then each part's suite in its own environment (the
# HA suite on both ends of the supported range: HA 2026.11 on Python 3.14 and HA 2025.12 on
# Python 3.13, in the Debian sid root of scripts/ha_root.sh), then the end-to-end suite (a real
# `hass` of HA 2026.11). Sets up what it needs first (scripts/setup.sh, idempotent).
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
"$venvs/server/bin/ruff" check . || status=1
"$venvs/server/bin/ruff" format --check . || status=1
step "lint: shellcheck"
mapfile -t shell_scripts < <(find . -path ./.venvs -prune -o -path ./build -prune -o \
  \( -name '*.sh' -o -path ./.ci/run \) -type f -print | sort)
shellcheck "${shell_scripts[@]}" || status=1
step "types: mypy (server)"
"$venvs/server/bin/mypy" --config-file addon_inference/pyproject.toml || status=1
step "types: mypy (satellite)"
"$venvs/satellite/bin/mypy" --config-file pi_satellite/pyproject.toml || status=1

# run_suite NAME FOLDER [PYTEST ARGS...]: runs pytest with the interpreter in "${python[@]}".
run_suite() {
  local name=$1 folder=$2
  shift 2
  if ! compgen -G "$folder/test_*.py" >/dev/null; then
    echo "no tests in $folder yet"
    return 0
  fi
  step "tests: $name"
  "${python[@]}" -m pytest "$folder" -p no:cacheprovider --junitxml="$results/$name.xml" "$@" ||
    status=1
}

ha_root="$root/scripts/ha_root.sh"
step "types: mypy (integration, HA 2026.11 and 2025.12)"
for ha in ha-2026.11 ha-2025.12; do
  "$ha_root" run "/opt/venvs/$ha/bin/python" -m mypy --config-file tests/ha/mypy.ini \
    --cache-dir "build/mypy_cache/$ha" || status=1
done
# HA before pytest-homeassistant-custom-component's plugin (tests/ha/phcc_compat.py), and the
# integration's line coverage as part of the bar (at least 95 %) on both releases.
ha_args=(-p tests.ha.phcc_compat --cov=custom_components.dalle_frame
  --cov-report=term-missing:skip-covered --cov-fail-under=95)

python=("$venvs/server/bin/python")
run_suite server tests/server "$@"
# Triton mode (issue 19): the front and real tritonserver nodes, from the triton environment.
python=("$venvs/triton/bin/python")
run_suite triton tests/triton "$@"
python=("$venvs/server/bin/python")
# The add-on image built by podman and its container run (scripts/addon_image.sh).
run_suite addon-image tests/addon_image "$@"
# The server on arm64 under qemu-user (scripts/arm_root.sh): start-up, int8 refused, ASR, steps.
run_suite arm64 tests/arm64 "$@"
run_suite repo tests/repo "$@"
python=("$ha_root" run /opt/venvs/ha-2026.11/bin/python)
COVERAGE_FILE="$results/.coverage.ha-2026.11" run_suite "ha-2026.11" tests/ha "${ha_args[@]}" "$@"
python=("$ha_root" run /opt/venvs/ha-2025.12/bin/python)
COVERAGE_FILE="$results/.coverage.ha-2025.12" run_suite "ha-2025.12" tests/ha "${ha_args[@]}" "$@"
python=("$venvs/satellite/bin/python")
run_suite satellite tests/satellite "$@"
# pi_satellite/install.sh for real in Debian bookworm and trixie roots (scripts/pi_roots.sh).
DALLE_FRAME_PI_ROOTS=1 run_suite satellite-pi-roots tests/satellite/roots "$@"
# Real processes: the GPU server and satellite from their environments, `hass` from the root's
# HA 2026.11; the satellite environment drives them.
run_suite e2e tests/e2e "$@"

step "summary"
python3 "$root/scripts/summarize_tests.py" "$results" || status=1
exit "$status"
