#!/usr/bin/env bash
# Debian bookworm and trixie roots (debootstrap, amd64) standing in for Raspberry Pi OS, so the
# satellite's installer runs for real: apt, venv, pip, config, systemd unit.
#
# Raspberry Pi OS bookworm and trixie are Debian bookworm and trixie plus Raspberry Pi's own
# packages; these roots hold Debian's part (what a Pi OS Lite image has that the installer
# relies on: python3, systemd, ca-certificates). Each root is built once under the cache
# (outside the checkout, named by a digest of what defines it: a fresh clone reuses it) and is
# never changed afterwards: `run` lays a throwaway overlay over it, so every run starts from a
# clean system. Downloaded .debs and pip's cache are kept in the cache (bound as the root's
# /var/cache/apt/archives and /root/.cache/pip), so repeated runs download no .deb again, nor
# a wheel where PyPI's caching headers reach pip (a proxy that strips them leaves pip's cache
# empty, and pip then downloads the wheels on every run). The
# checkout and /tmp are bound in at their own paths; processes in the root share the host's
# loopback. The roots are amd64 (this machine's own); SUITE-arm64 (e.g. trixie-arm64) makes an
# arm64 root run under qemu-user (binfmt_misc; debootstrap --foreign, then its second stage
# under emulation): a Pi's own wheels, but many times slower, so the test suite does not use it.
# Needs root (it uses sudo otherwise).
#
#   scripts/pi_roots.sh build SUITE...      build the roots if missing (bookworm, trixie,
#                                           bookworm-arm64, trixie-arm64)
#   scripts/pi_roots.sh path SUITE          print a root's folder
#   scripts/pi_roots.sh run SUITE CMD...    run CMD in a throwaway copy of the root
set -euo pipefail

cache=${DALLE_FRAME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dalle_frame}
mirror=${DALLE_FRAME_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What goes into each root besides debootstrap's minbase; a change builds new roots.
packages=(ca-certificates systemd python3)
layout_version=1

log() { printf '\033[1m[pi-roots]\033[0m %s\n' "$*" >&2; }

# shellcheck source=root_helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/root_helpers.sh"

check_suite() {
  case "$1" in
    bookworm | trixie | bookworm-arm64 | trixie-arm64) ;;
    *) log "unknown suite '$1': bookworm, trixie, bookworm-arm64 or trixie-arm64"; exit 2 ;;
  esac
}

arch_of() {
  # bookworm: amd64; trixie-arm64: arm64
  [[ $1 == *-arm64 ]] && echo arm64 || echo amd64
}

root_dir() {
  local key
  key=$(echo "${1%-arm64} $(arch_of "$1") $layout_version ${packages[*]}" | sha256sum | cut -c1-12)
  echo "$cache/roots/pi-$1-$key"
}

bootstrap() {
  # debootstrap's minbase: natively, or for arm64 its first stage here and the second under
  # emulation.
  local suite=$1 work=$2 release=${1%-arm64} arch
  arch=$(arch_of "$suite")
  if [[ $arch == amd64 ]]; then
    as_root debootstrap --variant=minbase --cache-dir="$cache/pi-apt/$suite" "$release" "$work" \
      "$mirror"
  else
    enable_emulation
    as_root debootstrap --arch=arm64 --foreign --variant=minbase "$release" "$work" "$mirror" &&
      as_root chroot "$work" /debootstrap/debootstrap --second-stage
  fi
}

in_chroot() {
  # Run a command in a root while building it; the apt cache is bound in for the downloads
  # (this replaces root_helpers.sh's in_chroot, which binds nothing).
  local dir=$1 suite=$2
  shift 2
  # shellcheck disable=SC2016  # the script runs in the namespace's own bash
  as_root unshare --mount --propagation private -- bash -c '
    set -e
    dir=$1 archives=$2
    shift 2
    mkdir -p "$archives/partial"
    mount --bind "$archives" "$dir/var/cache/apt/archives"
    mount -t proc proc "$dir/proc"
    exec chroot "$dir" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
      HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
  ' pi-root "$dir" "$cache/pi-apt/$suite" "$@"
}

build() {
  local suite=$1 dir work
  check_suite "$suite"
  dir=$(root_dir "$suite")
  [[ -f "$dir/.complete" ]] && return 0
  command -v debootstrap >/dev/null || {
    log "installing debootstrap (Debian package)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      debootstrap >/dev/null
  }
  work="$dir.partial"
  as_root rm -rf "$work"
  mkdir -p "$(dirname "$dir")" "$cache/pi-apt/$suite/partial"
  log "building a Debian $suite root in $dir (a few minutes, once; arm64: longer)"
  bootstrap "$suite" "$work" >"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "debootstrap failed; the whole log is $work.log"
    return 1
  }
  # The registries' TLS may go through a proxy whose CA only the host trusts: trust it here too.
  trust_host_certificates "$work"
  as_root cp /etc/resolv.conf "$work/etc/resolv.conf"
  {
    in_chroot "$work" "$suite" apt-get update -qq &&
      in_chroot "$work" "$suite" apt-get install -y -qq --no-install-recommends "${packages[@]}"
  } >>"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "installing the root's packages failed; the whole log is $work.log"
    return 1
  }
  in_chroot "$work" "$suite" update-ca-certificates >/dev/null 2>&1
  # shellcheck disable=SC2016  # dpkg-query's own ${field} format
  in_chroot "$work" "$suite" dpkg-query -W -f='${Package} ${Version}\n' >"$work.packages"
  as_root mv "$work.packages" "$work/.packages"
  as_root touch "$work/.complete"
  as_root mv "$work" "$dir"
  as_root rm -f "$work.log"
  # Roots of other package lists are stale now.
  local old
  for old in "$cache/roots/pi-$suite"-*; do
    [[ $old == "$dir" || $old == *.partial* || ! -d $old ]] || as_root rm -rf "$old"
  done
  log "root ready: $suite with $(grep -E '^python3 ' "$dir/.packages")"
}

run() {
  local suite=$1 dir here scratch status=0
  shift
  build "$suite"
  dir=$(root_dir "$suite")
  [[ $(arch_of "$suite") == amd64 ]] || enable_emulation
  here=$(pwd)
  mkdir -p "$cache/pi-apt/$suite/partial" "$cache/pi-pip/$suite"
  scratch=$(mktemp -d "$cache/roots/scratch.XXXXXX")
  # A private mount namespace: the overlay and the binds vanish with its last process; the
  # overlay's changes (upper) are deleted afterwards, so the root itself stays clean.
  # shellcheck disable=SC2016  # the script runs in the namespace's own bash
  as_root unshare --mount --propagation private -- bash -c '
    set -e
    base=$1 scratch=$2 here=$3 archives=$4 pip=$5
    shift 5
    root=$scratch/merged
    mkdir -p "$scratch/upper" "$scratch/work" "$root"
    mount -t overlay overlay -o "lowerdir=$base,upperdir=$scratch/upper,workdir=$scratch/work" "$root"
    bind() { mkdir -p "$root$2"; mount --rbind "$1" "$root$2"; }
    mount -t proc proc "$root/proc"
    bind /dev /dev
    bind /sys /sys
    bind /tmp /tmp
    bind "$here" "$here"
    bind "$archives" /var/cache/apt/archives
    bind "$pip" /root/.cache/pip
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$here" "$@"
  ' pi-root "$dir" "$scratch" "$here" "$cache/pi-apt/$suite" "$cache/pi-pip/$suite" \
    /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root \
    LANG=C.UTF-8 "$@" || status=$?
  as_root rm -rf "$scratch"
  return "$status"
}

case "${1:-}" in
  build)
    shift
    (($#)) || set -- bookworm trixie
    for suite in "$@"; do build "$suite"; done
    ;;
  path)
    check_suite "${2:-}"
    root_dir "$2"
    ;;
  run)
    (($# >= 3)) || { echo "usage: $0 run SUITE CMD..." >&2; exit 2; }
    check_suite "$2"
    run "${@:2}"
    ;;
  *)
    echo "usage: $0 build [SUITE...] | path SUITE | run SUITE CMD..." >&2
    exit 2
    ;;
esac
