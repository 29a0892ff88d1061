"""Auto mode's clock: fires every interval while on, and keeps its schedule across restarts.

The scheduler only keeps time. What a tick does (and whether it skips because a generation is
running) is the controller's business. The next run time is part of the frame's saved state,
so a restart resumes the same cadence, and a run missed while Home Assistant was down fires
right after start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import LOGGER


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
