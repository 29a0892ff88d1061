"""One authenticated WebSocket connection to Home Assistant: commands, results and events.

Protocol: https://developers.home-assistant.io/docs/api/websocket
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any, Final

import aiohttp

from .errors import HomeAssistantAuthError, HomeAssistantCommandError, HomeAssistantError
from .secret import Secret

_LOGGER = logging.getLogger(__name__)
_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024

EventCallback = Callable[[dict[str, Any]], None]


def websocket_url(base_url: str) -> str:
    """Return the WebSocket API URL of a Home Assistant base URL."""
    if base_url.startswith("https://"):
        return "wss://" + base_url.removeprefix("https://") + "/api/websocket"
    return "ws://" + base_url.removeprefix("http://") + "/api/websocket"


class HaWebSocket:
    """An authenticated WebSocket API connection; listen() must run for results to arrive."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, ha_version: str) -> None:
        self._socket = socket
        self.ha_version = ha_version
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: dict[int, EventCallback] = {}
        self._closed = False

    @classmethod
    async def connect(
        cls,
        session: aiohttp.ClientSession,
        base_url: str,
        token: Secret,
        *,
        heartbeat: float,
        time_limit: float,
        verify_ssl: bool = True,
    ) -> HaWebSocket:
        """Open the socket and authenticate; raise HomeAssistantAuthError on a bad token."""
        async with asyncio.timeout(time_limit):
            socket = await session.ws_connect(
                websocket_url(base_url),
                heartbeat=heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=time_limit),
                max_msg_size=_MAX_MESSAGE_BYTES,
                ssl=verify_ssl,
            )
        try:
            async with asyncio.timeout(time_limit):
                hello = await _receive_json(socket)
                if hello.get("type") != "auth_required":
                    raise HomeAssistantError(f"unexpected first message {hello.get('type')!r}")
                await socket.send_json({"type": "auth", "access_token": token.reveal()})
                answer = await _receive_json(socket)
        except BaseException:
            await socket.close()
            raise
        if answer.get("type") == "auth_invalid":
            await socket.close()
            reason = answer.get("message") or "invalid access token"
            raise HomeAssistantAuthError(f"Home Assistant rejected the access token: {reason}")
        if answer.get("type") != "auth_ok":
            await socket.close()
            raise HomeAssistantError(f"unexpected answer to authentication: {answer.get('type')!r}")
        return cls(socket, str(answer.get("ha_version", "unknown version")))

    @property
    def closed(self) -> bool:
        """True once the connection has ended."""
        return self._closed or self._socket.closed

    async def listen(self) -> None:
        """Read messages until the connection ends; then fail every pending command."""
        try:
            async for message in self._socket:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._dispatch_text(message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    _LOGGER.debug("WebSocket error: %s", self._socket.exception())
                    break
        finally:
            self._closed = True
            lost = HomeAssistantError("the connection to Home Assistant was lost")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(lost)
            self._pending.clear()
            await self._socket.close()

    def _dispatch_text(self, text: str) -> None:
        """Route one text frame (a message, or a list of them when coalesced)."""
        try:
            decoded = json.loads(text)
        except ValueError:
            _LOGGER.warning("Ignoring a message from Home Assistant that is not JSON")
            return
        for message in decoded if isinstance(decoded, list) else [decoded]:
            if isinstance(message, dict):
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        """Resolve a command's future or run a subscription's callback."""
        kind, ident = message.get("type"), message.get("id")
        if kind == "event" and ident in self._subscriptions:
            try:
                self._subscriptions[ident](message.get("event") or {})
            except Exception:
                _LOGGER.exception("Error handling an event from Home Assistant")
            return
        future = self._pending.pop(ident, None) if isinstance(ident, int) else None
        if future is None or future.done():
            return
        if kind == "pong":
            future.set_result(None)
        elif kind == "result" and message.get("success"):
            future.set_result(message.get("result"))
        elif kind == "result":
            error = message.get("error") or {}
            future.set_exception(
                HomeAssistantCommandError(
                    str(error.get("message") or "unknown error"), code=error.get("code")
                )
            )
        else:
            future.set_exception(HomeAssistantError(f"unexpected answer type {kind!r}"))

    async def command(self, payload: dict[str, Any], *, time_limit: float) -> Any:
        """Send a command and return its result; raise HomeAssistantCommandError on failure."""
        if self.closed:
            raise HomeAssistantError("not connected to Home Assistant")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            await self._socket.send_json({"id": ident, **payload})
            async with asyncio.timeout(time_limit):
                return await future
        except TimeoutError:
            raise HomeAssistantError(
                f"Home Assistant did not answer {payload.get('type')} within {time_limit:g} s"
            ) from None
        except (aiohttp.ClientError, ConnectionError) as err:
            raise HomeAssistantError(f"cannot send to Home Assistant: {err}") from err
        finally:
            self._pending.pop(ident, None)

    async def subscribe(
        self, payload: dict[str, Any], callback: EventCallback, *, time_limit: float
    ) -> None:
        """Start a subscription; callback gets each event's "event" object."""
        ident = next(self._ids)
        self._subscriptions[ident] = callback
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            await self._socket.send_json({"id": ident, **payload})
            async with asyncio.timeout(time_limit):
                await future
        except BaseException:
            self._subscriptions.pop(ident, None)
            self._pending.pop(ident, None)
            raise

    async def call_service(
        self,
        domain: str,
        service: str,
        *,
        data: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
        return_response: bool = False,
        time_limit: float,
    ) -> Any:
        """Call a service; return its response (with return_response) or None."""
        payload: dict[str, Any] = {"type": "call_service", "domain": domain, "service": service}
        if data:
            payload["service_data"] = data
        if target:
            payload["target"] = target
        if return_response:
            payload["return_response"] = True
        result = await self.command(payload, time_limit=time_limit)
        return (result or {}).get("response") if return_response else None

    async def close(self) -> None:
        """Close the connection."""
        self._closed = True
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await self._socket.close()


async def _receive_json(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """Receive one JSON object during the handshake."""
    message = await socket.receive()
    if message.type != aiohttp.WSMsgType.TEXT:
        raise HomeAssistantError("Home Assistant closed the WebSocket during authentication")
    try:
        decoded = json.loads(message.data)
    except ValueError:
        raise HomeAssistantError("Home Assistant sent a message that is not JSON") from None
    if not isinstance(decoded, dict):
        raise HomeAssistantError("Home Assistant sent an unexpected message")
    return decoded
