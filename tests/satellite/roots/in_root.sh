#!/usr/bin/env bash
# Runs inside a Debian root (scripts/pi_roots.sh run): install.sh for real twice, the unit
# through systemd-analyze verify, the installed satellite's --check against the stand-in Home
# Assistant, the installed satellite showing its picture, then --uninstall. Fails on the first
# step that goes wrong.
#
#   in_root.sh WORK_DIR HA_URL [INSTALL OPTIONS...]     (the token in $TEST_TOKEN)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
install_sh=$(cd "$here/../../.." && pwd)/pi_satellite/install.sh
work=$1 url=$2
shift 2
unit=/etc/systemd/system/dalle-frame-satellite.service
venv_python=/opt/dalle-frame/venv/bin/python

step() { printf '== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*"; exit 1; }

step "no boot folder and no SPI: refused before anything changes"
if bash "$install_sh" --boot-dir "$work/none" </dev/null >"$work/refused.log" 2>&1; then
  fail "installed without SPI"
fi
grep -q "this does not look like a Raspberry Pi" "$work/refused.log" || fail "$(cat "$work/refused.log")"
[[ ! -e /opt/dalle-frame && ! -e /etc/dalle-frame ]] || fail "the refusal changed the system"
echo "refused: $(grep -o 'there is no [^,]*' "$work/refused.log")"

step "install (first run, no token yet)"
bash "$install_sh" --url "$url" --boot-dir "$work/boot" "$@" </dev/null
[[ -x $venv_python ]] || fail "no venv python"
[[ -L /etc/systemd/system/multi-user.target.wants/dalle-frame-satellite.service ]] ||
  fail "the unit is not enabled"
[[ $(stat -c %a /etc/dalle-frame/token) == 600 ]] || fail "token mode"
echo "groups of dalle-frame: $(id -nG dalle-frame)"
cp "$work/boot/config.txt" "$work/config.after-first.txt"

step "the token goes in; install again"
printf '%s\n' "$TEST_TOKEN" >/etc/dalle-frame/token
chmod 0644 /etc/dalle-frame/token # carelessly readable: the installer restricts it again
sed -i 's/^  seconds: 3/  seconds: 4/' /etc/dalle-frame/satellite.yaml
bash "$install_sh" --boot-dir "$work/boot" "$@" </dev/null
grep -q '^  seconds: 4' /etc/dalle-frame/satellite.yaml || fail "the config was not kept"
[[ $(stat -c %a /etc/dalle-frame/token) == 600 ]] || fail "token mode after the second run"
cp "$work/boot/config.txt" "$work/config.after-second.txt"

step "systemd-analyze verify"
systemd-analyze verify "$unit"
echo "verify ok"

step "the installed satellite's --check"
runuser -u dalle-frame -- "$venv_python" -m dalle_frame_satellite \
  --config /etc/dalle-frame/satellite.yaml --check

step "the installed satellite shows Home Assistant's picture (file display, mock pins)"
sed -e 's|^  type: inky|  type: file\n  path: '"$work"'/frame.png|' -e 's|pin_factory: auto|pin_factory: mock|' \
  -e 's|^state_file: .*|state_file: '"$work"'/state.json|' /etc/dalle-frame/satellite.yaml >"$work/run.yaml"
"$venv_python" -m dalle_frame_satellite --config "$work/run.yaml" &
satellite=$!
for _ in $(seq 100); do
  [[ -s $work/frame.png ]] && break
  sleep 0.3
done
kill -TERM "$satellite"
wait "$satellite" || fail "the satellite exited with status $?"
[[ -s $work/frame.png ]] || fail "no picture in 30 s"
echo "picture shown"

step "where the libraries come from"
"$venv_python" - <<'PY'
import importlib
import platform

print(f"machine {platform.machine()}, Python {platform.python_version()}")
for name in ("numpy", "PIL", "aiohttp", "yaml", "spidev", "gpiod", "soxr", "sounddevice", "inky"):
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        print(f"{name}: missing ({err})")
        continue
    origin = "debian" if "/usr/lib/python3/" in (module.__file__ or "") else "venv"
    print(f"{name} {getattr(module, '__version__', '?')} from {origin}")
PY

step "uninstall"
bash "$install_sh" --uninstall --boot-dir "$work/boot"
[[ ! -e /opt/dalle-frame && ! -e $unit ]] || fail "program or unit left behind"
! id dalle-frame >/dev/null 2>&1 || fail "the user is still there"
[[ -f /etc/dalle-frame/satellite.yaml ]] || fail "uninstall removed the config without --purge"
step "all steps passed"
