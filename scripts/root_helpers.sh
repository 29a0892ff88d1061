#!/usr/bin/env bash
# Helpers shared by the scripts that build Debian roots and images (sourced, not run): running
# as root, running a command in a root while it is built, trusting the host's extra CAs there,
# running arm64 programs under emulation.

# as_root CMD...: run CMD as root (directly when already root, else through sudo).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# in_chroot ROOT CMD...: run CMD in ROOT with a clean environment (no binds: build steps only).
in_chroot() {
  as_root chroot "$1" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${@:2}"
}

# trust_host_certificates ROOT: copy the host's extra CA certificates into ROOT. The
# registries' TLS may go through a proxy whose CA only the host trusts; ROOT's
# update-ca-certificates (or its ca-certificates package's install) then trusts it too.
trust_host_certificates() {
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    as_root mkdir -p "$1/usr/local/share/ca-certificates"
    as_root cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"
  fi
}

# enable_emulation: let this x86 machine run arm64 programs through Debian's qemu-user-static
# (registered with a fixed interpreter, so it works inside a chroot). Needs a `log` function.
enable_emulation() {
  if ! command -v qemu-aarch64-static >/dev/null || ! command -v update-binfmts >/dev/null; then
    log "installing qemu-user-static and binfmt-support (Debian packages)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      qemu-user-static binfmt-support debootstrap >/dev/null
  fi
  [[ -e /proc/sys/fs/binfmt_misc/register ]] ||
    as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || as_root update-binfmts --enable qemu-aarch64
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
    log "binfmt_misc does not run arm64 programs here (qemu-aarch64 is not enabled)"
    return 1
  }
}
