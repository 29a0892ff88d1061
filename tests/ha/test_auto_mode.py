"""Auto mode with frozen time: cadence, sources, skipping while busy, restarts, failures."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dalle_frame.const import DOMAIN

from .fake_server import ErrorAnswer, FakeGpuServer

MINUTE = timedelta(minutes=1)


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move the clock, fire due timers, and wait for what they started."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def turn_on(hass: HomeAssistant) -> None:
    """Switch auto mode on."""
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )


async def set_source(hass: HomeAssistant, source: str) -> None:
    """Choose the auto source."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.frame_auto_source", "option": source},
        blocking=True,
    )


async def test_fires_every_interval(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """On: the first run comes one interval later, then every interval, same prompt."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await set_source(hass, "same_prompt")
    start = dt_util.utcnow()
    await turn_on(hass)
    controller = loaded_entry.runtime_data.controller
    assert controller.auto.next_run == start + 60 * MINUTE

    await advance(hass, freezer, 59 * MINUTE)
    assert len(server.requests) == 1
    await advance(hass, freezer, MINUTE)
    assert len(server.requests) == 2
    assert server.requests[-1] == {"prompt": "a red car", "seed": None}
    assert controller.auto.next_run == start + 120 * MINUTE
    assert hass.states.get("switch.frame_auto_mode").attributes["next_run"] == (
        (start + 120 * MINUTE).isoformat()
    )
    await advance(hass, freezer, 60 * MINUTE)
    assert len(server.requests) == 3


async def test_new_prompt_source(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """The new-prompt source takes another prompt from the list each time."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await set_source(hass, "new_prompt")
    await turn_on(hass)
    await advance(hass, freezer, 60 * MINUTE)
    assert server.requests[-1]["prompt"] != "a red car"
    assert hass.states.get("text.frame_prompt").state == server.requests[-1]["prompt"]


async def test_random_mix_source(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """The random mix (default, like the original frame) does both."""
    loaded_entry.runtime_data.controller.rng.seed(3)
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await turn_on(hass)
    kinds = set()
    for _ in range(8):
        before = loaded_entry.runtime_data.controller.prompt
        await advance(hass, freezer, 60 * MINUTE)
        kinds.add(server.requests[-1]["prompt"] == before)
    assert kinds == {True, False}
    assert len(server.requests) == 9


async def test_skips_while_generating(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A tick during a generation is skipped, not queued; the cadence goes on."""
    # A short interval: the clock may not jump past the client's read timeout (600 s).
    await loaded_entry.runtime_data.controller.auto.async_set_interval(5)
    await turn_on(hass)
    start = dt_util.utcnow()
    server.gate = asyncio.Event()
    busy = hass.async_create_task(
        hass.services.async_call(DOMAIN, "generate", {"prompt": "slow"}, blocking=True)
    )
    await server.generation_started.wait()
    freezer.tick(5 * MINUTE)
    async_fire_time_changed(hass)  # runs the tick now: it finds the generation running
    server.gate.set()
    await busy
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [request["prompt"] for request in server.requests] == ["slow"]
    assert loaded_entry.runtime_data.controller.auto.next_run == start + 10 * MINUTE


async def test_interval_change_keeps_anchor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A new interval counts from the last run; one already due fires at once."""
    controller = loaded_entry.runtime_data.controller
    start = dt_util.utcnow()
    await turn_on(hass)
    await advance(hass, freezer, 10 * MINUTE)
    await controller.auto.async_set_interval(30)
    assert controller.auto.next_run == start + 30 * MINUTE
    await controller.auto.async_set_interval(5)
    assert controller.auto.next_run == start + 10 * MINUTE
    await advance(hass, freezer, timedelta(0))
    assert len(server.requests) == 1
    assert controller.auto.next_run == start + 15 * MINUTE
    await controller.auto.async_set_interval(5)  # unchanged: nothing moves
    assert controller.auto.next_run == start + 15 * MINUTE


async def test_failure_is_logged(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed automatic generation is logged and shown; auto mode keeps going."""
    await turn_on(hass)
    server.errors.append(ErrorAnswer(500, "model_failed", "out of memory"))
    await advance(hass, freezer, 60 * MINUTE)
    assert "Automatic generation for Frame failed" in caplog.text
    assert hass.states.get("sensor.frame_status").state == "error"
    await advance(hass, freezer, 60 * MINUTE)
    assert hass.states.get("sensor.frame_status").state == "idle"
    assert len(server.requests) == 2


async def test_schedule_survives_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """Unloading and loading again (as at a restart) keeps the next run time."""
    start = dt_util.utcnow()
    await turn_on(hass)
    await advance(hass, freezer, 20 * MINUTE)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    controller = loaded_entry.runtime_data.controller
    assert controller.auto.enabled
    assert controller.auto.next_run == start + 60 * MINUTE
    await advance(hass, freezer, 39 * MINUTE)
    assert server.requests == []
    await advance(hass, freezer, MINUTE)
    assert len(server.requests) == 1


async def test_missed_run_fires_after_start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A run missed while Home Assistant was down fires right after start-up."""
    start = dt_util.utcnow()
    await turn_on(hass)
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    freezer.tick(3 * 60 * MINUTE)  # HA is down for three hours
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await advance(hass, freezer, timedelta(0))
    assert len(server.requests) == 1
    assert loaded_entry.runtime_data.controller.auto.next_run == start + 240 * MINUTE
