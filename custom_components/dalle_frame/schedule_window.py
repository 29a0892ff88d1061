"""When auto mode may run: active hours on chosen weekdays, or an HA schedule helper; away mode.

``HoursWindow`` is pure time arithmetic in Home Assistant's time zone: a window opens at
`start` on each chosen weekday and closes at `end` (the same day, or the next day when `end`
is not after `start`: 22:00-06:00 crosses midnight and belongs to the weekday it opens on;
`start == end` is the whole day). Start is inside, end outside. Local wall-clock times are
turned into UTC moments day by day, so a DST change moves the window with the clock; a start
that does not exist on a spring-forward day (02:30) opens at the same UTC moment as the hour
before the change would have (03:30 summer time).

``AutoSchedule`` reads the frame's options and the states of the chosen entities:
- an HA ``schedule`` entity instead of hours: auto mode may run while it is ``on``; its
  ``next_event`` attribute says when an ``off`` schedule turns on. A missing or unavailable
  schedule entity allows nothing (quiet hours win over a broken helper).
- an away entity: nobody is home while its state is ``not_home`` (person, device_tracker,
  group of people), ``off`` (binary_sensor, input_boolean, group of binary sensors: "someone
  is home" semantics) or ``0`` (zone: the number of people in it); a person or device_tracker
  in any zone other than ``home`` is away too. ``unknown``/``unavailable`` or a missing entity
  count as someone home, so a broken sensor never stops the frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, split_entity_id
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ACTIVE_END,
    CONF_ACTIVE_START,
    CONF_ACTIVE_WEEKDAYS,
    CONF_AWAY_ENTITY,
    CONF_SCHEDULE_ENTITY,
    WEEKDAYS,
)

__all__ = ["AutoSchedule", "HoursWindow", "is_nobody_home", "parse_time"]

# Days looked ahead for the next opening: a week covers every weekday choice.
_LOOKAHEAD_DAYS: Final = 8
_PERSON_DOMAINS: Final = frozenset({"person", "device_tracker"})
_AWAY_STATES: Final = frozenset({"not_home", STATE_OFF, "0"})
_NO_ANSWER: Final = frozenset({STATE_UNKNOWN, STATE_UNAVAILABLE})
ATTR_NEXT_EVENT: Final = "next_event"


def parse_time(value: object) -> time | None:
    """Read "HH:MM" or "HH:MM:SS" (the time selector's form); None when absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class HoursWindow:
    """Daily active hours on chosen weekdays (0 = Monday) in Home Assistant's time zone."""

    start: time
    end: time
    weekdays: frozenset[int]

    def _local(self, day: date, moment: time) -> datetime:
        """Return the UTC moment of a local wall-clock time on `day`."""
        local = datetime.combine(day, moment, tzinfo=dt_util.get_default_time_zone())
        return dt_util.as_utc(local)

    def _windows(self, around: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield (open, close) in UTC for the windows opening from the day before `around` on."""
        first = dt_util.as_local(around).date() - timedelta(days=1)
        for offset in range(_LOOKAHEAD_DAYS + 1):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            opens = self._local(day, self.start)
            close_day = day if self.end > self.start else day + timedelta(days=1)
            yield opens, self._local(close_day, self.end)

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` lies inside a window."""
        return any(opens <= moment < closes for opens, closes in self._windows(moment))

    def next_allowed(self, moment: datetime) -> datetime | None:
        """`moment` itself when inside a window, else the next opening (None: no weekdays)."""
        for opens, closes in self._windows(moment):
            if opens <= moment < closes:
                return moment
            if opens > moment:
                return opens
        return None


def is_nobody_home(hass: HomeAssistant, entity_id: str) -> bool:
    """Whether the away entity says nobody is home (see the module docstring)."""
    state = hass.states.get(entity_id)
    if state is None or state.state in _NO_ANSWER:
        return False
    if split_entity_id(entity_id)[0] in _PERSON_DOMAINS:
        return state.state != "home"
    return state.state in _AWAY_STATES


class AutoSchedule:
    """The options' active hours or schedule entity, and away mode, for one frame."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self.hours: HoursWindow | None = None
        self.schedule_entity: str | None = None
        self.away_entity: str | None = None

    def configure(self, options: Mapping[str, Any]) -> None:
        """Read the schedule options (a schedule entity wins over hours)."""
        self.schedule_entity = options.get(CONF_SCHEDULE_ENTITY) or None
        self.away_entity = options.get(CONF_AWAY_ENTITY) or None
        start = parse_time(options.get(CONF_ACTIVE_START))
        end = parse_time(options.get(CONF_ACTIVE_END))
        weekdays = options.get(CONF_ACTIVE_WEEKDAYS) or list(WEEKDAYS)
        self.hours = None
        if self.schedule_entity is None and start is not None and end is not None:
            chosen = frozenset(WEEKDAYS.index(day) for day in weekdays if day in WEEKDAYS)
            self.hours = HoursWindow(start=start, end=end, weekdays=chosen)

    @property
    def watched_entities(self) -> list[str]:
        """The entities whose state changes move the next run."""
        return [entity for entity in (self.schedule_entity, self.away_entity) if entity]

    @property
    def nobody_home(self) -> bool:
        """Whether the away entity says nobody is home."""
        return self.away_entity is not None and is_nobody_home(self._hass, self.away_entity)

    def in_window(self, moment: datetime) -> bool:
        """Whether the hours or the schedule entity allow a run at `moment` (now)."""
        if self.schedule_entity is not None:
            # A run planned for the schedule's turn-on may fire just before the helper flips.
            return self._schedule_next_allowed(self.schedule_entity, moment) == moment
        return self.hours is None or self.hours.contains(moment)

    def next_allowed(self, moment: datetime) -> datetime | None:
        """Return the first moment from `moment` on that the window allows (None: unknown now).

        For a schedule entity that is off, that is its next_event (when it turns on); one
        that is on allows `moment`; beyond its next change the state decides when it fires.
        """
        if self.schedule_entity is not None:
            return self._schedule_next_allowed(self.schedule_entity, moment)
        if self.hours is None:
            return moment
        return self.hours.next_allowed(moment)

    def _schedule_next_allowed(self, entity_id: str, moment: datetime) -> datetime | None:
        """next_allowed for a schedule entity."""
        state = self._hass.states.get(entity_id)
        if state is None or state.state not in (STATE_ON, STATE_OFF):
            return None
        next_event = state.attributes.get(ATTR_NEXT_EVENT)
        if isinstance(next_event, str):
            next_event = dt_util.parse_datetime(next_event)
        if not isinstance(next_event, datetime):
            next_event = None
        if state.state == STATE_ON or (next_event is not None and moment >= next_event):
            return moment
        return next_event  # None: off with no next turn-on
