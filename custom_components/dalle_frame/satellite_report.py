"""The WebSocket command through which a Pi satellite reports itself: dalle_frame/satellite/report.

Any authenticated user may send it (the satellite's long-lived token; no admin needed). The
frame is named by exactly one of `config_entry_id`, `frame` (its name) or `frame_entity` (any
entity of the frame, e.g. image.frame_frame). The answer is `{"config_entry_id", "online"}`;
errors: `invalid_format` (HA's schema check), `not_found` (no such frame), `not_loaded`
(the frame is not set up) and `satellite_conflict` (another satellite reports for the frame).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_NOT_FOUND
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import DalleFrameConfigEntry
from .ha_compat import vol
from .satellite_monitor import SatelliteConflictError, SatelliteReport

COMMAND: Final = "dalle_frame/satellite/report"
ERR_NOT_LOADED: Final = "not_loaded"
ERR_SATELLITE_CONFLICT: Final = "satellite_conflict"
MAX_UPTIME_SECONDS: Final = 20 * 365 * 24 * 3600
MAX_DISK_BYTES: Final = 2**62


def _number(low: float, high: float, kind: type[int] | type[float] = float) -> Any:
    """Return a validator for a JSON number (not a boolean, not text) within low..high."""

    def check(value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise vol.Invalid(f"expected a number, got {type(value).__name__}")
        if not math.isfinite(value) or not low <= value <= high:
            raise vol.Invalid(f"{value} is outside {low:g}..{high:g}")
        if kind is int:
            if value != int(value):
                raise vol.Invalid(f"expected a whole number, got {value}")
            return int(value)
        return float(value)

    return check


def _aware_time(value: Any) -> datetime:
    """Parse an ISO 8601 time with its time zone."""
    parsed = dt_util.parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise vol.Invalid("expected an ISO 8601 time such as 2026-01-31T12:00:00+00:00")
    if parsed.tzinfo is None:
        raise vol.Invalid("the time needs its time zone (e.g. +00:00)")
    return parsed


def _text(longest: int) -> Any:
    """Return a validator for non-empty text of at most `longest` characters."""
    return vol.All(str, vol.Length(min=1, max=longest))


SCHEMA: Final[dict[Any, Any]] = {
    vol.Required("type"): COMMAND,
    vol.Exclusive("config_entry_id", "frame"): _text(64),
    vol.Exclusive("frame", "frame"): _text(100),
    vol.Exclusive("frame_entity", "frame"): cv.entity_id,
    vol.Required("satellite_id"): _text(64),
    vol.Required("version"): _text(32),
    vol.Required("panel_model"): _text(100),
    vol.Required("last_refresh"): vol.Any(None, _aware_time),
    vol.Required("refresh_seconds"): vol.Any(None, _number(0, 3600)),
    vol.Required("cpu_temperature"): vol.Any(None, _number(-60, 150)),
    vol.Required("uptime_seconds"): vol.Any(None, _number(0, MAX_UPTIME_SECONDS)),
    vol.Required("wifi_signal"): vol.Any(None, _number(-150, 0, int)),
    vol.Required("disk_free"): vol.Any(None, _number(0, MAX_DISK_BYTES, int)),
    vol.Optional("report_interval", default=60): _number(10, 3600),
}


@callback
def async_register_satellite_command(hass: HomeAssistant) -> None:
    """Register the command (once, for every frame)."""
    async_register_command(hass, websocket_satellite_report)


@websocket_command(SCHEMA)
@callback
def websocket_satellite_report(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Take a satellite's report for its frame."""
    entry, problem = _find_frame(hass, msg)
    if entry is None:
        connection.send_error(msg["id"], ERR_NOT_FOUND, problem)
        return
    if entry.state is not ConfigEntryState.LOADED:
        connection.send_error(
            msg["id"],
            ERR_NOT_LOADED,
            f"The frame {entry.title!r} is not set up ({entry.state.value}); "
            "check the dalle_frame integration in Home Assistant",
        )
        return
    report = SatelliteReport(
        satellite_id=msg["satellite_id"],
        version=msg["version"],
        panel_model=msg["panel_model"],
        last_refresh=msg["last_refresh"],
        refresh_seconds=msg["refresh_seconds"],
        cpu_temperature=msg["cpu_temperature"],
        uptime_seconds=msg["uptime_seconds"],
        wifi_signal=msg["wifi_signal"],
        disk_free=msg["disk_free"],
        report_interval=msg["report_interval"],
        received=dt_util.utcnow(),
    )
    monitor = entry.runtime_data.satellite
    try:
        monitor.async_report(report)
    except SatelliteConflictError as err:
        connection.send_error(
            msg["id"],
            ERR_SATELLITE_CONFLICT,
            f"The frame {entry.title!r} already has the satellite {err.current!r}, which is "
            f"reporting; a frame has one satellite: stop the other one or give this one "
            f"another frame",
        )
        return
    connection.send_result(msg["id"], {"config_entry_id": entry.entry_id, "online": True})


def _find_frame(
    hass: HomeAssistant, msg: dict[str, Any]
) -> tuple[DalleFrameConfigEntry | None, str]:
    """Return the frame's config entry, or None and why there is none."""
    frames: list[DalleFrameConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    finders: dict[str, Callable[[str], DalleFrameConfigEntry | None]] = {
        "config_entry_id": lambda wanted: _first(frames, lambda e: e.entry_id == wanted),
        "frame": lambda wanted: _first(
            frames, lambda e: e.title.casefold() == wanted.strip().casefold()
        ),
        "frame_entity": lambda wanted: _frame_of_entity(hass, frames, wanted),
    }
    for key, find in finders.items():
        if key in msg:
            entry = find(msg[key])
            if entry is not None:
                return entry, ""
            names = ", ".join(repr(e.title) for e in frames) or "none"
            return None, f"No dalle_frame frame has the {key} {msg[key]!r} (frames: {names})"
    return None, "Name the frame: config_entry_id, frame (its name) or frame_entity"


def _frame_of_entity(
    hass: HomeAssistant, frames: list[DalleFrameConfigEntry], entity_id: str
) -> DalleFrameConfigEntry | None:
    """Return the frame an entity belongs to."""
    registered = er.async_get(hass).async_get(entity_id)
    if registered is None or registered.platform != DOMAIN:
        return None
    return _first(frames, lambda e: e.entry_id == registered.config_entry_id)


def _first(
    frames: list[DalleFrameConfigEntry], matches: Callable[[ConfigEntry[Any]], bool]
) -> DalleFrameConfigEntry | None:
    return next((entry for entry in frames if matches(entry)), None)
