"""The integration against the real GPU server running a diffusion model (`test-diffusion`).

`test-diffusion` is a tiny random Stable Diffusion pipeline built locally: it paints noise,
but through the server's real diffusion path, its capabilities in /v1/health, its size
rounding and its step count. The frame hangs in portrait: the art must come portrait-shaped.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import Event, HomeAssistant, callback
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.const import (
    CONF_FIT,
    CONF_ORIENTATION,
    CONF_TOKEN,
    CONF_URL,
    DOMAIN,
)
from custom_components.dalle_frame.model_settings import (
    CONF_GUIDANCE_SCALE,
    CONF_SETTINGS_MODEL,
    CONF_STEPS,
)
from tests.stack import VENVS, GpuServer

pytestmark = pytest.mark.skipif(
    not os.path.lexists(VENVS / "server" / "bin" / "python"),
    reason=".venvs/server is missing: scripts/setup.sh server builds it (scripts/test.sh does)",
)


@pytest.fixture
async def diffusion_server(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[GpuServer]:
    """Start `python -m dalle_frame_server --model test-diffusion` on 127.0.0.1."""
    server = GpuServer(work_dir=tmp_path, models_dir=tmp_path / "models", model="test-diffusion")
    async with aiohttp.ClientSession() as session:
        try:
            await server.start(session)
            yield server
        finally:
            await asyncio.to_thread(server.stop)


async def test_a_diffusion_model_paints_the_panel_shape(
    hass: HomeAssistant, enable_custom_integrations: None, diffusion_server: GpuServer
) -> None:
    """Steps reach the model, the art is portrait-shaped, the frame has the panel's size."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Frame",
        unique_id="frame",
        data={
            CONF_NAME: "Frame",
            CONF_URL: diffusion_server.url,
            CONF_TOKEN: diffusion_server.token,
        },
        options={
            CONF_ORIENTATION: "portrait",
            CONF_FIT: "cover",
            CONF_STEPS: 3,
            CONF_SETTINGS_MODEL: "test-diffusion",
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    health = entry.runtime_data.coordinator.data
    assert health.capabilities is not None
    assert health.capabilities.family == "diffusion"
    assert entry.options[CONF_STEPS] == 3  # in the model's range: kept

    result = await hass.config_entries.options.async_init(entry.entry_id)
    fields = {str(key) for key in result["data_schema"].schema}
    assert CONF_STEPS in fields
    assert (CONF_GUIDANCE_SCALE in fields) == (health.capabilities.guidance is not None)
    hass.config_entries.options.async_abort(result["flow_id"])

    progress: list[Any] = []

    @callback
    def on_status(event: Event) -> None:
        if event.data["entity_id"] == "sensor.frame_status":
            progress.append(event.data["new_state"].attributes.get("progress"))

    unsub = hass.bus.async_listen("state_changed", on_status)
    await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a lighthouse in a storm", "seed": 7}, blocking=True
    )
    unsub()
    # Three steps: the stream's lines say 1/3, 2/3, 3/3 (the model's default is two).
    assert {33, 66, 100} <= set(progress)

    controller = entry.runtime_data.controller
    art = Image.open(io.BytesIO(controller.art.png))
    capabilities = health.capabilities
    width, height = art.size
    assert width < height  # portrait, like the panel (448x600)
    assert abs(width / height - 448 / 600) < 0.1
    assert width % capabilities.multiple == 0 and height % capabilities.multiple == 0
    assert width * height <= capabilities.max_pixels
    attributes = hass.states.get("image.frame_art").attributes
    assert (attributes["width"], attributes["height"]) == art.size
    frame = Image.open(io.BytesIO(controller.frame_png))
    assert (frame.mode, frame.size) == ("P", (448, 600))
    assert await hass.config_entries.async_unload(entry.entry_id)
