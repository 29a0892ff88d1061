"""The integration against the real GPU server process (`--model test`).

The `test` model has random weights and paints noise, but it runs every real code path of the
server: its HTTP API, token check, queue, NDJSON progress stream and PNG encoding. The frame is
added through the config flow with the same fields tests/stack.py posts.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import AsyncGenerator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.history import FrameHistory, history_folder
from tests.stack import VENVS, GpuServer

from .conftest import BlockingIoDetector

pytestmark = pytest.mark.skipif(
    not os.path.lexists(VENVS / "server" / "bin" / "python"),
    reason=".venvs/server is missing: scripts/setup.sh server builds it (scripts/test.sh does)",
)


@pytest.fixture
async def real_server(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[GpuServer]:
    """Start `python -m dalle_frame_server --model test --asr-model test` on 127.0.0.1."""
    server = GpuServer(work_dir=tmp_path, models_dir=tmp_path / "models")
    async with aiohttp.ClientSession() as session:
        try:
            await server.start(session)
            yield server
        finally:
            await asyncio.to_thread(server.stop)


async def test_against_the_real_server(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: BlockingIoDetector,
    real_server: GpuServer,
) -> None:
    """Config flow, a streamed generation, the frame, a crash mid-generation and recovery."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Frame", "url": real_server.url, "token": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Frame", "url": real_server.url, "token": real_server.token}
    )
    entry = result["result"]
    await hass.async_block_till_done()

    progress: list[Any] = []

    @callback
    def on_status(event: Event) -> None:
        if event.data["entity_id"] == "sensor.frame_status":
            progress.append(event.data["new_state"].attributes.get("progress"))

    unsub = hass.bus.async_listen("state_changed", on_status)
    response = await hass.services.async_call(
        DOMAIN,
        "generate",
        {"prompt": "a lighthouse in a storm", "seed": 7},
        blocking=True,
        return_response=True,
    )
    assert response["prompt"] == "a lighthouse in a storm"
    assert response["seed"] == 7
    assert response["seconds"] > 0
    assert response["entity_id"] == "image.frame_art"
    assert 100 in progress and 0 in progress  # the stream's progress reached the sensor

    controller = entry.runtime_data.controller
    art = Image.open(io.BytesIO(controller.art.png))
    assert art.size == (256, 256)
    frame = Image.open(io.BytesIO(controller.frame_png))
    assert (frame.mode, frame.size) == ("P", (600, 448))
    await hass.async_block_till_done()
    folder = history_folder(hass.config.config_dir, entry.entry_id)
    items = await hass.async_add_executor_job(FrameHistory(folder).items)
    assert [(item.prompt, item.seed) for item in items] == [("a lighthouse in a storm", 7)]

    # The largest seed the integration accepts is one the server accepts too.
    await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a lighthouse in a storm", "seed": 2**31 - 1}, blocking=True
    )

    # Kill the server as soon as the next generation reports progress.
    progress.clear()
    killed: list[bool] = []

    @callback
    def kill_on_progress(event: Event) -> None:
        state = event.data["new_state"]
        is_status = event.data["entity_id"] == "sensor.frame_status"
        if is_status and state.attributes.get("progress") and not killed:
            # SIGKILL, as a crash; no waiting here (this runs in the event loop).
            assert real_server.process.popen is not None
            os.killpg(real_server.process.popen.pid, signal.SIGKILL)
            killed.append(True)

    unsub_kill = hass.bus.async_listen("state_changed", kill_on_progress)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "regenerate", {}, blocking=True)
    unsub_kill()
    unsub()
    assert killed
    assert err.value.translation_key in ("cannot_connect", "generation_timeout")
    assert hass.states.get("sensor.frame_status").state == "error"
    assert hass.states.get("text.frame_prompt").state == STATE_UNAVAILABLE
    assert hass.states.get("image.frame_art").attributes["seed"] == 2**31 - 1  # it stays

    # The server comes back on the same port: the next health check recovers everything.
    await asyncio.to_thread(real_server.process.stop)  # reap the killed process
    async with aiohttp.ClientSession() as session:
        await real_server.start(session)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=35))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.frame_status").state == "idle"
    assert hass.states.get("text.frame_prompt").state == "a lighthouse in a storm"
    response = await hass.services.async_call(
        DOMAIN, "regenerate", {}, blocking=True, return_response=True
    )
    assert response["prompt"] == "a lighthouse in a storm"
    assert response["seed"] not in (7, 2**31 - 1)
