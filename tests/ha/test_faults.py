"""Faults: the server dies, hangs or answers garbage; the frame says why and recovers by itself."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dalle_frame import api
from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.coordinator import HEALTH_INTERVAL

from .fake_server import FakeGpuServer

SERVER_ENTITIES = ("text.frame_prompt", "button.frame_regenerate")
ALWAYS_AVAILABLE = (
    "image.frame_art",
    "image.frame_frame",
    "sensor.frame_status",
    "sensor.frame_generation_time",
    "switch.frame_auto_mode",
    "number.frame_auto_interval",
    "select.frame_auto_source",
)


async def generate(hass: HomeAssistant, prompt: str) -> dict:
    """Call generate and return the response."""
    return await hass.services.async_call(
        DOMAIN, "generate", {"prompt": prompt}, blocking=True, return_response=True
    )


async def next_health_check(hass: HomeAssistant) -> None:
    """Let the health coordinator poll once more."""
    async_fire_time_changed(hass, dt_util.utcnow() + HEALTH_INTERVAL + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)


def available(hass: HomeAssistant, entity_id: str) -> bool:
    """Whether an entity is available."""
    return hass.states.get(entity_id).state != STATE_UNAVAILABLE


async def test_server_killed_mid_generation(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Killed mid-generation: error at once, never stuck; back without a restart."""
    server.die_mid_stream = True
    with pytest.raises(HomeAssistantError) as err:
        await generate(hass, "a red car")
    assert err.value.translation_key == "cannot_connect"
    assert f"Cannot reach the GPU server at {server.url}" in str(err.value)
    status = hass.states.get("sensor.frame_status")
    assert status.state == "error"
    assert status.attributes["last_error"] == str(err.value)
    assert status.attributes["progress"] is None
    for entity_id in SERVER_ENTITIES:
        assert not available(hass, entity_id), entity_id
    assert not available(hass, "button.frame_new_prompt")  # no history to fall back on
    for entity_id in ALWAYS_AVAILABLE:
        assert available(hass, entity_id), entity_id

    await next_health_check(hass)  # still down: stays as it is
    assert hass.states.get("sensor.frame_status").state == "error"

    server.die_mid_stream = False
    await server.start()
    await next_health_check(hass)
    assert hass.states.get("sensor.frame_status").state == "idle"
    for entity_id in (*SERVER_ENTITIES, "button.frame_new_prompt"):
        assert available(hass, entity_id), entity_id
    assert (await generate(hass, "a red car"))["prompt"] == "a red car"


async def test_server_lost_while_idle(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """The health check notices a server gone while nothing runs."""
    await server.stop()
    await next_health_check(hass)
    status = hass.states.get("sensor.frame_status")
    assert status.state == "error"
    assert "Cannot reach the GPU server" in status.attributes["last_error"]
    assert not available(hass, "text.frame_prompt")
    with pytest.raises(HomeAssistantError, match="Cannot reach the GPU server"):
        await generate(hass, "a red car")
    await server.start()
    await next_health_check(hass)
    assert hass.states.get("sensor.frame_status").state == "idle"
    assert available(hass, "text.frame_prompt")


async def test_new_prompt_shows_history_when_server_is_down(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Like the original frame: with the server down, New prompt shows an older picture."""
    await generate(hass, "an older picture")
    await generate(hass, "the newest picture")
    await server.stop()
    await next_health_check(hass)
    assert available(hass, "button.frame_new_prompt")
    frame_before = hass.states.get("image.frame_frame").state

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "new_prompt", {}, blocking=True)
    assert err.value.translation_key == "showing_history"
    assert "so the frame shows a picture from its history" in str(err.value)
    assert hass.states.get("image.frame_art").attributes["prompt"] == "an older picture"
    assert hass.states.get("image.frame_frame").attributes["prompt"] == "an older picture"
    assert hass.states.get("image.frame_frame").state != frame_before
    assert hass.states.get("text.frame_prompt").state == STATE_UNAVAILABLE
    assert loaded_entry.runtime_data.controller.prompt == "an older picture"
    status = hass.states.get("sensor.frame_status")
    assert status.state == "error"
    assert status.attributes["last_error"] == str(err.value)

    # The button does the same (and the next press goes back to the other picture).
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.frame_new_prompt"}, blocking=True
        )
    assert hass.states.get("image.frame_art").attributes["prompt"] == "the newest picture"


async def test_damaged_history_picture_is_not_shown(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """With the server down and only a damaged older picture, New prompt reports the outage."""
    await generate(hass, "an older picture")
    older_id = loaded_entry.runtime_data.controller.art.item_id
    await generate(hass, "the newest picture")
    folder = Path(hass.config.path("dalle_frame", loaded_entry.entry_id))
    await hass.async_add_executor_job((folder / f"{older_id}.png").write_bytes, b"damaged")
    await server.stop()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "new_prompt", {}, blocking=True)
    assert err.value.translation_key == "cannot_connect"
    assert hass.states.get("image.frame_art").attributes["prompt"] == "the newest picture"


async def test_generation_timeout(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that goes silent mid-generation ends in an error, not in "generating"."""
    monkeypatch.setattr(api, "GENERATE_READ_SECONDS", 0.3)
    server.gate = asyncio.Event()
    with pytest.raises(HomeAssistantError) as err:
        await generate(hass, "a red car")
    server.gate.set()
    assert err.value.translation_key == "generation_timeout"
    assert hass.states.get("sensor.frame_status").state == "error"


async def test_broken_picture(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """A picture that cannot be decoded is refused; the previous one stays, nothing is kept."""
    await generate(hass, "a good picture")
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 10
    line = {"type": "result", "seed": 5, "seconds": 1.0}
    line["png_base64"] = base64.b64encode(broken).decode()
    server.raw_generate_body = json.dumps(line).encode() + b"\n"
    with pytest.raises(HomeAssistantError) as err:
        await generate(hass, "a broken picture")
    assert err.value.translation_key == "invalid_response"
    assert "cannot be decoded" in str(err.value)
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a good picture"
    assert loaded_entry.runtime_data.controller.history.count == 1
    assert hass.states.get("sensor.frame_status").state == "error"
    # A broken picture is the server's fault, not a lost server: entities stay available.
    assert available(hass, "text.frame_prompt")


async def test_unload_during_generation(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Unloading cancels a running generation; its caller gets a clear error."""
    server.gate = asyncio.Event()
    call = hass.async_create_task(generate(hass, "a red car"))
    waiting = hass.async_create_task(generate(hass, "queued"))
    await server.generation_started.wait()
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await call
    assert err.value.translation_key == "frame_unloaded"
    assert "unloaded" in str(err.value)
    with pytest.raises(HomeAssistantError) as err:
        await waiting
    assert err.value.translation_key == "frame_unloaded"
    server.gate.set()


async def test_token_never_logged(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server token appears in no log line and no error, whatever happens."""
    caplog.set_level("DEBUG")
    await generate(hass, "a red car")
    server.token = "another-token"  # every request is now refused (401)
    with pytest.raises(HomeAssistantError) as refused:
        await generate(hass, "a red car")
    await hass.async_block_till_done()
    await server.stop()
    with pytest.raises(HomeAssistantError) as lost:
        await generate(hass, "a red car")
    await next_health_check(hass)
    token = loaded_entry.data["token"]
    assert token not in caplog.text
    for error in (refused.value, lost.value):
        assert token not in str(error)
        assert token not in repr(error.translation_placeholders)
    for state in hass.states.async_all():
        assert token not in repr(state.attributes)
