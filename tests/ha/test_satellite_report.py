"""The Pi satellite's reports over dalle_frame/satellite/report: entities, errors, staleness."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_test_home_assistant,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.satellite_monitor import SatelliteReport

CONNECTION = "binary_sensor.frame_satellite_connection"
VERSION = "sensor.frame_satellite_version"
PANEL = "sensor.frame_satellite_panel"
LAST_REFRESH = "sensor.frame_last_refresh"
REFRESH_TIME = "sensor.frame_refresh_time"
CPU = "sensor.frame_satellite_cpu_temperature"
UPTIME = "sensor.frame_satellite_uptime"
WIFI = "sensor.frame_satellite_wi_fi_signal"
DISK = "sensor.frame_satellite_free_disk"
LIVE = (CPU, UPTIME, WIFI, DISK)
KEPT = (VERSION, PANEL, LAST_REFRESH, REFRESH_TIME)


def report(**changes: Any) -> dict[str, Any]:
    """A satellite's report as the satellite sends it."""
    message: dict[str, Any] = {
        "type": "dalle_frame/satellite/report",
        "frame_entity": "image.frame_frame",
        "satellite_id": "pi-livingroom",
        "version": "0.3.0",
        "panel_model": 'Inky Impression 7.3" Spectra 6 (800x480)',
        "last_refresh": "2026-01-31T12:00:00+00:00",
        "refresh_seconds": 31.5,
        "cpu_temperature": 48.3,
        "uptime_seconds": 3600.0,
        "wifi_signal": -52,
        "disk_free": 12_500_000_000,
        "report_interval": 60,
    }
    message.update(changes)
    return {key: value for key, value in message.items() if value is not ...}


async def send(client: Any, message: dict[str, Any]) -> dict[str, Any]:
    """Send a command and return the whole answer."""
    await client.send_json_auto_id(message)
    answer: dict[str, Any] = await client.receive_json()
    return answer


async def test_the_wi_fi_signal_is_disabled_by_default(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The noisy Wi-Fi signal sensor exists but is left for the user to enable."""
    client = await hass_ws_client(hass)
    assert (await send(client, report()))["success"]
    await hass.async_block_till_done()
    entry = er.async_get(hass).async_get(WIFI)
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get(WIFI) is None
    assert hass.states.get(CPU) is not None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_report_makes_the_satellite_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """A non-admin token may report; each value becomes a sensor on the frame's device."""
    assert hass.states.get(CONNECTION) is None  # no satellite yet: no entities
    client = await hass_ws_client(hass, hass_read_only_access_token)
    answer = await send(client, report())
    assert answer["success"], answer
    assert answer["result"] == {"config_entry_id": loaded_entry.entry_id, "online": True}
    await hass.async_block_till_done()

    assert hass.states.get(CONNECTION).state == STATE_ON
    assert hass.states.get(CONNECTION).attributes["device_class"] == "connectivity"
    assert hass.states.get(VERSION).state == "0.3.0"
    assert hass.states.get(PANEL).state == 'Inky Impression 7.3" Spectra 6 (800x480)'
    assert hass.states.get(LAST_REFRESH).state == "2026-01-31T12:00:00+00:00"
    refresh = hass.states.get(REFRESH_TIME)
    assert (refresh.state, refresh.attributes["unit_of_measurement"]) == ("31.5", "s")
    cpu = hass.states.get(CPU)
    assert (cpu.state, cpu.attributes["unit_of_measurement"]) == ("48.3", "°C")
    assert cpu.attributes["state_class"] == "measurement"
    wifi = hass.states.get(WIFI)
    assert (wifi.state, wifi.attributes["unit_of_measurement"]) == ("-52", "dBm")
    disk = hass.states.get(DISK)
    assert disk.attributes["unit_of_measurement"] == "GB"
    assert float(disk.state) == pytest.approx(12.5)
    booted = dt_util.parse_datetime(hass.states.get(UPTIME).state)
    assert booted is not None
    assert abs((dt_util.utcnow() - timedelta(hours=1) - booted).total_seconds()) < 5

    registry = er.async_get(hass)
    device_ids = {
        registry.async_get(entity_id).device_id for entity_id in (CONNECTION, *LIVE, *KEPT)
    }
    frame_device = registry.async_get("image.frame_frame").device_id
    assert device_ids == {frame_device}
    diagnostic = {e for e in (CONNECTION, *LIVE, *KEPT) if registry.async_get(e).entity_category}
    assert diagnostic == {CONNECTION, *LIVE, VERSION, PANEL, REFRESH_TIME}
    assert dr.async_get(hass).async_get(frame_device) is not None


async def test_the_frame_is_found_by_entry_id_name_or_entity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """config_entry_id, frame (its name, any case) and frame_entity all name the frame."""
    client = await hass_ws_client(hass)
    for naming in (
        {"config_entry_id": loaded_entry.entry_id, "frame_entity": ...},
        {"frame": " frame ", "frame_entity": ...},
        {},
    ):
        answer = await send(client, report(**naming))
        assert answer["success"], (naming, answer)
        assert answer["result"]["config_entry_id"] == loaded_entry.entry_id


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        ({"satellite_id": ...}, "invalid_format", "satellite_id"),
        ({"version": ""}, "invalid_format", "version"),
        ({"cpu_temperature": 500}, "invalid_format", "cpu_temperature"),
        ({"cpu_temperature": "hot"}, "invalid_format", "cpu_temperature"),
        ({"wifi_signal": True}, "invalid_format", "wifi_signal"),
        ({"wifi_signal": -50.5}, "invalid_format", "wifi_signal"),
        ({"disk_free": -1}, "invalid_format", "disk_free"),
        ({"uptime_seconds": "3600"}, "invalid_format", "uptime_seconds"),
        ({"last_refresh": "2026-01-31T12:00:00"}, "invalid_format", "last_refresh"),
        ({"last_refresh": "yesterday"}, "invalid_format", "last_refresh"),
        ({"report_interval": 1}, "invalid_format", "report_interval"),
        ({"frame": "Frame"}, "invalid_format", "frame"),
        ({"frame_entity": ...}, "not_found", "Name the frame"),
        ({"frame_entity": "image.kitchen"}, "not_found", "image.kitchen"),
        ({"frame_entity": ..., "frame": "Kitchen"}, "not_found", "frames: 'Frame'"),
        ({"frame_entity": ..., "config_entry_id": "nope"}, "not_found", "'nope'"),
    ],
)
async def test_a_bad_report_is_refused_with_its_reason(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    changes: dict[str, Any],
    code: str,
    reason: str,
) -> None:
    """Wrong values and unknown frames get an error result naming the problem; nothing changes."""
    client = await hass_ws_client(hass)
    answer = await send(client, report(**changes))
    assert not answer["success"]
    assert answer["error"]["code"] == code
    assert reason in answer["error"]["message"]
    assert loaded_entry.runtime_data.satellite.report is None
    assert hass.states.get(CONNECTION) is None


async def test_a_frame_that_is_not_set_up_says_so(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """A report for an unloaded frame is refused with not_loaded."""
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    client = await hass_ws_client(hass)
    answer = await send(client, report(frame_entity=..., frame="Frame"))
    assert answer["error"]["code"] == "not_loaded"
    assert "not set up" in answer["error"]["message"]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_silent_satellite_goes_offline_and_comes_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Three report intervals without a report: offline; the next report: online again."""
    client = await hass_ws_client(hass)
    assert (await send(client, report(report_interval=30)))["success"]
    await hass.async_block_till_done()

    freezer.tick(timedelta(seconds=89))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTION).state == STATE_ON

    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTION).state == STATE_OFF
    assert {hass.states.get(e).state for e in LIVE} == {STATE_UNAVAILABLE}
    assert hass.states.get(VERSION).state == "0.3.0"  # what it is and when it last refreshed stay
    assert hass.states.get(LAST_REFRESH).state == "2026-01-31T12:00:00+00:00"

    assert (await send(client, report(report_interval=30, cpu_temperature=51.0)))["success"]
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTION).state == STATE_ON
    assert hass.states.get(CPU).state == "51.0"


async def test_one_satellite_per_frame(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A second satellite is refused while the first reports; it takes over once that is silent."""
    client = await hass_ws_client(hass)
    assert (await send(client, report()))["success"]
    answer = await send(client, report(satellite_id="pi-kitchen", version="9.9"))
    assert answer["error"]["code"] == "satellite_conflict"
    assert "'pi-livingroom'" in answer["error"]["message"]
    await hass.async_block_till_done()
    assert hass.states.get(VERSION).state == "0.3.0"

    freezer.tick(timedelta(minutes=3, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTION).state == STATE_OFF
    assert (await send(client, report(satellite_id="pi-kitchen", version="9.9")))["success"]
    await hass.async_block_till_done()
    assert hass.states.get(VERSION).state == "9.9"
    assert hass.states.get(CONNECTION).state == STATE_ON


async def test_uptime_keeps_the_boot_time_steady(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Reports a minute apart from the same boot keep one boot time; a reboot sets a new one."""
    client = await hass_ws_client(hass)
    assert (await send(client, report(uptime_seconds=1000.0)))["success"]
    await hass.async_block_till_done()
    booted = hass.states.get(UPTIME).state
    freezer.tick(timedelta(seconds=60))
    assert (await send(client, report(uptime_seconds=1061.5)))["success"]
    await hass.async_block_till_done()
    assert hass.states.get(UPTIME).state == booted
    freezer.tick(timedelta(seconds=60))
    assert (await send(client, report(uptime_seconds=20.0)))["success"]
    await hass.async_block_till_done()
    rebooted = hass.states.get(UPTIME).state
    assert rebooted != booted
    assert (await send(client, report(uptime_seconds=None, cpu_temperature=None)))["success"]
    await hass.async_block_till_done()
    assert hass.states.get(UPTIME).state == "unknown"  # a Pi without /proc/uptime: no value
    assert hass.states.get(CPU).state == "unknown"
    assert (await send(client, report(uptime_seconds=20.0)))["success"]
    await hass.async_block_till_done()
    assert hass.states.get(UPTIME).state == rebooted


@pytest.mark.parametrize(("minutes_down", "online"), [(1, STATE_ON), (10, STATE_OFF)])
async def test_the_satellite_is_back_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    minutes_down: int,
    online: str,
) -> None:
    """The last report is restored; connectivity follows its age and then the clock."""
    client = await hass_ws_client(hass)
    assert (await send(client, report()))["success"]
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    freezer.tick(timedelta(minutes=minutes_down))

    async with async_test_home_assistant(config_dir=hass.config.config_dir) as hass2:
        hass2.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=loaded_entry.title,
            unique_id=loaded_entry.unique_id,
            data=dict(loaded_entry.data),
            entry_id=loaded_entry.entry_id,
        )
        entry.add_to_hass(hass2)
        assert await hass2.config_entries.async_setup(entry.entry_id)
        await hass2.async_block_till_done()
        assert hass2.states.get(CONNECTION).state == online
        assert hass2.states.get(VERSION).state == "0.3.0"
        assert hass2.states.get(CPU).state == ("48.3" if online == STATE_ON else STATE_UNAVAILABLE)

        freezer.tick(timedelta(minutes=3))
        async_fire_time_changed(hass2)
        await hass2.async_block_till_done()
        assert hass2.states.get(CONNECTION).state == STATE_OFF
        assert await hass2.config_entries.async_unload(entry.entry_id)
        await hass2.async_stop()


async def test_removing_the_frame_forgets_its_satellite(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The stored report is written on unload and goes with the frame."""
    client = await hass_ws_client(hass)
    assert (await send(client, report()))["success"]
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    key = f"{DOMAIN}.{loaded_entry.entry_id}.satellite"
    assert hass_storage[key]["data"]["report"]["satellite_id"] == "pi-livingroom"
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert key not in hass_storage


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "text",
        {"satellite_id": "pi"},
        {**report(), "received": "not a time"},
        {**report(), "received": "2026-01-31T12:00:00+00:00", "last_refresh": "never"},
        {**report(), "received": "2026-01-31T12:00:00+00:00", "cpu_temperature": "hot"},
    ],
)
def test_a_damaged_stored_report_is_ignored(stored: Any) -> None:
    """A stored report that does not fit is dropped (the next report replaces it)."""
    assert SatelliteReport.from_dict(stored) is None
