"""A frame's model-dependent settings: the panel's size, steps and guidance, and the art's size.

Against the stand-in server playing an old server (no capabilities), min-dalle and a
diffusion model; the options form, what each request carries, a model change on the server,
the Art image at the painted size and the Frame rendered from it.
"""

from __future__ import annotations

import copy
import io
import logging
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.util import dt as dt_util
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.api import ServerHealth
from custom_components.dalle_frame.capabilities import parse_capabilities
from custom_components.dalle_frame.const import (
    CONF_CAPTION,
    CONF_FIT,
    CONF_HISTORY_SIZE,
    CONF_ORIENTATION,
    CONF_PANEL,
    DOMAIN,
)
from custom_components.dalle_frame.diagnostics import async_get_config_entry_diagnostics
from custom_components.dalle_frame.model_settings import (
    CONF_GUIDANCE_SCALE,
    CONF_SETTINGS_MODEL,
    CONF_STEPS,
    entry_health,
    generation_settings,
    reconcile_options,
)
from custom_components.dalle_frame.models import Art
from custom_components.dalle_frame.render import RenderOptions, render_frame

from .fake_server import DIFFUSION_CAPABILITIES, MIN_DALLE_CAPABILITIES, FakeGpuServer

PAINTING = {"prompt": "a lighthouse at dusk", "seed": 7}


async def use_model(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    server: FakeGpuServer,
    capabilities: dict[str, Any] | None,
    **options: Any,
) -> None:
    """Let the server run a model, set the frame's options and let the frame see both."""
    server.capabilities = capabilities
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def paint(hass: HomeAssistant, server: FakeGpuServer) -> dict[str, Any]:
    """Generate one picture; return the request the server received."""
    await hass.services.async_call(DOMAIN, "generate", PAINTING, blocking=True)
    return server.requests[-1]


def art_size(hass: HomeAssistant) -> tuple[int, int]:
    """The Art image's size as its attributes state it."""
    attributes = hass.states.get("image.frame_art").attributes
    return attributes["width"], attributes["height"]


def schema_fields(result: Any) -> dict[str, Any]:
    """The options form's fields and their suggested values."""
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


async def test_an_old_server_gets_prompt_and_seed(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Without capabilities the frame asks as before (the old server refuses other fields)."""
    await use_model(hass, loaded_entry, server, None, **{CONF_STEPS: 3})
    assert await paint(hass, server) == PAINTING
    assert art_size(hass) == (256, 256)


async def test_min_dalle_gets_the_panel_size_only(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """min-dalle: the panel's size in its orientation, never steps or guidance."""
    await use_model(hass, loaded_entry, server, MIN_DALLE_CAPABILITIES, **{CONF_CAPTION: False})
    assert await paint(hass, server) == {**PAINTING, "width": 600, "height": 448}
    assert art_size(hass) == (256, 256)
    await use_model(
        hass,
        loaded_entry,
        server,
        MIN_DALLE_CAPABILITIES,
        **{CONF_ORIENTATION: "portrait", CONF_STEPS: 3, CONF_GUIDANCE_SCALE: 2.0},
    )
    assert await paint(hass, server) == {**PAINTING, "width": 448, "height": 600}


async def test_diffusion_gets_size_steps_and_guidance(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """A diffusion model gets the chosen steps and guidance; the art comes at its own size."""
    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES, **{CONF_CAPTION: False})
    assert await paint(hass, server) == {**PAINTING, "width": 600, "height": 448}
    # 600x448 scaled into 512*512 pixels and rounded to multiples of 64.
    assert art_size(hass) == (576, 448)

    await use_model(
        hass,
        loaded_entry,
        server,
        DIFFUSION_CAPABILITIES,
        **{
            CONF_PANEL: "inky_impression_7_3",
            CONF_ORIENTATION: "portrait",
            CONF_STEPS: 6,
            CONF_GUIDANCE_SCALE: 2.5,
            CONF_SETTINGS_MODEL: "test",
        },
    )
    sent = await paint(hass, server)
    assert sent == {**PAINTING, "width": 480, "height": 800, "steps": 6, "guidance_scale": 2.5}
    assert art_size(hass) == (384, 640)
    frame = Image.open(io.BytesIO(loaded_entry.runtime_data.controller.frame_png or b""))
    assert frame.size == (480, 800)


async def test_panel_sized_art_fills_the_panel_without_a_crop(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """With an upscaler the art has the panel's exact size: cover crops nothing."""
    server.upscaler = {"model": "test-upscaler", "scale": 4, "ready": True}
    options = {CONF_PANEL: "inky_impression_7_3", CONF_FIT: "cover", CONF_CAPTION: False}
    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES, **options)
    await paint(hass, server)
    assert art_size(hass) == (800, 480)
    controller = loaded_entry.runtime_data.controller
    assert controller.art is not None
    stretched = RenderOptions(panel="inky_impression_7_3", fit="stretch", caption=None)
    # Cover and stretch agree only when cover shows the whole picture.
    assert controller.frame_png == render_frame(controller.art.png, stretched)


async def test_options_show_steps_and_guidance_only_for_a_model_that_has_them(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """The form offers the model's settings with its defaults; values survive a form without."""
    for capabilities in (None, MIN_DALLE_CAPABILITIES):
        await use_model(hass, loaded_entry, server, capabilities)
        result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
        assert CONF_STEPS not in schema_fields(result)
        assert CONF_GUIDANCE_SCALE not in schema_fields(result)
        hass.config_entries.options.async_abort(result["flow_id"])

    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES)
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    fields = schema_fields(result)
    assert (fields[CONF_STEPS], fields[CONF_GUIDANCE_SCALE]) == (4, 3.5)
    form = {key: value for key, value in fields.items() if value is not None}
    with pytest.raises(InvalidData):  # beyond the model's range: the form refuses it
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**form, CONF_STEPS: 9}
        )
    render_form = {
        key: value
        for key, value in form.items()
        if key in fields and key not in (CONF_STEPS, CONF_GUIDANCE_SCALE)
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, CONF_STEPS: 2.0, CONF_GUIDANCE_SCALE: 1.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options[CONF_STEPS] == 2
    assert loaded_entry.options[CONF_GUIDANCE_SCALE] == 1.5
    assert loaded_entry.options[CONF_SETTINGS_MODEL] == "test"
    assert (await paint(hass, server))["steps"] == 2

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert schema_fields(result)[CONF_STEPS] == 2
    hass.config_entries.options.async_abort(result["flow_id"])

    server.health_status = "loading"  # still the same model, but no form fields while down
    server.capabilities = None
    await loaded_entry.runtime_data.coordinator.async_refresh()
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert CONF_STEPS not in schema_fields(result)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**render_form, CONF_HISTORY_SIZE: 20}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_HISTORY_SIZE] == 20
    assert loaded_entry.options[CONF_STEPS] == 2
    assert loaded_entry.options[CONF_SETTINGS_MODEL] == "test"


async def test_a_model_change_clamps_or_resets_the_settings(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of the model's range: clamped; a setting it lost: removed; another model: reset."""
    caplog.set_level(logging.INFO)
    chosen = {CONF_STEPS: 8, CONF_GUIDANCE_SCALE: 9.0, CONF_SETTINGS_MODEL: "test"}
    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES, **chosen)
    assert {key: loaded_entry.options[key] for key in chosen} == chosen

    narrower = copy.deepcopy(DIFFUSION_CAPABILITIES)
    narrower["steps"] = {"min": 1, "max": 4, "default": 2}
    narrower["guidance"] = {"min": 0.0, "max": 5.0, "default": 1.0}
    await use_model(hass, loaded_entry, server, narrower)
    assert loaded_entry.options[CONF_STEPS] == 4
    assert loaded_entry.options[CONF_GUIDANCE_SCALE] == 5.0
    assert "Frame: steps 8 is outside 1..4 of the model 'test'; now 4" in caplog.text
    assert "Frame: guidance 9 is outside 0..5 of the model 'test'; now 5" in caplog.text

    narrower["guidance"] = None
    await use_model(hass, loaded_entry, server, narrower)
    assert CONF_GUIDANCE_SCALE not in loaded_entry.options
    assert "the model 'test' no longer takes guidance; the setting is removed" in caplog.text
    assert (await paint(hass, server))["steps"] == 4

    server.generator_model = "sd-turbo"
    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES)
    assert not {CONF_STEPS, CONF_GUIDANCE_SCALE, CONF_SETTINGS_MODEL} & set(loaded_entry.options)
    assert (
        "the server now runs the model 'sd-turbo', so steps and guidance go back to its "
        "defaults (4 steps, guidance 3.5)" in caplog.text
    )
    assert "steps" not in await paint(hass, server)


def test_reconcile_without_settings_or_with_odd_values() -> None:
    """Nothing chosen: nothing changes; a value that is not a number is dropped."""
    health = ServerHealth(
        status="ok",
        version="1",
        generator_model="m",
        generator_device="cpu",
        generator_ready=True,
        asr_model="",
        asr_ready=False,
        capabilities=parse_capabilities(MIN_DALLE_CAPABILITIES),
    )
    assert reconcile_options({CONF_PANEL: "inky_impression_4"}, health) == (
        {CONF_PANEL: "inky_impression_4"},
        [],
    )
    options, changes = reconcile_options({CONF_STEPS: True, CONF_SETTINGS_MODEL: "m"}, health)
    assert options == {}
    assert changes == ["the model 'm' no longer takes steps; the setting is removed"]
    assert "it has neither" in reconcile_options({CONF_STEPS: 2}, health)[1][0]
    flat = parse_capabilities(
        {**DIFFUSION_CAPABILITIES, "guidance": {"min": 0, "max": 0, "default": 0}}
    )
    sent = generation_settings({CONF_GUIDANCE_SCALE: 1.0, CONF_STEPS: 99}, flat)
    assert sent.as_json() == {"width": 600, "height": 448, "steps": 8}


async def test_options_of_a_frame_that_is_not_loaded(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    """A frame that is not set up has no health: the form has no model settings."""
    mock_entry.add_to_hass(hass)
    assert mock_entry.state is ConfigEntryState.NOT_LOADED
    assert entry_health(mock_entry) is None


async def test_diagnostics_show_the_capabilities(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Diagnostics hold the model's capabilities, the upscaler and what a request asks for."""
    server.upscaler = {"model": "test-upscaler", "scale": 4, "ready": False}
    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES)
    await paint(hass, server)
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
    health = diagnostics["server"]["health"]
    assert health["capabilities"]["family"] == "diffusion"
    assert health["capabilities"]["steps"] == {"min": 1, "max": 8, "default": 4}
    assert health["upscaler"] == {"model": "test-upscaler", "scale": 4, "ready": False}
    # Diagnostics show the whole panel; the request was for the art area above the caption.
    assert diagnostics["server"]["generation_request"] == {"width": 600, "height": 448}
    assert diagnostics["frame"]["art"]["size"] == [600, 406]


async def test_a_caption_takes_its_band_off_the_requested_size(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """With the caption on, the frame asks for the art area's aspect: cover crops nothing."""
    server.upscaler = {"model": "test-upscaler", "scale": 4, "ready": True}
    options = {CONF_PANEL: "inky_impression_7_3", CONF_FIT: "cover", CONF_CAPTION: True}
    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES, **options)
    # One line of caption takes 46 px of the 480: the art area is 800x434.
    assert await paint(hass, server) == {**PAINTING, "width": 800, "height": 434}
    assert art_size(hass) == (800, 434)
    controller = loaded_entry.runtime_data.controller
    assert controller.art is not None
    caption = PAINTING["prompt"]
    covered = RenderOptions(panel="inky_impression_7_3", fit="cover", caption=caption)
    stretched = RenderOptions(panel="inky_impression_7_3", fit="stretch", caption=caption)
    # Cover and stretch agree only when cover shows the whole picture.
    assert render_frame(controller.art.png, covered) == render_frame(controller.art.png, stretched)

    long_prompt = "a lighthouse in a storm " * 8  # three lines of caption: a lower art area
    await hass.services.async_call(DOMAIN, "generate", {"prompt": long_prompt}, blocking=True)
    assert server.requests[-1]["height"] < 434

    await use_model(hass, loaded_entry, server, DIFFUSION_CAPABILITIES, **{CONF_CAPTION: False})
    assert (await paint(hass, server))["height"] == 480


def test_art_without_a_png_header_has_no_size() -> None:
    """A picture whose bytes do not start like a PNG states no size (attributes stay None)."""
    art = Art(png=b"GIF89a", prompt="p", seed=1, seconds=1.0, created=dt_util.utcnow())
    assert art.size is None
