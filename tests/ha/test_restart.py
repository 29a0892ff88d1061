"""A Home Assistant restart: a second HA instance on the same config folder and storage."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_test_home_assistant,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dalle_frame.const import CONF_PANEL, DOMAIN

from .fake_server import FakeGpuServer

RESTORED = (
    "image.frame_art",
    "image.frame_frame",
    "text.frame_prompt",
    "switch.frame_auto_mode",
    "number.frame_auto_interval",
    "select.frame_auto_source",
    "sensor.frame_generation_time",
)


async def test_everything_is_back_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Prompt, art, frame, auto mode, interval, source and history return; auto mode fires."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={CONF_PANEL: "inky_impression_7_3"}
    )
    await hass.async_block_till_done()
    for prompt in ("a red car", "a lighthouse in a storm"):
        await hass.services.async_call(DOMAIN, "generate", {"prompt": prompt}, blocking=True)
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: "number.frame_auto_interval", "value": 15}, True
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.frame_auto_source", "option": "same_prompt"},
        True,
    )
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, True
    )
    before = {entity_id: hass.states.get(entity_id) for entity_id in RESTORED}
    controller = loaded_entry.runtime_data.controller
    art_png, frame_png = controller.art.png, controller.frame_png
    next_run = controller.auto.next_run
    client = await hass_client()
    proxied_frame = await (await client.get("/api/image_proxy/image.frame_frame")).read()
    assert proxied_frame == frame_png

    # HA stops (the entry unloads and saves its state), five minutes pass, HA starts again.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    freezer.tick(timedelta(minutes=5))

    async with async_test_home_assistant(config_dir=hass.config.config_dir) as hass2:
        hass2.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=loaded_entry.title,
            unique_id=loaded_entry.unique_id,
            data=dict(loaded_entry.data),
            options=dict(loaded_entry.options),
            entry_id=loaded_entry.entry_id,
        )
        entry.add_to_hass(hass2)
        assert await hass2.config_entries.async_setup(entry.entry_id)
        await hass2.async_block_till_done()

        for entity_id, old in before.items():
            new = hass2.states.get(entity_id)
            assert new.state == old.state, entity_id
            for name, value in old.attributes.items():
                if name not in ("access_token", "entity_picture"):
                    assert new.attributes[name] == value, (entity_id, name)
        restored = entry.runtime_data.controller
        assert restored.art.png == art_png
        assert restored.frame_png == frame_png  # same render, same time stamp: no e-paper refresh
        assert restored.history.count == 2
        assert restored.auto.next_run == next_run

        # Auto mode keeps its cadence: 15 minutes after it was switched on.
        freezer.tick(timedelta(minutes=10))
        async_fire_time_changed(hass2)
        await hass2.async_block_till_done(wait_background_tasks=True)
        assert server.requests[-1] == {"prompt": "a lighthouse in a storm", "seed": None}
        assert len(server.requests) == 3
        assert await hass2.config_entries.async_unload(entry.entry_id)
        await hass2.async_stop()
    assert (await client.get("/api/image_proxy/image.frame_frame")).status == HTTPStatus.NOT_FOUND
