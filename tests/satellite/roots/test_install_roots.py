"""install.sh run for real in Debian bookworm and trixie roots (scripts/pi_roots.sh, amd64).

Each run starts from a clean root: apt installs the Debian packages, pip the pinned wheels,
the unit goes through `systemd-analyze verify`, the installed satellite's --check logs in to
the stand-in Home Assistant on 127.0.0.1 (the root shares the host's loopback), and
--uninstall takes it all out again. config.txt lives in a fake boot folder (--boot-dir);
raspi-config does not exist off a Pi, so the bookworm run puts a stub of it on PATH (the
trixie run has none and the installer edits config.txt itself).

Slow (about a minute per root with a warm cache, several on a fresh machine) and needs root:
runs only with DALLE_FRAME_PI_ROOTS=1 (scripts/test.sh sets it). DALLE_FRAME_PI_ROOTS_ARM64=1
adds a trixie arm64 root under qemu-user (a Pi's own aarch64 wheels; far slower, by hand only).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.satellite.conftest import TOKEN
from tests.satellite.fake_ha import palette_png

REPO = Path(__file__).parents[3]
PI_ROOTS = REPO / "scripts" / "pi_roots.sh"
IN_ROOT = Path(__file__).with_name("in_root.sh")
REQUIREMENTS = REPO / "requirements" / "satellite.txt"
"""The versions the installer's venv must report (its pins)."""
BOOT_CONFIG = "# Raspberry Pi OS's own lines\ndtparam=audio=on\ncamera_auto_detect=1\n\n[all]\n"
RASPI_CONFIG_STUB = """#!/bin/sh
# raspi-config stand-in (it exists only on a Pi): records calls, sets dtparam like the real one.
echo "raspi-config $*" >>"$RASPI_CONFIG_LOG"
case "$2" in
  get_spi) grep -q '^dtparam=spi=on' "$BOOT/config.txt" && echo 0 || echo 1 ;;
  get_i2c) grep -q '^dtparam=i2c_arm=on' "$BOOT/config.txt" && echo 0 || echo 1 ;;
  do_spi) echo dtparam=spi=on >>"$BOOT/config.txt" ;;
  do_i2c) echo dtparam=i2c_arm=on >>"$BOOT/config.txt" ;;
esac
"""

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("DALLE_FRAME_PI_ROOTS") != "1",
        reason="slow: set DALLE_FRAME_PI_ROOTS=1 (scripts/test.sh does)",
    ),
    pytest.mark.skipif(
        os.geteuid() != 0 and shutil.which("sudo") is None,
        reason="needs root or sudo (debootstrap, unshare, chroot)",
    ),
    pytest.mark.timeout(3600),
]
ARM64 = pytest.mark.skipif(
    os.environ.get("DALLE_FRAME_PI_ROOTS_ARM64") != "1",
    reason="arm64 under qemu-user is slow: set DALLE_FRAME_PI_ROOTS_ARM64=1 to run it",
)


async def run_in_root(suite: str, work: Path, url: str, *options: str, env: dict) -> str:
    """Run in_root.sh in a fresh copy of the suite's root; return its output."""
    pairs = [f"{key}={value}" for key, value in env.items()]
    process = await asyncio.create_subprocess_exec(
        str(PI_ROOTS), "run", suite, "env", *pairs, "bash", str(IN_ROOT), str(work), url,
        *options, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    return text


@pytest.mark.parametrize(
    ("suite", "options", "raspi_config"),
    [
        ("bookworm", ["--system-packages"], True),
        ("trixie", [], False),
        pytest.param("trixie-arm64", [], False, marks=ARM64),
    ],
    ids=["bookworm-debian-packages-raspi-config", "trixie-wheels", "trixie-arm64-wheels"],
)
async def test_install_in_debian_root(fake_ha, suite, options, raspi_config) -> None:
    """Install twice, verify, --check against the stand-in HA, uninstall: all for real."""
    work = Path(f"/tmp/dalle-frame-pi-{suite}-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    boot = work / "boot"
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text(BOOT_CONFIG)
    env = {
        "TEST_TOKEN": TOKEN,
        # Trust the same CAs as the host (its registry traffic may pass a TLS proxy).
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
        "BOOT": str(boot),
        "RASPI_CONFIG_LOG": str(work / "raspi-config.log"),
    }
    if raspi_config:
        stubs = work / "bin"
        stubs.mkdir()
        (stubs / "raspi-config").write_text(RASPI_CONFIG_STUB)
        (stubs / "raspi-config").chmod(0o755)
        env["PATH"] = f"{stubs}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    await fake_ha.set_frame(palette_png(seed=5))
    try:
        log = await run_in_root(suite, work, fake_ha.url, *options, env=env)
        first = (work / "config.after-first.txt").read_text()
        second = (work / "config.after-second.txt").read_text()
        final = (boot / "config.txt").read_text()
        calls = (work / "raspi-config.log").read_text() if raspi_config else ""
    finally:
        shutil.rmtree(work, ignore_errors=True)

    assert "== all steps passed" in log
    assert f"refused: there is no {work}/none/config.txt and SPI is off" in log
    assert "verify ok" in log
    machine = "aarch64" if suite.endswith("-arm64") else "x86_64"
    python = "3.11" if suite.startswith("bookworm") else "3.13"
    assert re.search(rf"^machine {machine}, Python {python}\.\d+$", log, re.MULTILINE)
    assert "picture shown" in log and "Connected to Home Assistant 2025.4.4" in log
    assert f"Home Assistant 2025.4.4 at {fake_ha.url} accepted the token" in log
    assert fake_ha.auth_attempts >= 2  # the installer's --check and the explicit one
    assert "systemd is not running here (not PID 1)" in log
    groups = re.search(r"^groups of dalle-frame: (.*)$", log, re.MULTILINE)
    assert groups and set(groups[1].split()) == {"dalle-frame", "gpio", "spi", "i2c", "audio"}
    assert TOKEN not in log
    # SPI, I2C and the chip select overlay exactly once, also after the second run.
    assert first == second
    assert first.count("dtoverlay=spi0-0cs") == 1
    assert first.count("dtparam=spi=on") == 1 and first.count("dtparam=i2c_arm=on") == 1
    if raspi_config:
        assert "raspi-config nonint do_spi 0" in calls
        assert calls.count("do_spi") == 1  # the second run found SPI on
        assert final == BOOT_CONFIG + "dtparam=spi=on\ndtparam=i2c_arm=on\n"  # raspi-config's stay
    else:
        assert "no raspi-config: setting SPI and I2C" in log
        assert final == BOOT_CONFIG  # the uninstall took its block out again
    if "--system-packages" in options:
        assert "numpy 1.24.2 from debian" in log and "PIL 9.4.0 from debian" in log
    else:
        pins = dict(
            line.split("#")[0].strip().split("==")
            for line in REQUIREMENTS.read_text().splitlines()
            if "==" in line.split("#")[0]
        )
        assert f"numpy {pins['numpy']} from venv" in log
        assert f"PIL {pins['pillow']} from venv" in log
    assert re.search(r"^spidev \S+ from debian$", log, re.MULTILINE)
