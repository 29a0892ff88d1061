"""The satellite reports itself to its frame: values from /sys and /proc, when, and failures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from dalle_frame_satellite import __version__
from dalle_frame_satellite.config import parse_config
from dalle_frame_satellite.errors import ConfigError
from dalle_frame_satellite.satellite import Satellite
from dalle_frame_satellite.settings import SatelliteSettings
from dalle_frame_satellite.state_store import StateStore
from dalle_frame_satellite.system_health import (
    SystemPaths,
    read_cpu_temperature,
    read_system_health,
    read_uptime,
    read_wifi_signal,
)
from tests.satellite.conftest import running, wait_connected, wait_shown, wait_until
from tests.satellite.fake_ha import ENTRY_ID, FRAME, palette_png

WIRELESS = """Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
 wlan0: 0000   58.  -52.  -256        0      0      0      0     11        0
"""


def fake_system(root: Path) -> SystemPaths:
    """A /sys and /proc with a GPU zone before the CPU's, an unreadable zone, Wi-Fi and uptime."""
    thermal = root / "sys/class/thermal"
    for name, kind, temp in (
        ("thermal_zone0", "gpu-thermal", "61000"),
        ("thermal_zone1", "cpu-thermal", "48312"),
        ("thermal_zone2", "broken", "n/a"),
    ):
        (thermal / name).mkdir(parents=True)
        (thermal / name / "type").write_text(kind + "\n")
        (thermal / name / "temp").write_text(temp + "\n")
    (root / "proc/net").mkdir(parents=True)
    (root / "proc/uptime").write_text("12345.67 45678.90\n")
    (root / "proc/net/wireless").write_text(WIRELESS)
    return SystemPaths(
        thermal=thermal,
        uptime=root / "proc/uptime",
        wireless=root / "proc/net/wireless",
        disk=root,
    )


def test_values_are_read_from_sys_and_proc(tmp_path: Path) -> None:
    """The CPU's zone wins over the first zone; Wi-Fi level in dBm; free disk in bytes."""
    health = read_system_health(fake_system(tmp_path))
    assert health.cpu_temperature == 48.3
    assert health.uptime_seconds == 12345.67
    assert health.wifi_signal == -52
    assert health.disk_free == shutil.disk_usage(tmp_path).free


def test_missing_sources_give_none(tmp_path: Path) -> None:
    """A Pi without Wi-Fi, thermal zones or /proc: every value is None, nothing raises."""
    paths = SystemPaths(
        thermal=tmp_path / "none",
        uptime=tmp_path / "none/uptime",
        wireless=tmp_path / "none/wireless",
        disk=tmp_path / "none",
    )
    assert dataclasses.astuple(read_system_health(paths)) == (None, None, None, None)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (WIRELESS, -52),
        (WIRELESS.replace("-52.", "204."), -52),  # drivers that give an unsigned byte
        (WIRELESS.replace("-52.", "0."), None),  # not associated
        (WIRELESS.splitlines(keepends=True)[0], None),  # headers only: no interface
        (WIRELESS.replace("-52.", "strong"), None),
        ("", None),
    ],
)
def test_wifi_levels(tmp_path: Path, text: str, level: int | None) -> None:
    """Signal levels as drivers write them; anything else is None."""
    (tmp_path / "wireless").write_text(text)
    assert read_wifi_signal(tmp_path / "wireless") == level


def test_odd_files_give_none(tmp_path: Path) -> None:
    """Garbage in uptime or in every thermal zone; a zone without a type still counts."""
    (tmp_path / "uptime").write_text("soon\n")
    assert read_uptime(tmp_path / "uptime") is None
    (tmp_path / "thermal_zone0").mkdir()
    (tmp_path / "thermal_zone0" / "temp").write_text("hot")
    assert read_cpu_temperature(tmp_path) is None
    (tmp_path / "thermal_zone1").mkdir()
    (tmp_path / "thermal_zone1" / "temp").write_text("39500")
    assert read_cpu_temperature(tmp_path) == 39.5


def with_interval(settings: SatelliteSettings, seconds: float) -> SatelliteSettings:
    """Settings with a report interval shorter than the config file allows (for speed)."""
    ha = dataclasses.replace(settings.home_assistant, report_interval_seconds=seconds)
    return dataclasses.replace(settings, home_assistant=ha)


async def test_reports_on_connect_after_a_refresh_and_every_interval(
    fake_ha, make_settings, tmp_path
) -> None:
    """The first report names the frame; a refresh adds its time; the interval repeats it."""
    settings = with_interval(
        make_settings(fake_ha.url, state_file=str(tmp_path / "state.json")), 0.3
    )
    satellite = Satellite(settings, system_paths=fake_system(tmp_path / "root"))
    async with running(satellite):
        await wait_until(lambda: fake_ha.satellite_reports)
        first = fake_ha.satellite_reports[0]
        assert first == {
            "id": first["id"],
            "type": "dalle_frame/satellite/report",
            "config_entry_id": ENTRY_ID,  # looked up in the entity registry
            "satellite_id": satellite.reporter.satellite_id,
            "version": __version__,
            "panel_model": 'Inky Impression 5.7" (7 colours, 600x448)',
            "last_refresh": None,
            "refresh_seconds": None,
            "cpu_temperature": 48.3,
            "uptime_seconds": 12345.67,
            "wifi_signal": -52,
            "disk_free": first["disk_free"],
            "report_interval": 0.3,
        }
        assert first["disk_free"] > 0

        await fake_ha.set_frame(palette_png(seed=5))
        await wait_shown(satellite, None)
        await wait_until(lambda: fake_ha.satellite_reports[-1]["last_refresh"] is not None)
        refreshed = fake_ha.satellite_reports[-1]
        finished = datetime.fromisoformat(refreshed["last_refresh"])
        assert finished.tzinfo is not None
        assert 0 <= refreshed["refresh_seconds"] < 5
        count = len(fake_ha.satellite_reports)
        await wait_until(lambda: len(fake_ha.satellite_reports) >= count + 2, 3)
        assert satellite.reporter.sent == len(fake_ha.satellite_reports)

    # The last refresh survives a restart of the satellite through the state file.
    stored = StateStore(tmp_path / "state.json").load_last_refresh()
    assert stored is not None and stored.finished == finished
    restarted = Satellite(settings, system_paths=fake_system(tmp_path / "root2"))
    fake_ha.satellite_reports.clear()
    async with running(restarted):
        await wait_until(lambda: fake_ha.satellite_reports)
    assert fake_ha.satellite_reports[0]["last_refresh"] == refreshed["last_refresh"]


async def test_odd_readings_are_sent_as_unknown(fake_ha, make_settings, tmp_path) -> None:
    """A faulty sensor's reading outside the command's bounds becomes null, not a refusal."""
    paths = fake_system(tmp_path)
    (paths.thermal / "thermal_zone1" / "temp").write_text("412000\n")
    satellite = Satellite(make_settings(fake_ha.url), system_paths=paths)
    async with running(satellite):
        await wait_until(lambda: fake_ha.satellite_reports)
    assert fake_ha.satellite_reports[0]["cpu_temperature"] is None
    assert fake_ha.satellite_reports[0]["uptime_seconds"] == 12345.67


async def test_without_registry_access_the_frame_entity_names_the_frame(
    fake_ha, make_settings, tmp_path
) -> None:
    """A non-admin token cannot read the registry: the report names frame_entity instead."""
    fake_ha.registry_admin = False
    settings = make_settings(fake_ha.url, home_assistant={"satellite_id": "pi-kitchen"})
    async with running(Satellite(settings, system_paths=fake_system(tmp_path))):
        await wait_until(lambda: fake_ha.satellite_reports)
    report = fake_ha.satellite_reports[0]
    assert report["frame_entity"] == FRAME
    assert "config_entry_id" not in report
    assert report["satellite_id"] == "pi-kitchen"
    assert report["report_interval"] == 60


async def test_reports_again_after_home_assistant_restarts(fake_ha, make_settings, tmp_path):
    """A new connection is reported at once, without waiting for the interval."""
    settings = make_settings(fake_ha.url)
    satellite = Satellite(settings, system_paths=fake_system(tmp_path))
    async with running(satellite):
        await wait_until(lambda: len(fake_ha.satellite_reports) == 1)
        await fake_ha.stop()
        await fake_ha.start()
        await wait_until(lambda: len(fake_ha.satellite_reports) == 2)
        await wait_connected(satellite)


async def test_an_integration_without_the_command_is_told_once(
    fake_ha, make_settings, tmp_path, caplog
) -> None:
    """unknown_command: one warning, no more reports on that connection, the satellite runs on."""
    caplog.set_level(logging.DEBUG, logger="dalle_frame_satellite")
    fake_ha.reports_supported = False
    settings = with_interval(make_settings(fake_ha.url), 0.1)
    satellite = Satellite(settings, system_paths=fake_system(tmp_path))

    def attempts() -> int:
        return sum(c["type"] == "dalle_frame/satellite/report" for c in fake_ha.commands)

    async with running(satellite):
        await wait_until(lambda: attempts() == 1)
        await wait_until(lambda: satellite.reporter._refused_on is not None)
        await fake_ha.set_frame(palette_png(seed=6))  # a refresh wakes the reporter
        await wait_shown(satellite, None)
        await wait_until(lambda: satellite.link.connection is not None)
        await asyncio.sleep(0.4)  # several intervals pass
        assert attempts() == 1
        await fake_ha.drop_connections()  # HA restarts (perhaps with a newer integration)
        await wait_until(lambda: attempts() == 2)
        await wait_connected(satellite)
        assert satellite.reporter.sent == 0
    warnings = [r for r in caplog.records if "does not take satellite reports" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.DEBUG]


async def test_a_refused_report_is_logged_once_per_reason(
    fake_ha, make_settings, tmp_path, caplog
) -> None:
    """An error result (a frame HA does not know) is a warning once, and recovery is logged."""
    caplog.set_level(logging.INFO, logger="dalle_frame_satellite")
    fake_ha.report_error = ("not_found", "No dalle_frame frame has the frame_entity 'x'")
    settings = with_interval(make_settings(fake_ha.url), 0.05)
    satellite = Satellite(settings, system_paths=fake_system(tmp_path))

    def attempts() -> int:
        return sum(c["type"] == "dalle_frame/satellite/report" for c in fake_ha.commands)

    async with running(satellite):
        await wait_until(lambda: attempts() >= 3)
        fake_ha.report_error = None
        await wait_until(lambda: satellite.reporter.sent >= 1)
    refused = [r for r in caplog.records if "refused the satellite report" in r.getMessage()]
    assert len(refused) == 1
    assert "No dalle_frame frame has the frame_entity 'x'" in refused[0].getMessage()
    assert "takes the satellite reports again" in caplog.text


async def test_reporting_can_be_switched_off(fake_ha, make_settings, tmp_path) -> None:
    """report_interval_seconds: 0 sends nothing."""
    settings = make_settings(fake_ha.url, home_assistant={"report_interval_seconds": 0})
    satellite = Satellite(settings, system_paths=fake_system(tmp_path))
    async with running(satellite):
        await wait_connected(satellite)
        await fake_ha.set_frame(palette_png(seed=7))
        await wait_shown(satellite, None)
    assert satellite.reporter is None
    assert fake_ha.satellite_reports == []


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ({"report_interval_seconds": 5}, "5 is too often"),
        ({"report_interval_seconds": 7200}, "outside 0..3600"),
        ({"satellite_id": "my pi"}, "is not 1-64 letters"),
    ],
)
def test_bad_report_settings_are_refused(tmp_path: Path, setting: dict, problem: str) -> None:
    """Each mistake names the setting and what to write."""
    raw = {"home_assistant": {"url": "http://ha:8123", "token_file": "token", **setting}}
    with pytest.raises(ConfigError, match=problem):
        parse_config(raw, tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"shown_digest": "abc", "refreshed": "yesterday", "refresh_seconds": 3}),
        json.dumps({"shown_digest": "abc", "refreshed": "2026-01-31T12:00:00"}),
        json.dumps(
            {"shown_digest": "abc", "refreshed": "2026-01-31T12:00:00", "refresh_seconds": 3}
        ),
    ],
)
def test_a_damaged_last_refresh_is_ignored(tmp_path: Path, content: str) -> None:
    """A state file without a usable last refresh gives None (the next refresh writes one)."""
    (tmp_path / "state.json").write_text(content)
    assert StateStore(tmp_path / "state.json").load_last_refresh() is None
