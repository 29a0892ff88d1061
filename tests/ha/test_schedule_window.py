"""Auto mode's schedule: active hours across midnight and DST, a schedule helper, away mode."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dalle_frame.const import (
    CONF_ACTIVE_END,
    CONF_ACTIVE_START,
    CONF_ACTIVE_WEEKDAYS,
    CONF_AWAY_ENTITY,
    CONF_SCHEDULE_ENTITY,
)
from custom_components.dalle_frame.schedule_window import (
    AutoSchedule,
    HoursWindow,
    is_nobody_home,
    parse_time,
)

from .fake_server import FakeGpuServer

MINUTE = timedelta(minutes=1)
BERLIN = "Europe/Berlin"
NEXT_RUN_SENSOR = "sensor.frame_next_auto_run"


def berlin(text: str) -> datetime:
    """A Berlin wall-clock time ("2026-03-28 21:30") as an aware UTC datetime."""
    local = datetime.fromisoformat(text).replace(tzinfo=dt_util.get_time_zone(BERLIN))
    return dt_util.as_utc(local)


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move the clock, fire due timers, and wait for what they started."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def set_options(hass: HomeAssistant, entry: MockConfigEntry, **options: object) -> None:
    """Change the frame's options as the options flow does."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    await hass.async_block_till_done()


async def turn_on(hass: HomeAssistant) -> None:
    """Switch auto mode on."""
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )


@pytest.fixture
async def berlin_time(hass: HomeAssistant) -> None:
    """Home Assistant in Berlin (CET, CEST from 29 March 2026 02:00)."""
    await hass.config.async_set_time_zone(BERLIN)


# -- HoursWindow and away states, without a frame -----------------------------------------------


async def test_window_across_midnight(berlin_time: None) -> None:
    """22:00-06:00 on Mondays: the night after Monday belongs to Monday, not to Tuesday."""
    window = HoursWindow(start=time(22), end=time(6), weekdays=frozenset({0}))
    assert window.contains(berlin("2026-03-23 23:00"))  # Monday night
    assert window.contains(berlin("2026-03-24 05:59"))  # early Tuesday: still Monday's
    assert not window.contains(berlin("2026-03-24 06:00"))  # the end is outside
    assert not window.contains(berlin("2026-03-24 23:00"))  # Tuesday night
    assert not window.contains(berlin("2026-03-23 01:00"))  # Sunday's night
    assert window.next_allowed(berlin("2026-03-24 12:00")) == berlin("2026-03-30 22:00")
    assert window.next_allowed(berlin("2026-03-23 23:30")) == berlin("2026-03-23 23:30")


async def test_window_follows_dst(berlin_time: None) -> None:
    """07:00 is 06:00 UTC before the spring change and 05:00 UTC after it."""
    window = HoursWindow(start=time(7), end=time(22), weekdays=frozenset(range(7)))
    saturday_night = berlin("2026-03-28 22:30")
    assert window.next_allowed(saturday_night) == datetime.fromisoformat("2026-03-29T05:00Z")
    assert window.next_allowed(berlin("2026-03-27 23:00")) == datetime.fromisoformat(
        "2026-03-28T06:00Z"
    )
    # A start that does not exist on the change day (02:30) opens at 01:30 UTC (03:30 CEST).
    night = HoursWindow(start=time(2, 30), end=time(4), weekdays=frozenset(range(7)))
    assert night.next_allowed(berlin("2026-03-29 00:00")) == datetime.fromisoformat(
        "2026-03-29T01:30Z"
    )
    # Autumn: 02:30 happens twice; the window opens at the first.
    assert night.next_allowed(berlin("2026-10-25 00:00")) == datetime.fromisoformat(
        "2026-10-25T00:30Z"
    )


async def test_whole_day_and_no_weekdays(berlin_time: None) -> None:
    """start == end is the whole day; no weekday means never."""
    whole = HoursWindow(start=time(8), end=time(8), weekdays=frozenset({5}))
    assert whole.contains(berlin("2026-03-29 07:59"))  # Sunday morning, Saturday's window
    assert not whole.contains(berlin("2026-03-29 08:00"))
    never = HoursWindow(start=time(8), end=time(9), weekdays=frozenset())
    assert never.next_allowed(berlin("2026-03-29 07:00")) is None
    assert parse_time("07:30") == time(7, 30)
    assert parse_time("7.30") is None
    assert parse_time(None) is None


@pytest.mark.parametrize(
    ("entity_id", "state", "away"),
    [
        ("person.anna", "home", False),
        ("person.anna", "not_home", True),
        ("person.anna", "work", True),
        ("device_tracker.phone", "not_home", True),
        ("group.family", "home", False),
        ("group.family", "not_home", True),
        ("group.sensors", "off", True),
        ("zone.home", "0", True),
        ("zone.home", "2", False),
        ("binary_sensor.occupancy", "on", False),
        ("binary_sensor.occupancy", "off", True),
        ("input_boolean.someone_home", "off", True),
        ("input_boolean.someone_home", "on", False),
        ("person.anna", STATE_UNKNOWN, False),
        ("person.anna", "unavailable", False),
    ],
)
async def test_nobody_home(hass: HomeAssistant, entity_id: str, state: str, away: bool) -> None:
    """What each kind of away entity says; no answer counts as someone home."""
    hass.states.async_set(entity_id, state)
    assert is_nobody_home(hass, entity_id) is away
    assert is_nobody_home(hass, "person.missing") is False


async def test_schedule_entity_states(hass: HomeAssistant) -> None:
    """A schedule entity: on allows, off waits for next_event, missing allows nothing."""
    schedule = AutoSchedule(hass)
    schedule.configure({CONF_SCHEDULE_ENTITY: "schedule.frame", CONF_ACTIVE_START: "07:00:00"})
    assert schedule.hours is None  # the helper wins over hours
    now = dt_util.utcnow()
    assert schedule.next_allowed(now) is None
    assert not schedule.in_window(now)
    turn_on_at = now + timedelta(hours=3)
    hass.states.async_set("schedule.frame", "off", {"next_event": turn_on_at})
    assert schedule.next_allowed(now) == turn_on_at
    assert not schedule.in_window(now)
    assert schedule.in_window(turn_on_at)  # about to flip: a run planned for it may fire
    hass.states.async_set("schedule.frame", "off", {"next_event": turn_on_at.isoformat()})
    assert schedule.next_allowed(now) == turn_on_at
    hass.states.async_set("schedule.frame", "off")
    assert schedule.next_allowed(now) is None
    hass.states.async_set("schedule.frame", "on", {"next_event": turn_on_at})
    assert schedule.next_allowed(now) == now
    assert schedule.in_window(now)


# -- auto mode with a schedule ------------------------------------------------------------------


async def test_active_hours_skip_the_night(
    hass: HomeAssistant,
    berlin_time: None,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """07:00-22:00: the 22:30 run moves to 07:00 (across the DST change), then hourly."""
    freezer.move_to(berlin("2026-03-28 20:30"))
    await set_options(
        hass,
        loaded_entry,
        **{CONF_ACTIVE_START: "07:00:00", CONF_ACTIVE_END: "22:00:00"},
    )
    controller = loaded_entry.runtime_data.controller
    await turn_on(hass)
    assert controller.auto.next_run == berlin("2026-03-28 21:30")
    assert hass.states.get(NEXT_RUN_SENSOR).state == berlin("2026-03-28 21:30").isoformat()

    await advance(hass, freezer, 60 * MINUTE)
    assert len(server.requests) == 1
    morning = datetime.fromisoformat("2026-03-29T05:00Z")  # 07:00 CEST
    assert controller.auto.next_run == morning
    assert hass.states.get(NEXT_RUN_SENSOR).state == morning.isoformat()

    await advance(hass, freezer, morning - dt_util.utcnow() - MINUTE)
    assert len(server.requests) == 1  # nothing at night
    await advance(hass, freezer, MINUTE)
    assert len(server.requests) == 2
    assert controller.auto.next_run == morning + 60 * MINUTE


async def test_weekdays_and_options_change(
    hass: HomeAssistant,
    berlin_time: None,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """Weekdays move the next run to the next chosen day; clearing the hours brings it back."""
    freezer.move_to(berlin("2026-03-27 10:00"))  # a Friday
    controller = loaded_entry.runtime_data.controller
    await turn_on(hass)
    await set_options(
        hass,
        loaded_entry,
        **{
            CONF_ACTIVE_START: "09:00:00",
            CONF_ACTIVE_END: "12:00:00",
            CONF_ACTIVE_WEEKDAYS: ["mon", "wed"],
        },
    )
    assert controller.auto.next_run == berlin("2026-03-30 09:00")
    await set_options(hass, loaded_entry, **{CONF_ACTIVE_START: "", CONF_ACTIVE_END: ""})
    assert controller.auto.next_run == berlin("2026-03-27 11:00")


async def test_restart_at_night_does_not_make_up(
    hass: HomeAssistant,
    berlin_time: None,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A run missed while HA was down fires after start-up only inside the window."""
    freezer.move_to(berlin("2026-03-23 20:30"))
    await set_options(
        hass,
        loaded_entry,
        **{CONF_ACTIVE_START: "07:00:00", CONF_ACTIVE_END: "22:00:00"},
    )
    await turn_on(hass)
    assert loaded_entry.runtime_data.controller.auto.next_run == berlin("2026-03-23 21:30")
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    freezer.move_to(berlin("2026-03-24 03:00"))
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert server.requests == []
    controller = loaded_entry.runtime_data.controller
    assert controller.auto.next_run == berlin("2026-03-24 07:00")
    await advance(hass, freezer, 4 * 60 * MINUTE)
    assert len(server.requests) == 1


async def test_tick_at_window_end_is_skipped(
    hass: HomeAssistant,
    berlin_time: None,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A tick that fires late, after the window closed, is skipped; the next is at opening."""
    freezer.move_to(berlin("2026-03-23 20:59"))
    await set_options(
        hass,
        loaded_entry,
        **{CONF_ACTIVE_START: "07:00:00", CONF_ACTIVE_END: "22:00:00"},
    )
    await turn_on(hass)
    controller = loaded_entry.runtime_data.controller
    assert controller.auto.next_run == berlin("2026-03-23 21:59")
    await advance(hass, freezer, 62 * MINUTE)  # the loop was busy: it fires at 22:01
    assert server.requests == []
    assert controller.auto.next_run == berlin("2026-03-24 07:00")


# The schedule helper keeps its own timer for its next change.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_schedule_helper(
    hass: HomeAssistant,
    berlin_time: None,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A real schedule helper: when it turns off the next run moves to its next turn-on."""
    freezer.move_to(berlin("2026-03-23 21:30"))
    day = [{"from": "07:00:00", "to": "22:00:00"}]
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    assert await async_setup_component(
        hass,
        "schedule",
        {"schedule": {"frame_hours": {"name": "Frame hours"} | dict.fromkeys(days, day)}},
    )
    await hass.async_block_till_done()
    assert hass.states.get("schedule.frame_hours").state == "on"
    await set_options(hass, loaded_entry, **{CONF_SCHEDULE_ENTITY: "schedule.frame_hours"})
    controller = loaded_entry.runtime_data.controller
    await turn_on(hass)
    assert controller.auto.next_run == berlin("2026-03-23 22:30")
    await advance(hass, freezer, 30 * MINUTE)  # 22:00: the helper turns off
    assert hass.states.get("schedule.frame_hours").state == "off"
    assert controller.auto.next_run == berlin("2026-03-24 07:00")
    await advance(hass, freezer, berlin("2026-03-24 07:00") - dt_util.utcnow())
    assert len(server.requests) == 1
    assert controller.auto.next_run == berlin("2026-03-24 08:00")


async def test_away_pauses(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """Nobody home: ticks are skipped and the next run is unknown; back home it shows again."""
    freezer.move_to("2026-03-23 12:00:00+00:00")  # whole seconds, as the sensor shows them
    hass.states.async_set("binary_sensor.someone_home", "on")
    await set_options(hass, loaded_entry, **{CONF_AWAY_ENTITY: "binary_sensor.someone_home"})
    start = dt_util.utcnow()
    await turn_on(hass)
    assert hass.states.get(NEXT_RUN_SENSOR).state == (start + 60 * MINUTE).isoformat()
    hass.states.async_set("binary_sensor.someone_home", "off")
    await hass.async_block_till_done()
    assert hass.states.get(NEXT_RUN_SENSOR).state == STATE_UNKNOWN
    await advance(hass, freezer, 60 * MINUTE)
    assert server.requests == []
    hass.states.async_set("binary_sensor.someone_home", "on")
    await hass.async_block_till_done()
    assert hass.states.get(NEXT_RUN_SENSOR).state == (start + 120 * MINUTE).isoformat()
    await advance(hass, freezer, 60 * MINUTE)
    assert len(server.requests) == 1
    # A schedule helper that does not exist allows no run; the entities followed change.
    await set_options(hass, loaded_entry, **{CONF_SCHEDULE_ENTITY: "schedule.missing"})
    assert loaded_entry.runtime_data.controller.auto.next_run is None
    assert hass.states.get(NEXT_RUN_SENSOR).state == STATE_UNKNOWN
    await set_options(hass, loaded_entry, **{CONF_SCHEDULE_ENTITY: ""})
    assert hass.states.get(NEXT_RUN_SENSOR).state == (start + 180 * MINUTE).isoformat()
    # Unloading stops following the entity.
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    hass.states.async_set("binary_sensor.someone_home", "off")
    await hass.async_block_till_done()


async def test_replanning_to_the_same_moment_keeps_the_armed_timer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
) -> None:
    """A watched entity that changes without moving the next run leaves its timer armed.

    Re-arming put a run that was due at that very moment (the schedule helper turning on at
    07:00 in the same timer pass as the 07:00 run) behind the pass, so it ran late or not.
    """
    hass.states.async_set("binary_sensor.someone_home", "on")
    await set_options(hass, loaded_entry, **{CONF_AWAY_ENTITY: "binary_sensor.someone_home"})
    with patch(
        "custom_components.dalle_frame.auto_mode.async_track_point_in_utc_time",
        wraps=async_track_point_in_utc_time,
    ) as arm:
        await turn_on(hass)
        assert arm.call_count == 1
        hass.states.async_set("binary_sensor.someone_home", "on", {"source": "phone"})
        await hass.async_block_till_done()
        assert arm.call_count == 1
        await advance(hass, freezer, 60 * MINUTE)
        assert len(server.requests) == 1
        assert arm.call_count == 2
