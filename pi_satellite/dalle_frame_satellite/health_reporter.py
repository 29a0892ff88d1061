"""Reports the satellite to its frame in Home Assistant: version, panel, last refresh, health.

Sent over the live WebSocket connection as the integration's `dalle_frame/satellite/report`
command: right after each (re)connection, after each refresh of the panel, and every
`home_assistant.report_interval_seconds`. HA shows the values as the frame's satellite
entities and marks the satellite offline after three intervals without a report. An
integration too old to know the command answers `unknown_command`: that is logged once and
nothing more is sent on that connection (a newer integration after HA restarts is tried).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any, Final

from . import __version__
from .errors import HomeAssistantCommandError, HomeAssistantError
from .frame_follower import FrameFollower
from .ha_link import HaLink
from .ha_websocket import HaWebSocket
from .settings import HomeAssistantSettings
from .system_health import SystemHealth, SystemPaths, read_system_health

_LOGGER = logging.getLogger(__name__)
COMMAND: Final = "dalle_frame/satellite/report"
# The command's bounds: a reading outside them (a faulty sensor) is sent as unknown, so one odd
# value cannot get every later report refused.
_CPU_TEMPERATURE_RANGE: Final = (-60.0, 150.0)
_MAX_UPTIME_SECONDS: Final = 20 * 365 * 24 * 3600
_MAX_REFRESH_SECONDS: Final = 3600.0


class HealthReporter:
    """Sends a report on each connection, after each refresh and every interval."""

    def __init__(
        self,
        settings: HomeAssistantSettings,
        link: HaLink,
        follower: FrameFollower,
        *,
        panel_title: str,
        config_entry_id: Callable[[], str | None],
        paths: SystemPaths | None = None,
    ) -> None:
        self._settings = settings
        self._link = link
        self._follower = follower
        self._panel_title = panel_title
        self._config_entry_id = config_entry_id
        self._paths = paths or SystemPaths()
        self.satellite_id = settings.satellite_id or socket.gethostname() or "satellite"
        self._wake = asyncio.Event()
        self._refused_on: HaWebSocket | None = None
        self._told_unsupported = False
        self._problem: str | None = None
        self.sent = 0
        """Reports Home Assistant accepted (for tests and --debug logs)."""

    def wake(self) -> None:
        """Report as soon as possible (a new connection, a refresh of the panel)."""
        self._wake.set()

    async def run(self) -> None:
        """Report until cancelled."""
        while True:
            await self._link.connected.wait()
            self._wake.clear()  # wakes from before the connection was published are served now
            connection = self._link.connection
            if connection is not None and connection is not self._refused_on:
                await self.report(connection)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.report_interval_seconds):
                    await self._wake.wait()

    async def report(self, connection: HaWebSocket) -> None:
        """Gather the values and send one report; problems are logged, never raised."""
        health = await asyncio.to_thread(read_system_health, self._paths)
        try:
            await connection.command(
                self.payload(health), time_limit=self._settings.request_timeout_seconds
            )
        except HomeAssistantCommandError as err:
            if err.code == "unknown_command":
                self._refused_on = connection
                log = _LOGGER.debug if self._told_unsupported else _LOGGER.warning
                log(
                    "Home Assistant's dalle_frame integration does not take satellite reports "
                    "(update it to show this satellite in Home Assistant); not reporting"
                )
                self._told_unsupported = True
            else:
                self._note_problem(f"Home Assistant refused the satellite report: {err}")
            return
        except HomeAssistantError as err:
            _LOGGER.debug("Satellite report not sent: %s", err)
            return
        self.sent += 1
        if self._problem is not None:
            _LOGGER.info("Home Assistant takes the satellite reports again")
            self._problem = None
        _LOGGER.debug("Reported to Home Assistant (%s)", health)

    def _note_problem(self, problem: str) -> None:
        """Log a refused report once per distinct reason (it repeats every interval)."""
        (_LOGGER.debug if problem == self._problem else _LOGGER.warning)("%s", problem)
        self._problem = problem

    def payload(self, health: SystemHealth) -> dict[str, Any]:
        """Return the report command."""
        frame: dict[str, str]
        if (entry_id := self._config_entry_id()) is not None:
            frame = {"config_entry_id": entry_id}
        else:
            frame = {"frame_entity": self._settings.frame_entity}
        refresh = self._follower.last_refresh
        return {
            "type": COMMAND,
            **frame,
            "satellite_id": self.satellite_id,
            "version": __version__,
            "panel_model": self._panel_title,
            "last_refresh": refresh.finished.isoformat() if refresh else None,
            "refresh_seconds": (
                round(min(refresh.seconds, _MAX_REFRESH_SECONDS), 2) if refresh else None
            ),
            "cpu_temperature": _within(health.cpu_temperature, *_CPU_TEMPERATURE_RANGE),
            "uptime_seconds": _within(health.uptime_seconds, 0, _MAX_UPTIME_SECONDS),
            "wifi_signal": health.wifi_signal,
            "disk_free": health.disk_free,
            "report_interval": self._settings.report_interval_seconds,
        }


def _within(value: float | None, low: float, high: float) -> float | None:
    """Return value when it lies within low..high, else None."""
    return value if value is not None and low <= value <= high else None
