"""The Frame image entity: rendered for the panel, re-rendered on new art and option changes."""

from __future__ import annotations

import io
from http import HTTPStatus
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dalle_frame.const import (
    CONF_CAPTION,
    CONF_DITHER,
    CONF_FIT,
    CONF_ORIENTATION,
    CONF_PANEL,
    CONF_SATURATION,
    DOMAIN,
)
from custom_components.dalle_frame.render import PANELS

from .fake_server import FakeGpuServer


async def fetch_frame(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> Image.Image:
    """Fetch the Frame image the way the satellite does (image proxy, bearer token)."""
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.frame_frame")
    assert response.status == HTTPStatus.OK
    return Image.open(io.BytesIO(await response.read()))


async def set_options(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    """Change options as the options flow does, and wait for the re-render."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    await hass.async_block_till_done()


@pytest.mark.parametrize("panel", list(PANELS))
async def test_every_panel(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    panel: str,
) -> None:
    """Each panel gets a palette PNG of its exact size with only its own colour indices."""
    await set_options(hass, loaded_entry, **{CONF_PANEL: panel})
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    frame = await fetch_frame(hass, hass_client)
    assert frame.mode == "P"
    assert frame.size == (PANELS[panel].width, PANELS[panel].height)
    assert set(frame.getdata()) <= set(PANELS[panel].indices)
    assert hass.states.get("image.frame_frame").attributes["panel"] == panel


async def test_new_art_renders_a_new_frame(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Every new picture changes the Frame image and its time stamp (its state)."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "one", "seed": 1}, blocking=True)
    first_state = hass.states.get("image.frame_frame").state
    first = (await fetch_frame(hass, hass_client)).tobytes()
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "two", "seed": 2}, blocking=True)
    assert hass.states.get("image.frame_frame").state != first_state
    assert (await fetch_frame(hass, hass_client)).tobytes() != first
    assert hass.states.get("image.frame_frame").attributes["prompt"] == "two"


async def test_option_changes_render_again(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Orientation, fit, dither, saturation and caption changes show at once; others do not."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    seen = {(await fetch_frame(hass, hass_client)).tobytes()}
    state = hass.states.get("image.frame_frame").state
    for change in (
        {CONF_ORIENTATION: "portrait"},
        {CONF_FIT: "cover"},
        {CONF_DITHER: "ordered"},
        {CONF_SATURATION: 1.0},
        {CONF_CAPTION: False},
        {"background": "black", CONF_FIT: "contain"},
    ):
        await set_options(hass, loaded_entry, **change)
        frame = await fetch_frame(hass, hass_client)
        assert frame.tobytes() not in seen, change
        seen.add(frame.tobytes())
        assert hass.states.get("image.frame_frame").state != state, change
        state = hass.states.get("image.frame_frame").state
    assert frame.size == (448, 600)

    # An option that does not affect the picture leaves the Frame untouched.
    await set_options(hass, loaded_entry, history_size=7)
    assert hass.states.get("image.frame_frame").state == state


async def test_options_before_any_art(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Changing options on a frame without a picture renders nothing and breaks nothing."""
    await set_options(hass, loaded_entry, **{CONF_PANEL: "inky_impression_4"})
    assert loaded_entry.runtime_data.controller.frame_png is None
