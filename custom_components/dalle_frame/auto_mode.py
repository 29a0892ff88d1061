"""Auto mode: a clock that fires every interval while on, and what each tick generates.

``AutoModeScheduler`` only keeps time; ``AutoMode`` adds the prompt source and runs one
generation per tick, skipping the tick while a generation runs. The next run time is part of
the frame's saved state, so a restart resumes the same cadence, and a run missed while Home
Assistant was down fires right after start-up.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import AUTO_SOURCES, DOMAIN, LOGGER
from .errors import DalleFrameError


class AutoModeScheduler:
    """Calls `on_tick` at `next_run` and then every `interval` while enabled."""

    def __init__(
        self,
        hass: HomeAssistant,
        on_tick: Callable[[], None],
        on_change: Callable[[], None],
    ) -> None:
        self._hass = hass
        self._on_tick = on_tick
        self._on_change = on_change
        self._unsub: CALLBACK_TYPE | None = None
        self.enabled = False
        self.interval = timedelta(minutes=60)
        self.next_run: datetime | None = None

    @callback
    def async_start(self, enabled: bool, interval: timedelta, next_run: datetime | None) -> None:
        """Resume from saved state (a next run in the past fires at once)."""
        self.enabled = enabled
        self.interval = interval
        self.next_run = next_run if enabled else None
        if enabled and self.next_run is None:
            self.next_run = dt_util.utcnow() + interval
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
        self.next_run = dt_util.utcnow() + self.interval if enabled else None
        self._async_schedule()
        self._on_change()

    @callback
    def async_set_interval(self, interval: timedelta) -> None:
        """Change the interval, keeping the time of the last run as the anchor."""
        if interval == self.interval:
            return
        if self.next_run is not None:
            anchor = self.next_run - self.interval
            self.next_run = max(anchor + interval, dt_util.utcnow())
        self.interval = interval
        self._async_schedule()
        self._on_change()

    @callback
    def _async_schedule(self) -> None:
        """(Re)arm the timer for `next_run`."""
        self.async_stop()
        if self.enabled and self.next_run is not None:
            LOGGER.debug("Next automatic generation at %s", self.next_run)
            self._unsub = async_track_point_in_utc_time(self._hass, self._async_fire, self.next_run)

    @callback
    def _async_fire(self, scheduled: datetime) -> None:
        """Timer callback: plan the next run on the same cadence, then tick.

        `scheduled` is the time the timer was set for, which lies in the past when the run was
        missed (Home Assistant was down): the cadence then restarts from now.
        """
        self._unsub = None
        now = dt_util.utcnow()
        next_run = scheduled + self.interval
        if next_run <= now:
            next_run = now + self.interval
        self.next_run = next_run
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
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._is_generating = is_generating
        self._regenerate = regenerate
        self._new_prompt = new_prompt
        self._on_change = on_change
        self._rng = rng
        self._scheduler = AutoModeScheduler(hass, self._async_tick, on_change)
        self.source = AUTO_SOURCES[-1]

    @property
    def enabled(self) -> bool:
        """Whether auto mode is on."""
        return self._scheduler.enabled

    @property
    def interval_minutes(self) -> int:
        """Minutes between automatic generations."""
        return int(self._scheduler.interval.total_seconds() // 60)

    @property
    def next_run(self) -> datetime | None:
        """When auto mode fires next (None while off)."""
        return self._scheduler.next_run

    @callback
    def async_start(
        self, enabled: bool, interval_minutes: int, next_run: datetime | None, source: str
    ) -> None:
        """Resume from saved state (a next run in the past fires at once)."""
        self.source = source
        self._scheduler.async_start(enabled, timedelta(minutes=interval_minutes), next_run)

    @callback
    def async_stop(self) -> None:
        """Stop the timer (the entry unloads)."""
        self._scheduler.async_stop()

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
        """Scheduler tick: generate unless a generation is running."""
        if self._is_generating():
            LOGGER.debug("Auto mode skips a tick: %s is generating", self._entry.title)
            return
        self._entry.async_create_background_task(
            self._hass, self._async_generate(), f"{DOMAIN} auto mode for {self._entry.title}"
        )

    async def _async_generate(self) -> None:
        """Run one automatic generation, from the configured source."""
        source = self.source
        if source == "random_mix":
            source = self._rng.choice(("same_prompt", "new_prompt"))
        try:
            if source == "same_prompt":
                await self._regenerate()
            else:
                await self._new_prompt()
        except DalleFrameError as err:
            LOGGER.warning("Automatic generation for %s failed: %s", self._entry.title, err)
