"""install.sh: shellcheck clean, its help, and refusals before anything changes.

The installer itself runs for real in Debian roots: tests/satellite/roots/.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
INSTALL = REPO / "pi_satellite" / "install.sh"
UNIT = REPO / "pi_satellite" / "dalle-frame-satellite.service"
EXAMPLE = REPO / "pi_satellite" / "satellite.example.yaml"


def test_install_script_is_shellcheck_clean() -> None:
    """shellcheck finds nothing."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/setup.sh debian installs it)")
    result = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_install_refuses_bad_options(tmp_path: Path) -> None:
    """Unknown options and malformed URLs stop before anything is changed."""
    for args, message in [
        (["--frobnicate"], "unknown option --frobnicate"),
        (["--url", "ha.local; rm -rf /"], "--url must look like http://"),
        (["--purge"], "--purge goes with --uninstall"),
    ]:
        result = subprocess.run(
            ["bash", str(INSTALL), *args],
            cwd=tmp_path,
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 1
        assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_install_help_names_every_option() -> None:
    """--help prints the header: every option and what the installer changes."""
    result = subprocess.run(
        ["bash", str(INSTALL), "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for option in [
        "--url",
        "--no-start",
        "--boot-dir",
        "--system-packages",
        "--uninstall",
        "--purge",
    ]:
        assert option in result.stdout
    assert "dtoverlay=spi0-0cs" in result.stdout
    assert "set -euo" not in result.stdout


def test_unit_has_no_hard_coded_groups() -> None:
    """Groups come from /etc/group (the installer's usermod): a missing one cannot fail the unit."""
    unit = UNIT.read_text()
    assert not [line for line in unit.splitlines() if line.startswith("SupplementaryGroups=")]
    assert "User=dalle-frame" in unit
