"""install.sh: shellcheck clean, and safe to run twice (run under a scratch root with stubs).

The system commands it drives (apt-get, raspi-config, systemctl, useradd, chown, python3's
venv and pip) cannot run here; small stubs record their calls instead, so the test checks
what the installer does, and that a second run keeps the config and the token.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
INSTALL = REPO / "pi_satellite" / "install.sh"
UNIT = REPO / "pi_satellite" / "dalle-frame-satellite.service"
EXAMPLE = REPO / "pi_satellite" / "satellite.example.yaml"

STUBS = {
    # Every stub appends its name and arguments to $STUB_LOG; state lives in $STUB_STATE.
    "apt-get": 'touch "$STUB_STATE/apt-installed"',
    "dpkg-query": '[[ -e "$STUB_STATE/apt-installed" ]] && printf "install ok installed"',
    "raspi-config": """
case "$2" in
  get_*) [[ -e "$STUB_STATE/${2#get_}" ]] && echo 0 || echo 1 ;;
  do_*) touch "$STUB_STATE/${2#do_}" ;;
esac""",
    "systemctl": "true",
    "useradd": 'touch "$STUB_STATE/user"',
    "usermod": "true",
    "id": '[[ "$1" == -u ]] && echo 1000 && exit 0; [[ -e "$STUB_STATE/user" ]]',
    "getent": '[[ "$2" != spi ]]',
    "chown": "true",
    "python3": """
if [[ "$1 $2" == "-m venv" ]]; then
  venv="${!#}"; mkdir -p "$venv/bin"
  printf '#!/usr/bin/env bash\\necho "venv-python $*" >>"$STUB_LOG"\\n' >"$venv/bin/python"
  chmod +x "$venv/bin/python"
fi""",
}


def make_stubs(folder: Path) -> None:
    """Write the stub commands."""
    folder.mkdir()
    for name, body in STUBS.items():
        path = folder / name
        path.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >>"$STUB_LOG"\n{body}\n')
        path.chmod(0o755)


def run_install(tmp_path: Path, *args: str) -> tuple[list[str], str]:
    """Run install.sh under the scratch root; return (stub calls, its log)."""
    log = tmp_path / "calls.log"
    log.write_text("")
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'stubs'}:{os.environ['PATH']}",
        "DALLE_FRAME_ROOT": str(tmp_path / "root"),
        "STUB_LOG": str(log),
        "STUB_STATE": str(tmp_path / "state"),
    }
    result = subprocess.run(
        ["bash", str(INSTALL), *args],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines(), result.stderr


def test_install_script_is_shellcheck_clean() -> None:
    """shellcheck finds nothing."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/setup.sh debian installs it)")
    result = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_install_twice(tmp_path: Path) -> None:
    """First run sets everything up; the second keeps config and token and restarts."""
    make_stubs(tmp_path / "stubs")
    (tmp_path / "state").mkdir()
    root = tmp_path / "root"
    (root / "boot" / "firmware").mkdir(parents=True)
    boot_config = root / "boot" / "firmware" / "config.txt"
    boot_config.write_text("dtparam=audio=on\n[all]\n")
    config = root / "etc" / "dalle-frame" / "satellite.yaml"
    token = root / "etc" / "dalle-frame" / "token"
    unit = root / "etc" / "systemd" / "system" / "dalle-frame-satellite.service"

    calls, log = run_install(tmp_path, "--url", "http://ha.example:8123")
    assert "raspi-config nonint do_spi 0" in calls
    assert "raspi-config nonint do_i2c 0" in calls
    assert boot_config.read_text().count("dtoverlay=spi0-0cs") == 1
    assert any(c.startswith("apt-get install") and "libportaudio2" in c for c in calls)
    assert any(c.startswith("useradd --system") and c.endswith("dalle-frame") for c in calls)
    assert any("--groups gpio,i2c,audio" in c for c in calls)  # spi is missing on this "system"
    venv_python = root / "opt" / "dalle-frame" / "venv" / "bin" / "python"
    assert venv_python.exists()
    pip_requirements = f"-r {REPO / 'requirements' / 'satellite.txt'}"
    assert any(c.startswith("venv-python -m pip install") and pip_requirements in c for c in calls)
    assert any(
        c.startswith("venv-python -m dalle_frame_satellite") and "--check" in c for c in calls
    )
    assert config.read_text() == EXAMPLE.read_text().replace(
        "url: http://homeassistant.local:8123", "url: http://ha.example:8123"
    )
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert token.read_text() == "" and stat.S_IMODE(token.stat().st_mode) == 0o600
    assert unit.read_text() == UNIT.read_text()
    assert "systemctl enable dalle-frame-satellite.service" in calls
    assert not any(c.startswith("systemctl restart") for c in calls)
    assert "token file" in log and "is empty" in log

    # The user puts the token in (carelessly readable) and edits the config; run again.
    token.write_text("secret-token\n")
    token.chmod(0o644)
    config.write_text(config.read_text().replace("seconds: 3", "seconds: 4"))
    edited = config.read_text()
    calls, log = run_install(tmp_path)
    assert not any("do_spi" in c or "do_i2c" in c or c.startswith("apt-get") for c in calls)
    assert not any(c.startswith("useradd") for c in calls)
    assert boot_config.read_text().count("dtoverlay=spi0-0cs") == 1
    assert config.read_text() == edited
    assert token.read_text() == "secret-token\n"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600  # enforced again
    assert "systemctl restart dalle-frame-satellite.service" in calls
    assert "secret-token" not in log


def test_install_refuses_bad_options(tmp_path: Path) -> None:
    """Unknown options and malformed URLs stop before anything is changed."""
    for args, message in [
        (["--frobnicate"], "unknown option --frobnicate"),
        (["--url", "ha.local; rm -rf /"], "--url must look like http://"),
    ]:
        result = subprocess.run(
            ["bash", str(INSTALL), *args],
            env={**os.environ, "DALLE_FRAME_ROOT": str(tmp_path)},
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 1
        assert message in result.stderr
    assert list(tmp_path.iterdir()) == []
