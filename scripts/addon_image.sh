#!/usr/bin/env bash
# Builds the GPU server's add-on image from addon_inference/Dockerfile with podman, as the
# Supervisor would build it for amd64, and runs podman with the project's own settings.
#
# The registry's base images cannot be pulled here, so the base is made from Debian's
# packages: `debootstrap --variant=minbase bookworm` (what HA's base-debian image is built
# on), with the host's CA certificates (the registries' TLS may go through a proxy only the
# host trusts), imported into podman. torch's CPU build comes from the host's wheel folder
# (TORCH_WHEELS, mounted into the build) where it holds one, since these machines cannot reach
# PyTorch's own index; elsewhere from that index, as the Supervisor's build does. Everything
# podman keeps (images, layers, state) lives under the cache,
# outside the checkout, so a fresh clone on a machine that built the image before reuses its
# layers and the build takes seconds. podman runs with runc (crun refuses this cgroup
# setup), cgroupfs, and the current ulimits as defaults (root here may not raise them).
#
#   scripts/addon_image.sh base         build the base image if missing
#   scripts/addon_image.sh build        build the base if missing, then the add-on image
#   scripts/addon_image.sh tag          print the add-on image's tag
#   scripts/addon_image.sh triton       build the base if missing, then Triton mode's image
#                                       (addon_inference/Dockerfile.triton, its CPU variant)
#   scripts/addon_image.sh triton-tag   print that image's tag
#   scripts/addon_image.sh podman ARGS  podman with the project's storage and settings
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${DALLE_FRAME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dalle_frame}
mirror=${DALLE_FRAME_DEBIAN_MIRROR:-http://deb.debian.org/debian}
wheels=${DALLE_FRAME_TORCH_WHEELS:-/opt/wheels}
state="$cache/podman"
base_version=1
base_tag="localhost/dalle-frame-base-debian:bookworm-$base_version"
version=$(sed -n 's/^version: "\(.*\)"$/\1/p' "$repo/addon_inference/config.yaml")
image_tag="localhost/dalle-frame-server-addon:$version"
triton_tag="localhost/dalle-frame-triton-cpu:$version"

log() { printf '\033[1m[addon-image]\033[0m %s\n' "$*" >&2; }

# shellcheck source=root_helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/root_helpers.sh"

configure() {
  # podman's settings, written each time (cheap) so a change of limits is picked up. runc may
  # not set a process limit above 32768 here (nor any limit above the current one: root has
  # no CAP_SYS_RESOURCE), and podman sets both limits unless told: the current ones, capped.
  mkdir -p "$state"
  local nproc
  nproc=$(ulimit -Hu)
  [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
  cat >"$state/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"
EOF
  cat >"$state/containers.conf" <<EOF
[containers]
default_ulimits = [
  "nofile=$(ulimit -Sn):$(ulimit -Hn)",
  "nproc=$nproc:$nproc",
]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$state/tmp"
EOF
}

podman_cmd() {
  configure
  CONTAINERS_CONF="$state/containers.conf" CONTAINERS_STORAGE_CONF="$state/storage.conf" \
    as_root podman "$@"
}

install_podman() {
  local missing=() pkg
  for pkg in podman runc debootstrap; do
    command -v "$pkg" >/dev/null || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

build_base() {
  if podman_cmd image exists "$base_tag"; then
    return 0
  fi
  local work="$state/base.partial"
  as_root rm -rf "$work"
  log "making the base image from Debian bookworm (debootstrap, about 2 minutes, once)"
  as_root debootstrap --variant=minbase bookworm "$work" "$mirror" >"$work.log" 2>&1 || {
    tail -20 "$work.log" >&2
    log "debootstrap failed; the whole log is $work.log"
    return 1
  }
  trust_host_certificates "$work"
  in_chroot "$work" sh -c 'apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null &&
    apt-get clean && rm -rf /var/lib/apt/lists/*'
  as_root tar -C "$work" -c . | podman_cmd import --change 'CMD ["/bin/bash"]' - "$base_tag" >/dev/null
  as_root rm -rf "$work" "$work.log"
  log "base image $base_tag ready"
}

# torch_arguments: build arguments that take torch's CPU wheel from the local folder where
# there is one; else the Dockerfile's TORCH_INDEX_URL (PyTorch's CPU index) decides.
torch_arguments() {
  if compgen -G "$wheels/torch-*+cpu-*.whl" >/dev/null; then
    printf '%s\n' --build-arg TORCH_WHEELS=/wheels --volume "$wheels:/wheels:ro"
  fi
}

# build_with TAG CONTEXT [ARGS...]: build TAG from CONTEXT on the base image, with torch's
# CPU wheel from the local folder where there is one, then drop what it replaced.
build_with() {
  local tag=$1 context=$2 started=$SECONDS torch
  shift 2
  install_podman
  build_base
  log "building $tag (minutes the first time)"
  mapfile -t torch < <(torch_arguments)
  podman_cmd build --format docker --network host \
    --build-arg "BUILD_FROM=$base_tag" "$@" "${torch[@]}" --tag "$tag" "$context"
  log "image $tag built in $((SECONDS - started)) s"
  prune "$tag"
}

# build_image: the add-on as the Supervisor builds it for amd64 (addon_inference/Dockerfile).
build_image() {
  build_with "$image_tag" "$repo/addon_inference" \
    --build-arg BUILD_ARCH=amd64 --build-arg ACCELERATOR=cpu
}

# build_triton_image: Dockerfile.triton from the repository root (its .dockerignore keeps
# the context to what the image copies), CPU torch and ONNX Runtime: what a GPU box builds
# but for the CUDA wheels, which are gigabytes and need a GPU to mean anything.
build_triton_image() {
  build_with "$triton_tag" "$repo" \
    --file "$repo/addon_inference/Dockerfile.triton" \
    --build-arg "BUILD_VERSION=$version" \
    --build-arg ACCELERATOR=cpu \
    --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
}

# prune TAG: drop the other versions of TAG's image and the images a rebuild left without a
# tag (each holds its own pip layers, over 1 GB); one still in use stays, with a note.
prune() {
  local keep=$1 old
  for old in $(podman_cmd images --filter "reference=${keep%:*}" --format '{{.Repository}}:{{.Tag}}'); do
    [[ $old == "$keep" ]] || podman_cmd rmi "$old" >/dev/null 2>&1 || log "kept $old (in use)"
  done
  podman_cmd image prune --force >/dev/null || log "could not prune untagged images"
}

case "${1:-}" in
  base)
    install_podman
    build_base
    ;;
  build) build_image ;;
  tag) echo "$image_tag" ;;
  triton) build_triton_image ;;
  triton-tag) echo "$triton_tag" ;;
  podman)
    shift
    podman_cmd "$@"
    ;;
  *)
    echo "usage: $0 base | build | tag | triton | triton-tag | podman ARGS..." >&2
    exit 2
    ;;
esac
