"""Keeps the WebSocket connection to Home Assistant alive: connect, authenticate, reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from .errors import ConfigError, HomeAssistantAuthError, HomeAssistantError
from .ha_websocket import HaWebSocket
from .secret import Secret
from .settings import HomeAssistantSettings

_LOGGER = logging.getLogger(__name__)

ConnectedHook = Callable[[HaWebSocket], Awaitable[None]]


class HaLink:
    """One live connection at a time, re-established with exponential backoff.

    The token is read from its file before each attempt, so a corrected token file is picked
    up without a restart.
    """

    def __init__(
        self,
        settings: HomeAssistantSettings,
        session: aiohttp.ClientSession,
        read_token: Callable[[], Secret],
        on_connected: ConnectedHook,
    ) -> None:
        self._settings = settings
        self._session = session
        self._read_token = read_token
        self._on_connected = on_connected
        self.connection: HaWebSocket | None = None
        self.token: Secret | None = None
        self.connected = asyncio.Event()

    def require_connection(self) -> HaWebSocket:
        """Return the live connection or raise HomeAssistantError."""
        if self.connection is None or self.connection.closed:
            raise HomeAssistantError("not connected to Home Assistant (reconnecting)")
        return self.connection

    async def run(self) -> None:
        """Connect and stay connected until cancelled."""
        delay = self._settings.reconnect_min_seconds
        while True:
            connection = await self._try_connect()
            if connection is None:
                _LOGGER.info("Retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.reconnect_max_seconds)
                continue
            delay = self._settings.reconnect_min_seconds
            await self._serve(connection)
            _LOGGER.warning("Disconnected from Home Assistant; reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _try_connect(self) -> HaWebSocket | None:
        """Return an authenticated connection, or None after logging why there is none."""
        url = self._settings.url
        try:
            token = self._read_token()
            connection = await HaWebSocket.connect(
                self._session,
                url,
                token,
                heartbeat=self._settings.heartbeat_seconds,
                time_limit=self._settings.request_timeout_seconds,
                verify_ssl=self._settings.verify_ssl,
            )
        except ConfigError as err:
            _LOGGER.error("%s", err)
        except HomeAssistantAuthError as err:
            _LOGGER.error(
                "%s; put a valid long-lived access token in %s (it is read again on each attempt)",
                err,
                self._settings.token_file,
            )
        except TimeoutError:
            _LOGGER.warning("Home Assistant at %s did not answer in time", url)
        except aiohttp.WSServerHandshakeError as err:
            _LOGGER.warning("Home Assistant at %s refused the WebSocket (HTTP %s)", url, err.status)
        except (HomeAssistantError, aiohttp.ClientError, OSError) as err:
            _LOGGER.warning("Cannot reach Home Assistant at %s: %s", url, err or type(err).__name__)
        else:
            self.token = token
            return connection
        return None

    async def _serve(self, connection: HaWebSocket) -> None:
        """Set the connection up, publish it and wait until it ends."""
        listener = asyncio.create_task(connection.listen(), name="home assistant websocket")
        try:
            await self._on_connected(connection)
        except (HomeAssistantError, aiohttp.ClientError, OSError) as err:
            _LOGGER.warning("Setting up the connection to Home Assistant failed: %s", err)
            await connection.close()
        else:
            self.connection = connection
            self.connected.set()
            _LOGGER.info(
                "Connected to Home Assistant %s at %s", connection.ha_version, self._settings.url
            )
        try:
            await asyncio.shield(listener)
        finally:
            self.connection = None
            self.connected.clear()
            if not listener.done():
                await connection.close()
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
