"""How the Pi is doing, read from the OS: CPU temperature, uptime, Wi-Fi signal, free disk.

Each value comes from one place (Linux's /sys and /proc, and the file system); a source that
is missing or unreadable gives None, never an error. The paths are settings so tests can
point them at fake files.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_LOGGER = logging.getLogger(__name__)
_CPU_ZONE_TYPES: Final = ("cpu-thermal", "cpu_thermal", "x86_pkg_temp", "soc_thermal")
_MAX_PROC_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class SystemPaths:
    """Where the values are read (Linux's own paths by default)."""

    thermal: Path = Path("/sys/class/thermal")
    """Folder of thermal_zone*/ (each with `type` and `temp` in millidegrees Celsius)."""

    uptime: Path = Path("/proc/uptime")
    """Seconds since boot, first number."""

    wireless: Path = Path("/proc/net/wireless")
    """Per-interface Wi-Fi link quality and signal level."""

    disk: Path = Path("/")
    """A path on the file system whose free space is reported."""


@dataclass(frozen=True)
class SystemHealth:
    """One reading; None where the source is missing."""

    cpu_temperature: float | None
    """Degrees Celsius."""

    uptime_seconds: float | None
    """Seconds since boot."""

    wifi_signal: int | None
    """Signal level in dBm of the first wireless interface."""

    disk_free: int | None
    """Free bytes for an unprivileged user."""


def read_system_health(paths: SystemPaths) -> SystemHealth:
    """Read every value (blocking file reads: run it in a thread)."""
    return SystemHealth(
        cpu_temperature=read_cpu_temperature(paths.thermal),
        uptime_seconds=read_uptime(paths.uptime),
        wifi_signal=read_wifi_signal(paths.wireless),
        disk_free=read_disk_free(paths.disk),
    )


def _read_text(path: Path) -> str | None:
    """Return a small text file's content, or None when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(_MAX_PROC_BYTES).decode("ascii", errors="replace")
    except OSError as err:
        _LOGGER.debug("Cannot read %s: %s", path, err)
        return None


def read_cpu_temperature(thermal: Path) -> float | None:
    """Return the CPU's temperature in °C: the CPU's thermal zone, else the first that reads."""
    try:
        zones = sorted(thermal.glob("thermal_zone*"), key=lambda zone: zone.name)
    except OSError:
        return None
    readings: list[tuple[bool, float]] = []
    for zone in zones:
        raw = _read_text(zone / "temp")
        try:
            millidegrees = int((raw or "").strip())
        except ValueError:
            continue
        kind = (_read_text(zone / "type") or "").strip()
        readings.append((kind in _CPU_ZONE_TYPES, round(millidegrees / 1000, 1)))
    cpu = [value for is_cpu, value in readings if is_cpu]
    if cpu or readings:
        return (cpu or [readings[0][1]])[0]
    return None


def read_uptime(path: Path) -> float | None:
    """Return the seconds since boot."""
    text = _read_text(path)
    try:
        seconds = float((text or "").split()[0])
    except (IndexError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def read_wifi_signal(path: Path) -> int | None:
    """Return the signal level (dBm) of the first interface listed in /proc/net/wireless.

    Lines after the two headers read `wlan0: 0000   70.  -40.  -256 ...`: status, link
    quality, signal level, noise. Some drivers give the level as an unsigned byte (216
    for -40 dBm).
    """
    text = _read_text(path)
    for line in (text or "").splitlines()[2:]:
        _, _, values = line.partition(":")
        fields = values.split()
        try:
            level = int(float(fields[2].rstrip(".")))
        except (IndexError, ValueError):
            continue
        if level > 63:
            level -= 256
        if -150 <= level < 0:
            return level
    return None


def read_disk_free(path: Path) -> int | None:
    """Return the free bytes on the file system of path."""
    try:
        return shutil.disk_usage(path).free
    except OSError as err:
        _LOGGER.debug("Cannot read the free space of %s: %s", path, err)
        return None
