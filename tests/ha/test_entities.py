"""Entities: what each shows, what setting it does, and the image proxy the satellite uses."""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.number import SERVICE_SET_VALUE as NUMBER_SET_VALUE
from homeassistant.components.select import SERVICE_SELECT_OPTION
from homeassistant.components.text import SERVICE_SET_VALUE as TEXT_SET_VALUE
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TOGGLE,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.dalle_frame.const import DOMAIN

from .fake_server import FakeGpuServer, make_art_png


async def test_entities_and_device(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """All entities exist with the contract's ids, on one device named after the frame."""
    entries = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    assert sorted(entry.entity_id for entry in entries) == [
        "ai_task.frame_art_generator",
        "button.frame_new_prompt",
        "button.frame_regenerate",
        "image.frame_art",
        "image.frame_frame",
        "number.frame_auto_interval",
        "select.frame_auto_source",
        "sensor.frame_generation_time",
        "sensor.frame_next_auto_run",
        "sensor.frame_status",
        "stt.frame_speech_to_text",
        "switch.frame_auto_mode",
        "text.frame_prompt",
    ]
    assert {entry.unique_id for entry in entries} == {
        f"{loaded_entry.entry_id}-{entry.translation_key}" for entry in entries
    }
    (device,) = dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)
    assert device.identifiers == {(DOMAIN, loaded_entry.entry_id)}
    assert device.name == "Frame"
    assert device.sw_version == "1.0.0-test"
    assert {entry.device_id for entry in entries} == {device.id}
    # As plain data: HA 2026.11 keys attributes by an enum whose repr the snapshot would keep.
    states = {
        entry.entity_id: {
            "state": state.state,
            "attributes": {str(key): value for key, value in state.attributes.items()},
        }
        for entry in entries
        if not entry.entity_id.startswith("image.") and (state := hass.states.get(entry.entity_id))
    }
    assert states == snapshot


async def test_images_before_first_art(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """A new frame has no picture yet: the images are unknown and the proxy has nothing."""
    assert hass.states.get("image.frame_art").state == STATE_UNKNOWN
    assert hass.states.get("image.frame_frame").state == STATE_UNKNOWN
    assert hass.states.get("text.frame_prompt").state == STATE_UNKNOWN
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.frame_frame")
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR


async def test_image_proxy(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """The Art is the server's PNG; the Frame is a palette PNG of the panel (the satellite's)."""
    await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a red car", "seed": 9}, blocking=True
    )
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.frame_art")
    assert response.status == HTTPStatus.OK
    assert response.content_type == "image/png"
    assert await response.read() == make_art_png(9)

    response = await client.get("/api/image_proxy/image.frame_frame")
    assert response.status == HTTPStatus.OK
    frame = Image.open(io.BytesIO(await response.read()))
    assert frame.mode == "P"
    assert frame.size == (600, 448)
    assert set(frame.getdata()) <= set(range(7))
    state = hass.states.get("image.frame_frame")
    assert state.attributes["prompt"] == "a red car"
    assert state.attributes["panel"] == "inky_impression_5_7"
    # The entity picture carries its own token, usable without a login (dashboards).
    anonymous = await hass_client(access_token=None)
    response = await anonymous.get(state.attributes["entity_picture"])
    assert response.status == HTTPStatus.OK


async def test_text_sets_prompt(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Setting the Prompt text generates from it; an empty prompt is refused."""
    await hass.services.async_call(
        "text",
        TEXT_SET_VALUE,
        {ATTR_ENTITY_ID: "text.frame_prompt", "value": "a lighthouse in a storm"},
        blocking=True,
    )
    assert server.requests == [{"prompt": "a lighthouse in a storm", "seed": None}]
    assert hass.states.get("text.frame_prompt").state == "a lighthouse in a storm"
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a lighthouse in a storm"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "text",
            TEXT_SET_VALUE,
            {ATTR_ENTITY_ID: "text.frame_prompt", "value": "  "},
            blocking=True,
        )
    assert err.value.translation_key == "prompt_empty"
    assert len(server.requests) == 1


async def test_buttons(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Regenerate keeps the prompt; New prompt picks another one."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: "button.frame_regenerate"}, blocking=True
    )
    assert server.requests[-1] == {"prompt": "a red car", "seed": None}
    await hass.services.async_call(
        "button", SERVICE_PRESS, {ATTR_ENTITY_ID: "button.frame_new_prompt"}, blocking=True
    )
    assert server.requests[-1]["prompt"] != "a red car"
    assert len(server.requests) == 3


async def test_auto_mode_entities(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The switch, number and select change the controller's auto mode settings."""
    controller = loaded_entry.runtime_data.controller
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )
    state = hass.states.get("switch.frame_auto_mode")
    assert state.state == STATE_ON
    assert state.attributes["next_run"] == controller.auto.next_run.isoformat()
    await hass.services.async_call(
        "switch", SERVICE_TOGGLE, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )
    state = hass.states.get("switch.frame_auto_mode")
    assert state.state == STATE_OFF
    assert state.attributes["next_run"] is None
    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )
    assert not controller.auto.enabled

    await hass.services.async_call(
        "number",
        NUMBER_SET_VALUE,
        {ATTR_ENTITY_ID: "number.frame_auto_interval", "value": 15},
        blocking=True,
    )
    assert hass.states.get("number.frame_auto_interval").state == "15"
    assert controller.auto.interval_minutes == 15
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number",
            NUMBER_SET_VALUE,
            {ATTR_ENTITY_ID: "number.frame_auto_interval", "value": 0},
            blocking=True,
        )

    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.frame_auto_source", "option": "same_prompt"},
        blocking=True,
    )
    assert hass.states.get("select.frame_auto_source").state == "same_prompt"
    assert controller.auto.source == "same_prompt"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "select",
            SERVICE_SELECT_OPTION,
            {ATTR_ENTITY_ID: "select.frame_auto_source", "option": "sometimes"},
            blocking=True,
        )
    with pytest.raises(ValueError, match="unknown auto source"):
        await controller.auto.async_set_source("sometimes")
