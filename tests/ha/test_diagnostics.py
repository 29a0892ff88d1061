"""Diagnostics: useful to debug a frame, with the token redacted and no image bytes."""

from __future__ import annotations

import json

import aiohasupervisor  # noqa: F401 - imported before time is frozen (it breaks under freezegun)
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.satellite_monitor import SatelliteReport

from .fake_server import FakeGpuServer


@pytest.mark.freeze_time("2025-04-01 12:00:00+00:00")
async def test_diagnostics(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """The token never appears; state, health, prompts and auto mode do."""
    await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a red car", "seed": 3}, blocking=True
    )
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.frame_auto_mode"}, blocking=True
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert server.token not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["url"] == server.url
    # Sizes of the PNGs depend on Pillow's encoder and the renderer, not on this integration.
    assert diagnostics == snapshot(exclude=props("url", "png_bytes", "frame_png_bytes"))


async def test_diagnostics_with_server_down(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """With the server gone, diagnostics say so and why."""
    await server.stop()
    with pytest.raises(Exception, match="Cannot reach"):
        await hass.services.async_call(DOMAIN, "generate", {"prompt": "x"}, blocking=True)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert diagnostics["server"]["reachable"] is False
    assert "Cannot reach the GPU server" in diagnostics["server"]["last_error"]
    assert diagnostics["frame"]["status"] == "error"
    assert diagnostics["frame"]["art"] is None
    assert server.token not in json.dumps(diagnostics)


async def test_diagnostics_show_the_satellite(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """The satellite's last report and whether it counts as online are part of them."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert diagnostics["satellite"] == {"online": False, "last_report": None}

    received = dt_util.utcnow()
    loaded_entry.runtime_data.satellite.async_report(
        SatelliteReport(
            satellite_id="pi-kitchen",
            version="0.3.0",
            panel_model="inky_impression_73",
            last_refresh=received,
            refresh_seconds=31.5,
            cpu_temperature=48.2,
            uptime_seconds=3600.0,
            wifi_signal=-61,
            disk_free=12_000_000_000,
            report_interval=60.0,
            received=received,
        )
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    satellite = diagnostics["satellite"]
    assert satellite["online"] is True
    assert satellite["last_report"]["satellite_id"] == "pi-kitchen"
    assert satellite["last_report"]["panel_model"] == "inky_impression_73"
    assert satellite["last_report"]["wifi_signal"] == -61
    assert satellite["last_report"]["received"] == received.isoformat()
