#!/usr/bin/env bash
# Creates the Python environments and installs the Debian packages the project needs.
# Idempotent: an environment whose requirements did not change since its last install is
# left alone, so a second run takes seconds.
#
# The server and satellite environments (Python 3.11) live under .venvs/. The Home Assistant
# environments need Pythons these machines lack (HA 2026.11: >= 3.14.2, HA 2025.12: >= 3.13.2),
# so they live in a Debian sid root under the cache (scripts/ha_root.sh), outside the
# checkout: a fresh clone on a machine that built them before reuses them.
#
#   scripts/setup.sh [server] [ha] [satellite] [triton] [debian] [pi_roots]    (no argument: all)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venvs="$root/.venvs"
req="$root/requirements"
mkdir -p "$venvs"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

find_python() {
  # $1: version such as 3.11 or 3.13; prints the interpreter's path
  local version=$1 candidate
  for candidate in "python$version" "$HOME/.pyenv/versions/$version"*/bin/"python$version" \
    "/usr/local/bin/python$version" "/usr/bin/python$version"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "python$version not found: install it (pyenv install $version) and run again" >&2
  return 1
}

pip_args=(--disable-pip-version-check --no-input -q)
# The CPU build of torch lies in a local wheel folder on these machines; never let pip take
# a multi-gigabyte CUDA build from the registry instead.
if [[ -d /opt/wheels ]]; then
  pip_args+=(--find-links /opt/wheels)
fi

# make_env NAME PYTHON_VERSION "FILES THAT DEFINE IT" PIP_INSTALL_ARGS...
make_env() {
  local name=$1 version=$2 inputs=$3
  shift 3
  local dir="$venvs/$name" stamp="$venvs/$name.stamp" digest python
  # shellcheck disable=SC2086  # inputs is a list of paths without spaces
  digest=$( (echo "$version $*"; cd "$root" && cat $inputs) | sha256sum | cut -d' ' -f1)
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
    log "$name environment is up to date"
    return 0
  fi
  python=$(find_python "$version")
  log "creating the $name environment with $python (a few minutes the first time)"
  [[ -x "$dir/bin/python" ]] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install "${pip_args[@]}" --upgrade pip==25.1.1
  "$dir/bin/python" -m pip install "${pip_args[@]}" "$@"
  echo "$digest" >"$stamp"
}

# podman, runc and debootstrap build the add-on image; apparmor's parser checks its profile.
# python3.11-venv: the triton environment is made with Debian's own python3.11.
debian_packages=(libportaudio2 espeak-ng sox shellcheck chromium libturbojpeg0
  podman runc debootstrap apparmor python3.11-venv)

setup_debian() {
  local missing=() pkg
  for pkg in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "Debian packages present"
    return 0
  fi
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

setup_server() {
  make_env server 3.11 "requirements/server*.txt addon_inference/pyproject.toml" -r "$req/server-dev.txt" -e "$root/addon_inference"
}

# make_root_env NAME PYTHON_VERSION "FILES THAT DEFINE IT" PIP_INSTALL_ARGS...
# An environment in the sid root at /opt/venvs/NAME; "--then" starts a second pip install.
make_root_env() {
  local name=$1 version=$2 inputs=$3
  shift 3
  local ha_root="$root/scripts/ha_root.sh" root_dir dir digest args=()
  "$ha_root" build
  root_dir=$("$ha_root" path)
  dir="/opt/venvs/$name"
  # The checkout's own path is left out: a fresh clone elsewhere reuses the environment.
  # shellcheck disable=SC2086  # inputs is a list of paths without spaces
  digest=$( (echo "$version ${*//$root/}"; cd "$root" && cat $inputs) | sha256sum | cut -d' ' -f1)
  # (bin/python links to the root's /usr/bin: pyvenv.cfg tells from outside that it exists)
  if [[ -f "$root_dir$dir/pyvenv.cfg" && -f "$root_dir$dir.stamp" &&
    "$(cat "$root_dir$dir.stamp")" == "$digest" ]]; then
    log "$name environment is up to date"
    return 0
  fi
  log "creating the $name environment with python$version in the sid root (minutes, once)"
  "$ha_root" run "python$version" -m venv --clear "$dir"
  "$ha_root" run "$dir/bin/python" -m pip install "${root_pip_args[@]}" --upgrade pip==25.1.1
  for arg in "$@" --then; do
    if [[ $arg == --then ]]; then
      "$ha_root" run "$dir/bin/python" -m pip install "${root_pip_args[@]}" "${args[@]}"
      args=()
    else
      args+=("$arg")
    fi
  done
  echo "$digest" >"$root_dir$dir.stamp"
}

# The sid root has none of this machine's local wheel folders.
root_pip_args=(--disable-pip-version-check --no-input -q)

setup_ha() {
  # The newest supported release (tests, end-to-end, demo) and the oldest (tests).
  make_root_env ha-2026.11 3.14 "requirements/ha-2026.11*.txt" \
    -c "$req/ha-2026.11-constraints.txt" -r "$req/ha-2026.11.txt" \
    --then --no-deps -r "$req/ha-2026.11-plugin.txt"
  make_root_env ha-2025.12 3.13 "requirements/ha-2025.12*.txt" \
    -c "$req/ha-2025.12-constraints.txt" -r "$req/ha-2025.12.txt"
}

# Triton mode (requirements/triton.txt): PyTriton breaks on CPython 3.11.7 (pyenv's here,
# pytriton#51), so this environment takes Debian's python3.11; it pins numpy below 2, so the
# server package goes in without its own pins (triton.txt has what it needs).
setup_triton() {
  local dir="$venvs/triton"
  [[ -x "$dir/bin/python" ]] || /usr/bin/python3.11 -m venv "$dir"
  make_env triton 3.11 "requirements/triton.txt addon_inference/pyproject.toml" -r "$req/triton.txt"
  if ! "$dir/bin/python" -c 'import dalle_frame_server' 2>/dev/null; then
    "$dir/bin/python" -m pip install "${pip_args[@]}" --no-deps -e "$root/addon_inference"
  fi
}

setup_satellite() {
  make_env satellite 3.11 "requirements/satellite*.txt pi_satellite/pyproject.toml" -r "$req/satellite-dev.txt" -e "$root/pi_satellite"
}

# Debian bookworm and trixie roots for the satellite installer's own test (scripts/pi_roots.sh).
setup_pi_roots() {
  "$root/scripts/pi_roots.sh" build bookworm trixie
}

parts=("$@")
((${#parts[@]})) || parts=(debian server ha satellite triton pi_roots)
for part in "${parts[@]}"; do
  case "$part" in
    debian | server | ha | satellite | triton | pi_roots) "setup_$part" ;;
    *) echo "unknown part: $part (debian, server, ha, satellite, triton, pi_roots)" >&2; exit 2 ;;
  esac
done
