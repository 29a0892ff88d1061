#!/usr/bin/env bash
# Installs the dalle_frame satellite on Raspberry Pi OS trixie or bookworm (64-bit or 32-bit),
# from a checkout of the repository. Safe to run again: it updates the program and the systemd
# unit and keeps your config and token.
#
#   sudo pi_satellite/install.sh [--url URL] [--no-start] [--boot-dir DIR] [--system-packages]
#   sudo pi_satellite/install.sh --uninstall [--purge] [--boot-dir DIR]
#
#   --url URL            Home Assistant's address, e.g. http://homeassistant.local:8123
#   --no-start           install and enable the service, but do not start it now
#   --boot-dir DIR       the folder holding config.txt (default /boot/firmware, else /boot)
#   --system-packages    numpy, Pillow, PyYAML and cffi from Debian instead of PyPI's wheels
#                        (always so on 32-bit, where PyPI has no wheels for them)
#   --uninstall          remove the service, program, user and boot-config lines it added;
#                        keeps /etc/dalle-frame (config and token) unless --purge is given
#
# What it changes: turns SPI and I2C on and adds dtoverlay=spi0-0cs to config.txt (inky drives
# the panel's chip select itself), installs Debian packages (python3-venv, python3-spidev,
# libportaudio2; on 32-bit also python3-numpy, python3-pil, ...), creates the service user
# "dalle-frame" in the groups gpio, spi, i2c and audio, a virtual environment in
# /opt/dalle-frame/venv, the config /etc/dalle-frame/satellite.yaml (only if missing), the token
# file /etc/dalle-frame/token (mode 0600; asked for on a terminal, never taken as an argument),
# then installs, enables and starts dalle-frame-satellite.service.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
prefix=/opt/dalle-frame
config_dir=/etc/dalle-frame
config=$config_dir/satellite.yaml
token=$config_dir/token
unit_name=dalle-frame-satellite.service
unit=/etc/systemd/system/$unit_name
udev_rule=/etc/udev/rules.d/60-dalle-frame.rules
user=dalle-frame
groups=(gpio spi i2c audio)
marker="dalle_frame satellite"
min_free_mb=700

url=""
start=1
boot_dir=""
system_packages=0
action=install
purge=0
reboot_needed=0
arch=""
codename=""
apt_updated=0

log() { printf '\033[1m[dalle-frame]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

parse_args() {
  while (($#)); do
    case "$1" in
      --url) [[ $# -ge 2 ]] || die "--url needs a value"; url=$2; shift 2 ;;
      --no-start) start=0; shift ;;
      --boot-dir) [[ $# -ge 2 ]] || die "--boot-dir needs a folder"; boot_dir=$2; shift 2 ;;
      --system-packages) system_packages=1; shift ;;
      --uninstall) action=uninstall; shift ;;
      --purge) purge=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  if [[ -n $url && ! $url =~ ^https?://[A-Za-z0-9._-]+(:[0-9]{1,5})?/?$ ]]; then
    die "--url must look like http://homeassistant.local:8123"
  fi
  if ((purge)) && [[ $action != uninstall ]]; then
    die "--purge goes with --uninstall"
  fi
}

# --- what this system is --------------------------------------------------------------------

os_field() {
  # $1: a field of /etc/os-release; prints its value
  (
    # shellcheck disable=SC1091  # the system's own file
    . /etc/os-release 2>/dev/null || true
    eval "printf '%s' \"\${$1:-}\""
  )
}

check_system() {
  (($(id -u) == 0)) || die "run as root: sudo $0"
  [[ -f $repo/requirements/satellite.txt ]] ||
    die "run this script from a checkout of the repository (requirements/ is missing)"
  codename=$(os_field VERSION_CODENAME)
  case "$codename" in
    trixie | bookworm) ;;
    buster | bullseye)
      die "Raspberry Pi OS $codename is too old (Python 3.9 or older; the satellite needs 3.11 or newer): install Raspberry Pi OS trixie (or bookworm) with Raspberry Pi Imager" ;;
    *) log "warning: made for Raspberry Pi OS trixie and bookworm; this is '${codename:-unknown}'" ;;
  esac
  command -v python3 >/dev/null || die "python3 is missing: sudo apt install python3"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "the satellite needs Python 3.11 or newer; this system has $(python3 --version)"
  arch=$(dpkg --print-architecture 2>/dev/null) ||
    die "dpkg is missing: the installer needs Raspberry Pi OS (or another Debian)"
  case "$(uname -m)" in
    armv6l)
      die "this is an ARMv6 board (Pi 1 or Pi Zero W): too slow for the satellite and without wheels for its libraries; use a Pi Zero 2 W, 3, 4 or 5" ;;
  esac
  case "$arch" in
    arm64 | amd64) ;;
    armhf)
      ((system_packages)) || log "32-bit system: numpy, Pillow, PyYAML and cffi come from Debian (PyPI has no wheels for armhf)"
      system_packages=1 ;;
    *) die "unsupported architecture $arch: use 64-bit (arm64) or 32-bit (armhf) Raspberry Pi OS" ;;
  esac
  local free_mb
  free_mb=$(df -Pm / | awk 'NR == 2 { print $4 }')
  ((free_mb >= min_free_mb)) ||
    die "only $free_mb MB free on /; the installer needs about $min_free_mb MB: free some space (sudo apt clean) and run it again"
}

find_boot_dir() {
  if [[ -z $boot_dir ]]; then
    boot_dir=/boot/firmware
    [[ -f $boot_dir/config.txt || ! -f /boot/config.txt ]] || boot_dir=/boot
  fi
}

# --- SPI, I2C and the chip select overlay ---------------------------------------------------

config_has() {
  # $1: a config.txt line (extended regex, without ^...$)
  grep -Eq "^[[:space:]]*$1[[:space:]]*$" "$boot_dir/config.txt"
}

add_boot_lines() {
  # Appends lines in a block marked as ours under [all], so --uninstall can take it out again.
  {
    printf '\n# %s (begin): added by pi_satellite/install.sh\n[all]\n' "$marker"
    printf '%s\n' "$@"
    printf '# %s (end)\n' "$marker"
  } >>"$boot_dir/config.txt"
  reboot_needed=1
}

enable_interfaces() {
  find_boot_dir
  if [[ ! -f $boot_dir/config.txt ]]; then
    [[ -e /dev/spidev0.0 ]] && {
      log "warning: no $boot_dir/config.txt, but SPI is on (/dev/spidev0.0): leaving the boot configuration alone"
      return 0
    }
    die "this does not look like a Raspberry Pi: there is no $boot_dir/config.txt and SPI is off (no /dev/spidev0.0), and the Inky Impression needs SPI. On Raspberry Pi OS the file is /boot/firmware/config.txt; if yours is elsewhere, pass --boot-dir"
  fi
  local wanted=()
  if command -v raspi-config >/dev/null 2>&1; then
    local interface
    for interface in spi i2c; do
      # get_<interface> prints 0 when the interface is already on
      if [[ $(raspi-config nonint "get_$interface") != 0 ]]; then
        log "turning $interface on (raspi-config)"
        raspi-config nonint "do_$interface" 0
        reboot_needed=1
      fi
    done
  else
    log "no raspi-config: setting SPI and I2C in $boot_dir/config.txt"
    config_has 'dtparam=spi=on' || wanted+=(dtparam=spi=on)
    config_has 'dtparam=i2c_arm=on' || wanted+=(dtparam=i2c_arm=on)
  fi
  # inky drives the panel's chip select itself; the kernel must not claim GPIO 8 for SPI.
  config_has 'dtoverlay=spi0-0cs' || wanted+=(dtoverlay=spi0-0cs)
  if ((${#wanted[@]})); then
    log "adding ${wanted[*]} to $boot_dir/config.txt"
    add_boot_lines "${wanted[@]}"
  else
    log "SPI, I2C and the chip select overlay are already set in $boot_dir/config.txt"
  fi
}

# --- Debian packages ------------------------------------------------------------------------

apt_has() {
  # $1: a package; true when the package lists offer it
  local version
  version=$(apt_version "$1")
  [[ -n $version && $version != "(none)" ]]
}

apt_version() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p'
}

apt_update() {
  ((apt_updated)) && return 0
  log "updating the package lists"
  apt-get update -q >&2
  apt_updated=1
}

apt_install() {
  local package missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    log "Debian packages present: $*"
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  # Package lists older than the mirror give 404s: update them and try once more.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2; then
    ((apt_updated)) && die "apt-get could not install ${missing[*]} (see above)"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >&2 || die "apt-get could not install ${missing[*]} (see above)"
  fi
}

# The PyPI names that come from Debian instead (filled in by choose_packages), and the extra
# pip options.
from_debian=()
pip_options=(--only-binary=:all:)

choose_packages() {
  # Every Pi: spidev has no wheels on PyPI (it would compile), so it comes from Debian.
  local packages=(python3-venv python3-spidev libportaudio2) gpiod_debian=0
  from_debian=(spidev)
  [[ -n $(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null) ]] || apt_update
  if ((system_packages)); then
    packages+=(python3-numpy python3-pil python3-yaml python3-cffi)
    from_debian+=(numpy pillow pyyaml cffi pycparser)
    if apt_has python3-soxr; then
      packages+=(python3-soxr)
      from_debian+=(soxr)
    elif [[ $arch == armhf ]]; then
      # No wheel and no Debian package: the satellite resamples with its own numpy filter.
      from_debian+=(soxr)
      log "no python3-soxr on $codename: the microphone is resampled with numpy instead"
    fi
  fi
  if [[ $arch == armhf ]]; then
    # gpiod has no armhf wheels. Debian's python3-libgpiod has the 2.x API from trixie on;
    # bookworm's is 1.6, so there it is built from PyPI's source (the only compiler use).
    if apt_has python3-libgpiod && [[ $(apt_version python3-libgpiod) =~ ^2\. ]]; then
      packages+=(python3-libgpiod)
      from_debian+=(gpiod)
      gpiod_debian=1
    fi
    if ((!gpiod_debian)); then
      log "building gpiod from source (no wheel for armhf): installing a compiler"
      packages+=(build-essential python3-dev)
      pip_options+=(--no-binary=gpiod)
    fi
  fi
  apt_install "${packages[@]}"
}

# --- the service user and its groups --------------------------------------------------------

ensure_groups() {
  # Raspberry Pi OS has these groups and gives them the devices; plain Debian lacks some.
  local group rules=()
  for group in "${groups[@]}"; do
    getent group "$group" >/dev/null && continue
    log "creating the missing group $group"
    groupadd --system "$group"
    case "$group" in
      gpio) rules+=('SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"') ;;
      spi) rules+=('SUBSYSTEM=="spidev", GROUP="spi", MODE="0660"') ;;
      i2c) rules+=('SUBSYSTEM=="i2c-dev", GROUP="i2c", MODE="0660"') ;;
    esac
  done
  if ((${#rules[@]})); then
    log "writing $udev_rule (device access for the new groups)"
    mkdir -p "$(dirname "$udev_rule")"
    {
      echo "# $marker: device access for groups this system lacked (pi_satellite/install.sh)"
      printf '%s\n' "${rules[@]}"
    } >>"$udev_rule"
    if command -v udevadm >/dev/null 2>&1 && [[ -d /run/udev ]]; then
      { udevadm control --reload-rules && udevadm trigger; } || true
    fi
  fi
}

create_user() {
  ensure_groups
  local joined
  joined=$(IFS=,; echo "${groups[*]}")
  if ! id "$user" >/dev/null 2>&1; then
    log "creating the service user $user (groups $joined)"
    useradd --system --user-group --no-create-home --home-dir /var/lib/dalle-frame \
      --shell /usr/sbin/nologin --groups "$joined" "$user"
  else
    usermod --append --groups "$joined" "$user"
  fi
}

# --- the program ----------------------------------------------------------------------------

pip_requirements() {
  # The pinned requirements less what comes from Debian; prints the file's path.
  local file=$1 pattern
  pattern=$(IFS='|'; echo "${from_debian[*]}")
  grep -v -i -E "^(${pattern})==" "$repo/requirements/satellite.txt" >"$file"
  echo "$file"
}

install_program() {
  log "installing the program in $prefix/venv"
  mkdir -p "$prefix"
  # System site packages: Debian's python3-spidev (and on 32-bit numpy, Pillow, ...).
  [[ -x $prefix/venv/bin/python ]] || python3 -m venv --system-site-packages "$prefix/venv"
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: the folder is this run's
  trap "rm -rf '$work'" EXIT
  local pip=("$prefix/venv/bin/python" -m pip install --disable-pip-version-check --no-input
    -q "${pip_options[@]}")
  "${pip[@]}" -r "$(pip_requirements "$work/requirements.txt")" ||
    die "pip could not install the satellite's libraries (see above)"
  # A copy: building in the checkout would leave root-owned build files in it.
  cp -r "$here" "$work/pi_satellite"
  rm -rf "$work/pi_satellite/build" "$work"/pi_satellite/*.egg-info
  "${pip[@]}" --no-deps --upgrade --force-reinstall "$work/pi_satellite" ||
    die "pip could not install the satellite (see above)"
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

check_install() {
  # Runs the installed satellite's --check as the service user: config, token, Home Assistant.
  local status=0
  runuser -u "$user" -- "$prefix/venv/bin/python" -m dalle_frame_satellite \
    --config "$config" --check || status=$?
  case "$status" in
    0) ;;
    2)
      log "fix $config (or the token file $token), then: sudo systemctl restart dalle-frame-satellite"
      start=0 ;;
    *) log "warning: Home Assistant did not accept the satellite yet (see above); the service keeps trying once started" ;;
  esac
}

systemd_running() {
  [[ -d /run/systemd/system ]]
}

install_unit() {
  log "installing $unit"
  mkdir -p "$(dirname "$unit")"
  install -m 0644 "$here/$unit_name" "$unit"
  if ! systemd_running; then
    # A chroot or a container: enable works offline (it only links the unit).
    systemctl enable "$unit_name"
    log "systemd is not running here (not PID 1): the service is installed and enabled and starts at the next boot"
    return 0
  fi
  systemctl daemon-reload
  systemctl enable "$unit_name"
  if [[ ! -s $token ]]; then
    log "the token file $token is empty: put the token in it, then"
    log "  sudo systemctl restart dalle-frame-satellite"
  elif ((start == 0)); then
    log "not starting now: sudo systemctl start dalle-frame-satellite"
  elif ((reboot_needed)); then
    log "SPI/I2C were just turned on: reboot now (sudo reboot); the satellite starts at boot"
  else
    systemctl restart "$unit_name"
    log "started; follow it with: journalctl -fu dalle-frame-satellite"
  fi
}

do_install() {
  check_system
  enable_interfaces
  choose_packages
  create_user
  install_program
  write_config
  write_token
  check_install
  install_unit
  if ((reboot_needed)); then
    log "done; reboot for the boot configuration to take effect: sudo reboot"
  else
    log "done"
  fi
}

# --- uninstall ------------------------------------------------------------------------------

do_uninstall() {
  (($(id -u) == 0)) || die "run as root: sudo $0 --uninstall"
  log "removing the dalle_frame satellite"
  if [[ -f $unit ]]; then
    if systemd_running; then
      systemctl disable --now "$unit_name" || true
    else
      systemctl disable "$unit_name" || true
    fi
    rm -f "$unit"
    ! systemd_running || systemctl daemon-reload
  fi
  rm -rf "$prefix" /var/lib/dalle-frame "$udev_rule"
  if id "$user" >/dev/null 2>&1; then
    userdel "$user" || log "warning: could not remove the user $user"
  fi
  find_boot_dir
  if [[ -f $boot_dir/config.txt ]] && grep -q "^# $marker (begin)" "$boot_dir/config.txt"; then
    log "removing this installer's lines from $boot_dir/config.txt (takes effect at the next boot)"
    sed -i "/^# $marker (begin)/,/^# $marker (end)/d" "$boot_dir/config.txt"
    # The blank line the block began with.
    sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$boot_dir/config.txt"
  fi
  if ((purge)); then
    rm -rf "$config_dir"
    log "removed $config_dir (config and token)"
  else
    log "kept $config_dir (config and token); --purge removes it"
  fi
  log "left alone: the Debian packages (python3-spidev, libportaudio2, ...) and SPI/I2C as raspi-config set them"
}

main() {
  parse_args "$@"
  if [[ $action == uninstall ]]; then
    do_uninstall
  else
    do_install
  fi
}

main "$@"
