"""The Steps and Guidance numbers: there only while the server's model has the setting."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.model_settings import (
    CONF_GUIDANCE_SCALE,
    CONF_SETTINGS_MODEL,
    CONF_STEPS,
)

from .fake_server import DIFFUSION_CAPABILITIES, MIN_DALLE_CAPABILITIES, FakeGpuServer

STEPS = "number.frame_steps"
GUIDANCE = "number.frame_guidance"


async def serve(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    server: FakeGpuServer,
    capabilities: dict[str, Any] | None,
) -> None:
    """Let the server state `capabilities` and the frame poll its health."""
    server.capabilities = capabilities
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a dashboard does."""
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: entity_id, "value": value}, blocking=True
    )


async def test_numbers_follow_the_model(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Added with a diffusion model (its defaults), set, unavailable while loading, removed."""
    caplog.set_level(logging.INFO)
    registry = er.async_get(hass)
    assert hass.states.get(STEPS) is None  # an older server
    await serve(hass, loaded_entry, server, MIN_DALLE_CAPABILITIES)
    assert hass.states.get(STEPS) is None
    assert hass.states.get(GUIDANCE) is None

    await serve(hass, loaded_entry, server, DIFFUSION_CAPABILITIES)
    steps, guidance = hass.states.get(STEPS), hass.states.get(GUIDANCE)
    assert (steps.state, steps.attributes["min"], steps.attributes["max"]) == ("4", 1, 8)
    assert (guidance.state, guidance.attributes["max"]) == ("3.5", 10.0)
    assert registry.async_get(STEPS).entity_category is EntityCategory.CONFIG
    assert CONF_STEPS not in loaded_entry.options  # the model's default: nothing sent

    with pytest.raises(ServiceValidationError):
        await set_number(hass, STEPS, 9)  # beyond the model's 8: refused, nothing changes
    assert CONF_STEPS not in loaded_entry.options
    await set_number(hass, STEPS, 6)
    await set_number(hass, GUIDANCE, 2.5)
    assert hass.states.get(STEPS).state == "6"
    assert loaded_entry.options[CONF_STEPS] == 6
    assert loaded_entry.options[CONF_GUIDANCE_SCALE] == 2.5
    assert loaded_entry.options[CONF_SETTINGS_MODEL] == "test"
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a fox"}, blocking=True)
    assert server.requests[-1]["steps"] == 6
    assert server.requests[-1]["guidance_scale"] == 2.5

    # The same model with a narrower range: the value is clamped and the number follows.
    narrower = copy.deepcopy(DIFFUSION_CAPABILITIES)
    narrower["steps"] = {"min": 1, "max": 4, "default": 2}
    await serve(hass, loaded_entry, server, narrower)
    assert hass.states.get(STEPS).state == "4"
    assert hass.states.get(STEPS).attributes["max"] == 4

    server.health_status = "loading"
    await serve(hass, loaded_entry, server, None)
    assert hass.states.get(STEPS).state == STATE_UNAVAILABLE
    server.health_status = "ok"

    server.generator_model = "mini"
    await serve(hass, loaded_entry, server, MIN_DALLE_CAPABILITIES)
    assert hass.states.get(STEPS) is None
    assert hass.states.get(GUIDANCE) is None
    assert registry.async_get(STEPS) is None
    assert "the model 'mini' has no steps setting; number.frame_steps is removed" in caplog.text
    assert CONF_STEPS not in loaded_entry.options  # another model: back to its defaults


async def test_numbers_come_back_after_a_restart(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """A reload with the same model keeps the numbers; one without them leaves none behind."""
    await serve(hass, loaded_entry, server, DIFFUSION_CAPABILITIES)
    await set_number(hass, STEPS, 3)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(STEPS).state == "3"

    server.capabilities = MIN_DALLE_CAPABILITIES
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(STEPS) is None
    assert er.async_get(hass).async_get(STEPS) is None
