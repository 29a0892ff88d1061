"""Shows the Frame image entity's picture: fetch on change, skip what is already shown."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from .display import Display
from .errors import DisplayError, HomeAssistantError, ImageError
from .image_prep import prepare_image
from .led import LedMode, StatusLed
from .settings import DisplaySettings
from .state_store import LastRefresh, StateStore

_LOGGER = logging.getLogger(__name__)

Fetcher = Callable[[], Awaitable[bytes]]


class FrameFollower:
    """Refreshes the panel when the Frame image changes, never twice for the same picture.

    Changes that arrive during a refresh (which takes about 30 s on the glass) are folded into
    one fetch of the newest picture afterwards. A broken or unreachable picture is logged and
    the panel keeps showing the previous one.
    """

    def __init__(
        self,
        display: Display,
        settings: DisplaySettings,
        fetch: Fetcher,
        store: StateStore,
        led: StatusLed,
    ) -> None:
        self._display = display
        self._settings = settings
        self._fetch = fetch
        self._store = store
        self._led = led
        self._wanted = asyncio.Event()
        self._last_state: str | None = None
        self._fetched_digest: str | None = None
        self.shown_digest: str | None = store.load_shown_digest()
        self.last_refresh: LastRefresh | None = store.load_last_refresh()
        self.on_refreshed: Callable[[], None] | None = None
        """Called after each refresh of the panel (the health reporter reports then)."""
        self.idle = asyncio.Event()
        self.idle.set()

    def forget_state(self) -> None:
        """Forget the last state seen (after a reconnect the picture is checked again)."""
        self._last_state = None

    def notify(self, state: str) -> None:
        """Take note of the Frame entity's state; a new state means a new picture."""
        if state == self._last_state:
            return
        self._last_state = state
        _LOGGER.debug("Frame image state %s", state)
        self.idle.clear()
        self._wanted.set()

    async def run(self) -> None:
        """Work through notifications until cancelled."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.refresh()
            except Exception:
                _LOGGER.exception("Unexpected error while showing the picture")
            if not self._wanted.is_set():
                self.idle.set()

    async def refresh(self) -> None:
        """Fetch the picture and show it unless the panel already shows it."""
        try:
            data = await self._fetch()
        except ImageError as err:
            _LOGGER.error("Home Assistant sent a broken picture (%s); keeping the current one", err)
            return
        except HomeAssistantError as err:
            _LOGGER.warning("Cannot fetch the picture (%s); keeping the current one", err)
            return
        raw_digest = hashlib.sha256(data).hexdigest()
        if raw_digest == self._fetched_digest:
            _LOGGER.debug("The picture's bytes did not change")
            return
        try:
            image = await asyncio.to_thread(
                prepare_image,
                data,
                self._display.panel,
                saturation=self._settings.saturation,
                fit=self._settings.fit,
                rotate=self._settings.rotate,
            )
        except ImageError as err:
            _LOGGER.error("Home Assistant sent a broken picture (%s); keeping the current one", err)
            return
        if image.digest == self.shown_digest:
            _LOGGER.info("The panel already shows this picture; not refreshing it")
            self._fetched_digest = raw_digest
            return
        if image.converted:
            _LOGGER.info(
                "The picture is not a palette image for the %s; fitted and dithered here",
                self._display.panel.title,
            )
        started = time.monotonic()
        try:
            with self._led.hold(LedMode.WAITING):
                await self._display.show(image)
        except DisplayError as err:
            _LOGGER.error("%s", err)
            return
        self.last_refresh = LastRefresh(datetime.now(UTC), time.monotonic() - started)
        self.shown_digest = image.digest
        self._fetched_digest = raw_digest
        self._store.save_shown_digest(image.digest, self.last_refresh)
        if self.on_refreshed is not None:
            self.on_refreshed()
