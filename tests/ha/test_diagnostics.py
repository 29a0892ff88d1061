"""Diagnostics: useful to debug a frame, with the token redacted and no image bytes."""

from __future__ import annotations

import json

import aiohasupervisor  # noqa: F401 - imported before time is frozen (it breaks under freezegun)
import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.dalle_frame.const import DOMAIN

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
