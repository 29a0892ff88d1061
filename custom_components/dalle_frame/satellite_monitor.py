"""What the frame knows about its Pi satellite: the last report, whether it is online, storage.

The satellite reports itself over the `dalle_frame/satellite/report` WebSocket command
(`satellite_report.py`). One satellite per frame: while it reports, a second one is refused;
once it has gone quiet (no report for STALE_INTERVALS of its own report interval) another
one may take its place (a replaced Pi). The last report is kept in HA storage, so the
entities come back with their values after a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER

STORAGE_VERSION: Final = 1
SAVE_DELAY_SECONDS: Final = 60
STALE_INTERVALS: Final = 3
"""The satellite is offline after this many of its report intervals without a report."""
_T = TypeVar("_T")
BOOT_TIME_JITTER: Final = timedelta(seconds=60)
"""A boot time computed from a new report this close to the previous one is the same boot."""


class SatelliteConflictError(Exception):
    """Another satellite reports for a frame whose satellite is online."""

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


@dataclass(frozen=True, kw_only=True)
class SatelliteReport:
    """One report of the satellite, as validated by the WebSocket command."""

    satellite_id: str
    version: str
    panel_model: str
    last_refresh: datetime | None
    refresh_seconds: float | None
    cpu_temperature: float | None
    uptime_seconds: float | None
    wifi_signal: int | None
    disk_free: int | None
    report_interval: float
    received: datetime

    @property
    def stale_at(self) -> datetime:
        """When the satellite counts as offline unless it reports again."""
        return self.received + timedelta(seconds=self.report_interval * STALE_INTERVALS)

    @property
    def boot_time(self) -> datetime | None:
        """When the satellite's computer started, from its uptime."""
        if self.uptime_seconds is None:
            return None
        return self.received - timedelta(seconds=self.uptime_seconds)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        data = asdict(self)
        for key in ("last_refresh", "received"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Any) -> SatelliteReport | None:
        """Read the stored form; None when it does not fit (a hand-edited or older file)."""
        try:
            received = dt_util.parse_datetime(data["received"])
            refreshed = data["last_refresh"]
            last_refresh = dt_util.parse_datetime(refreshed) if refreshed is not None else None
            if received is None or (refreshed is not None and last_refresh is None):
                return None
            return cls(
                satellite_id=str(data["satellite_id"]),
                version=str(data["version"]),
                panel_model=str(data["panel_model"]),
                last_refresh=last_refresh,
                refresh_seconds=_optional(float, data["refresh_seconds"]),
                cpu_temperature=_optional(float, data["cpu_temperature"]),
                uptime_seconds=_optional(float, data["uptime_seconds"]),
                wifi_signal=_optional(int, data["wifi_signal"]),
                disk_free=_optional(int, data["disk_free"]),
                report_interval=float(data["report_interval"]),
                received=received,
            )
        except (KeyError, TypeError, ValueError):
            return None


def _optional(kind: Callable[[Any], _T], value: Any) -> _T | None:
    """Convert a value that may be null."""
    return None if value is None else kind(value)


class SatelliteMonitor:
    """The satellite of one frame: last report, online state, listeners, storage."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._hass = hass
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, satellite_storage_key(entry_id)
        )
        self.report: SatelliteReport | None = None
        self.boot_time: datetime | None = None
        self.online = False
        self._listeners: list[CALLBACK_TYPE] = []
        self._first_report_callbacks: list[CALLBACK_TYPE] = []
        self._cancel_stale: CALLBACK_TYPE | None = None

    async def async_load(self) -> None:
        """Take the last report back from storage; online only if it is still fresh."""
        stored = await self._store.async_load()
        report = SatelliteReport.from_dict(stored.get("report")) if stored else None
        if report is None:
            return
        self.report = report
        self.boot_time = report.boot_time
        self._follow_staleness()

    async def async_stop(self) -> None:
        """Stop the staleness timer and write the last report now."""
        self._cancel_timer()
        if self.report is not None:
            await self._store.async_save(self._stored())

    async def async_remove(self) -> None:
        """Delete the stored report (the frame was removed)."""
        await self._store.async_remove()

    @callback
    def async_report(self, report: SatelliteReport) -> None:
        """Take a new report; raise SatelliteConflictError for a second satellite."""
        current = self.report
        if current is not None and current.satellite_id != report.satellite_id:
            if self.online:
                raise SatelliteConflictError(current.satellite_id)
            LOGGER.info(
                "Satellite %s replaces %s, which stopped reporting",
                report.satellite_id,
                current.satellite_id,
            )
        first = current is None
        if not _same_boot(report.boot_time, self.boot_time):
            self.boot_time = report.boot_time
        self.report = report
        if not self.online and not first:
            LOGGER.info("Satellite %s is reporting again", report.satellite_id)
        self._follow_staleness()
        self._store.async_delay_save(self._stored, SAVE_DELAY_SECONDS)
        if first:
            for add_entities in self._first_report_callbacks:
                add_entities()
            self._first_report_callbacks.clear()
        self._notify()

    @callback
    def async_when_reported(self, add_entities: CALLBACK_TYPE) -> None:
        """Call add_entities now if a satellite has reported, else on its first report."""
        if self.report is not None:
            add_entities()
        else:
            self._first_report_callbacks.append(add_entities)

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update on every report and when the satellite goes offline."""
        self._listeners.append(update)

        @callback
        def remove() -> None:
            self._listeners.remove(update)

        return remove

    def _follow_staleness(self) -> None:
        """Set online from the report's age and time the moment it goes stale."""
        assert self.report is not None
        self._cancel_timer()
        remaining = (self.report.stale_at - dt_util.utcnow()).total_seconds()
        self.online = remaining > 0
        if self.online:
            self._cancel_stale = async_call_later(self._hass, remaining, self._went_stale)

    @callback
    def _went_stale(self, _now: datetime) -> None:
        """No report came in time: the satellite is offline until it reports again."""
        self._cancel_stale = None
        self.online = False
        assert self.report is not None
        LOGGER.warning(
            "Satellite %s stopped reporting (last report %s)",
            self.report.satellite_id,
            self.report.received.isoformat(timespec="seconds"),
        )
        self._notify()

    def _cancel_timer(self) -> None:
        if self._cancel_stale is not None:
            self._cancel_stale()
            self._cancel_stale = None

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    def _stored(self) -> dict[str, Any]:
        return {"report": self.report.as_dict() if self.report else None}


def _same_boot(new: datetime | None, known: datetime | None) -> bool:
    """Whether two boot times computed from uptimes are one boot (reports jitter by seconds)."""
    return new is not None and known is not None and abs(new - known) <= BOOT_TIME_JITTER


def satellite_storage_key(entry_id: str) -> str:
    """Return the storage key of a frame's satellite report."""
    return f"{DOMAIN}.{entry_id}.satellite"
