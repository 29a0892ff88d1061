#!/usr/bin/env bash
# Installs the dalle_frame satellite on Raspberry Pi OS Bookworm, from a checkout of the
# repository. Safe to run again: it updates the program and the systemd unit and keeps your
# config and token.
#
#   sudo pi_satellite/install.sh [--url http://homeassistant.local:8123] [--no-start]
#
# What it does: enables SPI and I2C, installs system packages, creates the service user
# "dalle-frame", a virtual environment in /opt/dalle-frame/venv with the package, the config
# /etc/dalle-frame/satellite.yaml (from satellite.example.yaml, only if missing) and the token
# file /etc/dalle-frame/token (mode 0600; asked for on a terminal, never taken as an argument),
# then installs, enables and starts dalle-frame-satellite.service.
#
# DALLE_FRAME_ROOT installs under another root folder (used by the tests, with stub commands).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
root=${DALLE_FRAME_ROOT:-}
prefix=$root/opt/dalle-frame
config_dir=$root/etc/dalle-frame
config=$config_dir/satellite.yaml
token=$config_dir/token
unit=$root/etc/systemd/system/dalle-frame-satellite.service
boot_config=$root/boot/firmware/config.txt
user=dalle-frame
apt_packages=(python3-venv python3-dev libportaudio2 libopenblas0 python3-lgpio)

url=""
start=1
reboot_needed=0

log() { printf '\033[1m[dalle-frame]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

parse_args() {
  while (($#)); do
    case "$1" in
      --url) [[ $# -ge 2 ]] || die "--url needs a value"; url=$2; shift 2 ;;
      --no-start) start=0; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  if [[ -n $url && ! $url =~ ^https?://[A-Za-z0-9._-]+(:[0-9]{1,5})?/?$ ]]; then
    die "--url must look like http://homeassistant.local:8123"
  fi
}

check_system() {
  [[ -n $root || $(id -u) -eq 0 ]] || die "run as root: sudo $0"
  [[ -f $repo/requirements/satellite.txt ]] ||
    die "run this script from a checkout of the repository (requirements/ is missing)"
  if [[ -r $root/etc/os-release ]] && ! grep -q 'VERSION_CODENAME=bookworm' "$root/etc/os-release"; then
    log "warning: made for Raspberry Pi OS Bookworm; this system may differ"
  fi
}

enable_interfaces() {
  if ! command -v raspi-config >/dev/null 2>&1; then
    log "warning: raspi-config not found; enable SPI and I2C yourself"
    return 0
  fi
  local interface
  for interface in spi i2c; do
    # get_<interface> prints 0 when the interface is already enabled
    if [[ $(raspi-config nonint "get_$interface") != 0 ]]; then
      log "enabling $interface"
      raspi-config nonint "do_$interface" 0
      reboot_needed=1
    fi
  done
  # inky drives the panel's chip select itself; the kernel must not claim GPIO 8 for SPI.
  if [[ -f $boot_config ]] && ! grep -q '^dtoverlay=spi0-0cs' "$boot_config"; then
    log "adding dtoverlay=spi0-0cs to $boot_config (inky drives chip select itself)"
    printf '\n[all]\n# dalle_frame satellite: inky drives the SPI chip select itself\n%s\n' \
      'dtoverlay=spi0-0cs' >>"$boot_config"
    reboot_needed=1
  fi
}

install_packages() {
  local package missing=()
  for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    log "system packages present"
    return 0
  fi
  log "installing system packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

create_user() {
  local group groups=()
  for group in gpio spi i2c audio; do
    getent group "$group" >/dev/null && groups+=("$group")
  done
  local joined
  joined=$(IFS=,; echo "${groups[*]}")
  if ! id "$user" >/dev/null 2>&1; then
    log "creating the service user $user"
    useradd --system --no-create-home --home-dir /var/lib/dalle-frame \
      --shell /usr/sbin/nologin ${joined:+--groups "$joined"} "$user"
  elif [[ -n $joined ]]; then
    usermod --append --groups "$joined" "$user"
  fi
}

install_program() {
  log "installing the program in $prefix/venv"
  mkdir -p "$prefix"
  # System site packages: python3-lgpio (GPIO on a Pi 5) comes from apt.
  [[ -x $prefix/venv/bin/python ]] || python3 -m venv --system-site-packages "$prefix/venv"
  "$prefix/venv/bin/python" -m pip install --disable-pip-version-check -q \
    -r "$repo/requirements/satellite.txt"
  "$prefix/venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps \
    --upgrade --force-reinstall "$here"
}

write_config() {
  mkdir -p "$config_dir"
  if [[ -f $config ]]; then
    log "keeping your config $config"
  else
    log "writing the config template $config"
    install -m 0640 "$here/satellite.example.yaml" "$config"
    if [[ -n $url ]]; then
      sed -i "s|^  url: .*|  url: ${url%/}|" "$config"
    fi
  fi
  chown "root:$user" "$config"
  chmod 0640 "$config"
}

write_token() {
  if [[ ! -s $token ]]; then
    (umask 077 && : >"$token")
    if [[ -t 0 ]]; then
      log "paste a Home Assistant long-lived access token (profile > Security), then Enter:"
      local value
      IFS= read -rs value || true
      echo >&2
      printf '%s\n' "$value" >"$token"
    fi
  fi
  # Always (re-)enforce: only the service user may read the token.
  chown "$user:$user" "$token"
  chmod 0600 "$token"
}

install_unit() {
  log "installing $unit"
  mkdir -p "$(dirname "$unit")"
  install -m 0644 "$here/dalle-frame-satellite.service" "$unit"
  systemctl daemon-reload
  systemctl enable dalle-frame-satellite.service
  if ((start == 0)); then
    log "not starting (--no-start): sudo systemctl start dalle-frame-satellite"
  elif [[ ! -s $token ]]; then
    log "the token file $token is empty: put the token in it, then"
    log "  sudo systemctl restart dalle-frame-satellite"
  elif ((reboot_needed)); then
    log "SPI/I2C were just enabled: reboot now (sudo reboot); the satellite starts at boot"
  else
    systemctl restart dalle-frame-satellite.service
    log "started; follow it with: journalctl -fu dalle-frame-satellite"
  fi
}

main() {
  parse_args "$@"
  check_system
  enable_interfaces
  install_packages
  create_user
  install_program
  write_config
  write_token
  if ! "$prefix/venv/bin/python" -m dalle_frame_satellite --config "$config" --check; then
    log "fix $config (or the token file), then: sudo systemctl restart dalle-frame-satellite"
    start=0
  fi
  install_unit
}

main "$@"
