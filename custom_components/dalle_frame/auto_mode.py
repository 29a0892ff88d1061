"""Auto mode: a clock that fires every interval while on, and what each tick generates.

``AutoModeScheduler`` only keeps time; ``AutoMode`` adds the prompt source and runs one
generation per tick, skipping the tick while a generation runs. The next run time is part of
the frame's saved state, so a restart resumes the same cadence, and a run missed while Home
Assistant was down fires right after start-up when the schedule allows it.

The schedule (``schedule_window.AutoSchedule``: active hours and weekdays, or an HA schedule
helper) moves each run into the allowed time: a run that falls outside it is not made up when
the window closes or at night, and the next run is the window's next opening, from which the
cadence goes on (a bedroom frame set to 07:00-22:00 refreshes at 07:00, not at 03:00 after a
restart). While the away entity says nobody is home, ticks are skipped and the next run is
unknown; the cadence goes on, so the frame resumes on it when someone is back. Every Nth run
shows a photo instead (``photo_every``), or every run with the "photos" source.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.util import dt as dt_util

from .const import (
    AUTO_SOURCE_PHOTOS,
    AUTO_SOURCES,
    CONF_PHOTO_EVERY,
    DEFAULT_AUTO_SOURCE,
    DEFAULT_PHOTO_EVERY,
    DOMAIN,
    LOGGER,
)
from .errors import DalleFrameError
from .schedule_window import AutoSchedule


class AutoModeScheduler:
    """Calls `on_tick` at `next_run` and then every `interval` while enabled.

    `due` is the cadence's next moment; `next_run` is `due` (or now, when `due` has passed)
    moved into the allowed time by `plan`, or None while `plan` knows no allowed moment.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        on_tick: Callable[[], None],
        on_change: Callable[[], None],
        plan: Callable[[datetime], datetime | None] = lambda moment: moment,
    ) -> None:
        self._hass = hass
        self._on_tick = on_tick
        self._on_change = on_change
        self._plan = plan
        self._unsub: CALLBACK_TYPE | None = None
        self.enabled = False
        self.interval = timedelta(minutes=60)
        self.due: datetime | None = None
        self.next_run: datetime | None = None

    @callback
    def async_start(self, enabled: bool, interval: timedelta, next_run: datetime | None) -> None:
        """Resume from saved state (a next run in the past fires at once if allowed now)."""
        self.enabled = enabled
        self.interval = interval
        self.due = next_run if enabled else None
        if enabled and self.due is None:
            self.due = dt_util.utcnow() + interval
        self._async_schedule()

    @callback
    def async_stop(self) -> None:
        """Stop the timer (the entry unloads)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def async_set_enabled(self, enabled: bool) -> None:
        """Turn auto mode on (first run one interval from now) or off."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        self.due = dt_util.utcnow() + self.interval if enabled else None
        self._async_schedule()
        self._on_change()

    @callback
    def async_set_interval(self, interval: timedelta) -> None:
        """Change the interval, keeping the time of the last run as the anchor."""
        if interval == self.interval:
            return
        if self.due is not None:
            anchor = self.due - self.interval
            self.due = max(anchor + interval, dt_util.utcnow())
        self.interval = interval
        self._async_schedule()
        self._on_change()

    @callback
    def async_replan(self) -> None:
        """Plan the next run again (the schedule's options or states changed)."""
        self._async_schedule()

    @callback
    def _async_schedule(self) -> None:
        """Plan `next_run` from `due` and (re)arm the timer for it.

        A timer already armed for the planned moment is kept: re-planning when the schedule
        helper turns on at the very moment a run is due must not put that run back.
        """
        if not self.enabled or self.due is None:
            self.async_stop()
            self.next_run = None
            return
        next_run = self._plan(max(self.due, dt_util.utcnow()))
        if self._unsub is not None and next_run == self.next_run:
            return
        self.async_stop()
        self.next_run = next_run
        if self.next_run is not None:
            LOGGER.debug("Next automatic generation at %s", self.next_run)
            self._unsub = async_track_point_in_utc_time(self._hass, self._async_fire, self.next_run)
        else:
            LOGGER.debug("Auto mode waits for its schedule to allow a run")

    @callback
    def _async_fire(self, scheduled: datetime) -> None:
        """Timer callback: plan the next run on the same cadence, then tick.

        `scheduled` is the time the timer was set for, which lies in the past when the run was
        missed (Home Assistant was down): the cadence then restarts from now.
        """
        self._unsub = None
        now = dt_util.utcnow()
        due = scheduled + self.interval
        if due <= now:
            due = now + self.interval
        self.due = due
        self._async_schedule()
        self._on_change()
        self._on_tick()


class AutoMode:
    """Auto mode of one frame: on or off, its interval and prompt source, and its ticks.

    Each tick runs `regenerate` (same prompt) or `new_prompt` as the source says, unless
    `is_generating()`; `on_change` is called after every change of the state it holds.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        is_generating: Callable[[], bool],
        regenerate: Callable[[], Awaitable[object]],
        new_prompt: Callable[[], Awaitable[object]],
        on_change: Callable[[], None],
        rng: random.Random,
        show_photo: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._is_generating = is_generating
        self._regenerate = regenerate
        self._new_prompt = new_prompt
        self._show_photo = show_photo
        self._on_change = on_change
        self._rng = rng
        self.schedule = AutoSchedule(hass)
        self._scheduler = AutoModeScheduler(
            hass, self._async_tick, on_change, self.schedule.next_allowed
        )
        self._unsub_watch: CALLBACK_TYPE | None = None
        self._runs = 0
        self.photo_every = DEFAULT_PHOTO_EVERY
        self.source = DEFAULT_AUTO_SOURCE

    @property
    def enabled(self) -> bool:
        """Whether auto mode is on."""
        return self._scheduler.enabled

    @property
    def runs(self) -> int:
        """Automatic runs so far (remembered across restarts for the photo every Nth run)."""
        return self._runs

    @property
    def interval_minutes(self) -> int:
        """Minutes between automatic generations."""
        return int(self._scheduler.interval.total_seconds() // 60)

    @property
    def next_run(self) -> datetime | None:
        """When auto mode fires next (None while off or waiting for its schedule)."""
        return self._scheduler.next_run

    @property
    def next_visible_run(self) -> datetime | None:
        """When auto mode will next change the picture: also None while nobody is home."""
        return None if self.schedule.nobody_home else self._scheduler.next_run

    @callback
    def async_configure(self, options: Mapping[str, Any]) -> None:
        """Apply the schedule, away and photo-mix options; follow the chosen entities."""
        self.photo_every = int(options.get(CONF_PHOTO_EVERY) or DEFAULT_PHOTO_EVERY)
        self.schedule.configure(options)
        if self._unsub_watch is not None:
            self._unsub_watch()
            self._unsub_watch = None
        if watched := self.schedule.watched_entities:
            self._unsub_watch = async_track_state_change_event(
                self._hass, watched, self._async_watched_changed
            )
        self._scheduler.async_replan()
        self._on_change()

    @callback
    def _async_watched_changed(self, event: Event[EventStateChangedData]) -> None:
        """Plan and show the next run again (the schedule helper or away entity changed)."""
        self._scheduler.async_replan()
        self._on_change()

    @callback
    def async_start(
        self,
        enabled: bool,
        interval_minutes: int,
        next_run: datetime | None,
        source: str,
        *,
        runs: int = 0,
    ) -> None:
        """Resume from saved state (a next run in the past fires at once if allowed now)."""
        self.source = source
        self._runs = runs
        self._scheduler.async_start(enabled, timedelta(minutes=interval_minutes), next_run)

    @callback
    def async_stop(self) -> None:
        """Stop the timer and stop following entities (the entry unloads)."""
        self._scheduler.async_stop()
        if self._unsub_watch is not None:
            self._unsub_watch()
            self._unsub_watch = None

    async def async_set_enabled(self, enabled: bool) -> None:
        """Turn auto mode on or off (the switch)."""
        self._scheduler.async_set_enabled(enabled)

    async def async_set_interval(self, minutes: int) -> None:
        """Set minutes between automatic generations (the number entity)."""
        self._scheduler.async_set_interval(timedelta(minutes=minutes))

    async def async_set_source(self, source: str) -> None:
        """Set where automatic prompts come from (the select entity)."""
        if source not in AUTO_SOURCES:
            raise ValueError(f"unknown auto source {source!r}")
        self.source = source
        self._on_change()

    @callback
    def _async_tick(self) -> None:
        """Scheduler tick: generate unless outside the schedule, nobody home, or busy."""
        if not self.schedule.in_window(dt_util.utcnow()):
            LOGGER.debug("Auto mode skips a tick: %s is outside its schedule", self._entry.title)
            return
        if self.schedule.nobody_home:
            LOGGER.debug("Auto mode skips a tick: nobody is home for %s", self._entry.title)
            return
        if self._is_generating():
            LOGGER.debug("Auto mode skips a tick: %s is generating", self._entry.title)
            return
        self._entry.async_create_background_task(
            self._hass, self._async_generate(), f"{DOMAIN} auto mode for {self._entry.title}"
        )

    async def _async_generate(self) -> None:
        """Run one automatic generation, from the configured source (or a photo)."""
        source = self.source
        self._runs += 1
        self._on_change()  # remembered, so every Nth run stays every Nth across restarts
        if self._show_photo is not None and (
            source == AUTO_SOURCE_PHOTOS
            or (self.photo_every > 0 and self._runs % self.photo_every == 0)
        ):
            try:
                await self._show_photo()
            except DalleFrameError as err:
                LOGGER.warning("Automatic photo for %s failed: %s", self._entry.title, err)
            return
        if source == "random_mix":
            source = self._rng.choice(("same_prompt", "new_prompt"))
        try:
            if source == "same_prompt":
                await self._regenerate()
            else:
                await self._new_prompt()
        except DalleFrameError as err:
            LOGGER.warning("Automatic generation for %s failed: %s", self._entry.title, err)
