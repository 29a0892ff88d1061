#!/usr/bin/env bash
# An arm64 Debian bookworm root run under qemu-user, to check that the GPU server starts on
# ARM boards (HA Green and Yellow, Raspberry Pi 5) with the add-on's default configuration.
#
# Debian's qemu-user-static runs the root's arm64 programs on this x86 machine (binfmt_misc,
# with the interpreter fixed at registration, so it works inside the chroot). The root is made
# with `debootstrap --arch=arm64 --foreign` and its second stage under emulation, then gets
# Python 3.11 (bookworm's, as in the add-on image) and a venv at /opt/venv with the wheels of
# requirements/server-arm64.txt, downloaded on the host for linux aarch64 (pip's resolver is
# very slow under emulation) and installed without an index. Built once under the cache, named
# by a digest of what defines it (a fresh clone reuses it). Emulation is ~400x slower than
# native: it shows that imports, start-up and the CPU logic work on ARM, not how fast they are.
# Commands run through a private mount namespace with the checkout and /tmp bound at their
# own paths; the root shares the host's loopback. Needs root (it uses sudo otherwise).
#
#   scripts/arm_root.sh build          build the root if it is missing (idempotent)
#   scripts/arm_root.sh run CMD...     run CMD in the root, in the current folder
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${DALLE_FRAME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dalle_frame}
mirror=${DALLE_FRAME_DEBIAN_MIRROR:-http://deb.debian.org/debian}
requirements="$repo/requirements/server-arm64.txt"
packages=(python3 python3-venv ca-certificates)
layout_version=1
key=$( (echo "bookworm arm64 $layout_version ${packages[*]}"; cat "$requirements") | sha256sum | cut -c1-12)
root_dir="$cache/roots/arm64-bookworm-$key"

log() { printf '\033[1m[arm-root]\033[0m %s\n' "$*" >&2; }

# shellcheck source=root_helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/root_helpers.sh"

download_wheels() {
  # Wheels for the root, fetched natively; --no-deps with every dependency pinned in the file
  # (pip evaluates environment markers for this machine, not the target).
  local wheels=$1
  mkdir -p "$wheels"
  "$repo/.venvs/server/bin/python" -m pip download --disable-pip-version-check -q \
    --only-binary=:all: --no-deps --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
    --platform manylinux2014_aarch64 \
    -d "$wheels" -r <(grep -v '^min-dalle' "$requirements")
  # min-dalle publishes only a source archive (pure Python): its wheel is built here.
  "$repo/.venvs/server/bin/python" -m pip wheel --disable-pip-version-check -q --no-deps \
    -w "$wheels" "$(grep '^min-dalle' "$requirements")"
}

build_system() {
  # debootstrap's two stages (the second under emulation), then Python from bookworm.
  local work=$1
  as_root debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$work" "$mirror" \
    >"$work.log" 2>&1 || { tail -20 "$work.log" >&2; return 1; }
  in_chroot "$work" /debootstrap/debootstrap --second-stage >>"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "the second stage failed; the whole log is $work.log"
    return 1
  }
  in_chroot "$work" apt-get update -qq >>"$work.log" 2>&1
  in_chroot "$work" apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    >>"$work.log" 2>&1 || { tail -20 "$work.log" >&2; return 1; }
  in_chroot "$work" apt-get clean
  as_root touch "$work/.system-done"
}

build() {
  enable_emulation
  if [[ -f "$root_dir/.complete" ]]; then
    return 0
  fi
  local work="$root_dir.partial"
  mkdir -p "$(dirname "$root_dir")"
  # The emulated system build takes minutes: a build stopped after it resumes from the wheels.
  if [[ ! -f "$work/.system-done" ]]; then
    as_root rm -rf "$work"
    log "building an arm64 Debian bookworm root in $root_dir (under emulation: minutes, once)"
    build_system "$work"
  fi
  as_root rm -rf "$work/opt/wheels" "$work/opt/venv"
  download_wheels "$work/opt/wheels"
  as_root cp "$requirements" "$work/opt/wheels/requirements.txt"
  in_chroot "$work" python3 -m venv /opt/venv
  in_chroot "$work" /opt/venv/bin/python -m pip install --disable-pip-version-check -q \
    --no-index --find-links /opt/wheels -r /opt/wheels/requirements.txt >>"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "installing the wheels failed; the whole log is $work.log"
    return 1
  }
  as_root rm -rf "$work/opt/wheels"
  in_chroot "$work" /opt/venv/bin/python -c \
    'import platform, torch; assert platform.machine() == "aarch64"; assert torch.version.cuda is None'
  as_root touch "$work/.complete"
  as_root mv "$work" "$root_dir"
  as_root rm -f "$work.log"
  local old
  for old in "$(dirname "$root_dir")"/arm64-bookworm-*; do
    [[ $old == "$root_dir" || $old == *.partial* || ! -d $old ]] || as_root rm -rf "$old"
  done
  log "arm64 root ready"
}

run() {
  build
  local here
  here=$(pwd)
  # shellcheck disable=SC2016  # the script runs in the namespace's own bash
  as_root unshare --mount --propagation private -- bash -c '
    set -e
    root=$1 repo=$2 here=$3
    shift 3
    bind() { mkdir -p "$root$1"; mount --rbind "$1" "$root$1"; }
    mount -t proc proc "$root/proc"
    # qemu-user shows arm64 programs the host'"'"'s x86 /proc/cpuinfo, which ARM CPU probes (the
    # cpuinfo library in torch and ONNX Runtime) misread and crash on; a Pi 5'"'"'s stands in.
    cpuinfo="$root/run/qemu-cpuinfo"
    for ((cpu = 0; cpu < $(nproc); cpu++)); do
      printf "processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n" \
        "$cpu" "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
      printf "CPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n"
    done >"$cpuinfo"
    printf "Model\t\t: Raspberry Pi 5 Model B Rev 1.0 (qemu-user stand-in)\n" >>"$cpuinfo"
    mount --bind "$cpuinfo" "$root/proc/cpuinfo"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    bind /tmp
    bind "$repo"
    case "$here/" in "$repo"/* | /tmp/*) ;; *) bind "$here" ;; esac
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$here" "$@"
  ' arm-root "$root_dir" "$repo" "$here" \
    env -i PATH=/opt/venv/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

case "${1:-}" in
  build) build ;;
  run)
    shift
    (($#)) || { echo "usage: $0 run CMD..." >&2; exit 2; }
    run "$@"
    ;;
  *)
    echo "usage: $0 build | run CMD..." >&2
    exit 2
    ;;
esac
