#!/usr/bin/env bash
# A Debian sid root (debootstrap) that holds the Pythons current Home Assistant needs.
#
# HA 2026.3 and later need Python >= 3.14.2, HA 2025.5 to 2026.2 need >= 3.13.2; these machines
# have Debian 12 and pyenv's 3.13.0 at most. Debian sid has python3.14 and python3.13, so the HA
# environments live in a sid root under the cache (outside the checkout: a fresh clone reuses
# it). Commands run in it through a private mount namespace: the checkout and /tmp are bound
# in at their own paths and vanish with the last process, whether it exits or is killed.
# Processes in the root share the host's loopback, so a `hass` in it talks to the GPU server
# and the satellite outside it. The host's own tree is bound at /run/host (named in
# $DALLE_FRAME_HOST_ROOT there), so a test in the root can start the GPU server from the
# host's environment with `chroot /run/host ...`. HA 2025.12's hass-nabucasa imports litellm,
# which fetches a price list from the internet on import unless told to use its own copy
# (LITELLM_LOCAL_MODEL_COST_MAP). Needs root (it uses sudo otherwise).
#
#   scripts/ha_root.sh build          build the root if it is missing (idempotent)
#   scripts/ha_root.sh path           print the root's folder
#   scripts/ha_root.sh run CMD...     run CMD in the root, in the current folder
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${DALLE_FRAME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dalle_frame}
mirror=${DALLE_FRAME_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=sid
# What goes into the root; its digest names the root's folder, so a change builds a new one.
packages=(
  ca-certificates build-essential pkg-config libturbojpeg0 ffmpeg
  python3.14 python3.14-venv python3.14-dev python3.13 python3.13-venv python3.13-dev
)
layout_version=1
key=$(echo "$suite $layout_version ${packages[*]}" | sha256sum | cut -c1-12)
root_dir="$cache/roots/$suite-$key"

log() { printf '\033[1m[ha-root]\033[0m %s\n' "$*" >&2; }

# shellcheck source=root_helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/root_helpers.sh"

build() {
  if [[ -f "$root_dir/.complete" ]]; then
    return 0
  fi
  command -v debootstrap >/dev/null || {
    log "installing debootstrap (Debian package)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      debootstrap >/dev/null
  }
  local work="$root_dir.partial"
  as_root rm -rf "$work"
  mkdir -p "$(dirname "$root_dir")"
  log "building a Debian $suite root in $root_dir (about 2 minutes, once)"
  as_root debootstrap --variant=minbase "$suite" "$work" "$mirror" >"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "debootstrap failed; the whole log is $work.log"
    return 1
  }
  # sid's Release file is often past its Valid-Until date on mirrors and snapshots.
  echo 'Acquire::Check-Valid-Until "false";' | as_root tee "$work/etc/apt/apt.conf.d/99valid-until" >/dev/null
  trust_host_certificates "$work"
  in_chroot "$work" apt-get update -qq
  in_chroot "$work" apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    >>"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "installing the root's packages failed; the whole log is $work.log"
    return 1
  }
  in_chroot "$work" update-ca-certificates >/dev/null 2>&1
  in_chroot "$work" apt-get clean
  check_pythons "$work"
  # shellcheck disable=SC2016  # dpkg-query's own ${field} format
  in_chroot "$work" dpkg-query -W -f='${Package} ${Version}\n' >"$work.packages"
  as_root mv "$work.packages" "$work/.packages"
  as_root touch "$work/.complete"
  as_root mv "$work" "$root_dir"
  as_root rm -f "$work.log"
  # Roots of other package lists are stale now (mounts exist only inside namespaces).
  local old
  for old in "$(dirname "$root_dir")/$suite"-*; do
    [[ $old == "$root_dir" || $old == *.partial* || ! -d $old ]] || as_root rm -rf "$old"
  done
  log "root ready: $(grep -E '^python3\.1[34] ' "$root_dir/.packages" | tr '\n' ' ')"
}

check_pythons() {
  # HA's own floors: 3.14.2 for 2026.3+, 3.13.2 for 2025.5 to 2026.2.
  if ! in_chroot "$1" python3.14 -c 'import sys; assert sys.version_info >= (3, 14, 2)' ||
    ! in_chroot "$1" python3.13 -c 'import sys; assert sys.version_info >= (3, 13, 2)'; then
    log "the $suite root's Pythons are older than Home Assistant needs"
    return 1
  fi
}

run() {
  build
  local here
  here=$(pwd)
  # A private mount namespace: the binds below disappear with its last process. The checkout
  # and the current folder keep their paths, so paths printed or passed on agree both sides.
  # shellcheck disable=SC2016  # the script runs in the namespace's own bash
  as_root unshare --mount --propagation private -- bash -c '
    set -e
    root=$1 repo=$2 here=$3 cache=$4
    shift 4
    bind() { mkdir -p "$root$1"; mount --rbind "$1" "$root$1"; }
    mkdir -p "$root/run/host"
    mount --rbind / "$root/run/host"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    bind /tmp
    bind "$repo"
    case "$here/" in "$repo"/* | /tmp/*) ;; *) bind "$here" ;; esac
    # The pip cache lives beside the root, so a rebuilt root installs from it.
    mkdir -p "$cache/pip" "$root/root/.cache/pip"
    mount --bind "$cache/pip" "$root/root/.cache/pip"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$here" "$@"
  ' ha-root "$root_dir" "$repo" "$here" "$cache" \
    env -u PIP_FIND_LINKS PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    DALLE_FRAME_HOST_ROOT=/run/host LITELLM_LOCAL_MODEL_COST_MAP=True "$@"
}

case "${1:-}" in
  build) build ;;
  path) echo "$root_dir" ;;
  run)
    shift
    (($#)) || { echo "usage: $0 run CMD..." >&2; exit 2; }
    run "$@"
    ;;
  *)
    echo "usage: $0 build | path | run CMD..." >&2
    exit 2
    ;;
esac
