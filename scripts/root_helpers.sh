#!/usr/bin/env bash
# Helpers shared by the scripts that build Debian roots and images (sourced, not run): running
# as root, running a command in a root while it is built, trusting the host's extra CAs there.

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
