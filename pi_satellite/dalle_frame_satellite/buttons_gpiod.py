"""The frame's buttons through gpiod edge events, read on the event loop (no threads)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from . import gpiod_lines
from .errors import ConfigError
from .settings import ButtonSettings

_LOGGER = logging.getLogger(__name__)

KERNEL_DEBOUNCE: Final = timedelta(milliseconds=10)
"""Contact bounce filtered by the kernel; gpio.debounce_seconds also drops repeated presses."""


class GpiodButtons:
    """Buttons (active low, pull-up) on the header's chip; presses reported by name."""

    def __init__(
        self, buttons: tuple[ButtonSettings, ...], on_press: Callable[[str], None]
    ) -> None:
        self._settings = buttons
        self._on_press = on_press
        self._by_pin = {button.pin: button.name for button in buttons}
        self._request: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> None:
        """Request the lines and watch their edge events; must run on the event loop's thread."""
        if not self._settings:
            return
        chip = gpiod_lines.find_header_chip()
        try:
            self._request = gpiod_lines.request_buttons(chip, list(self._by_pin), KERNEL_DEBOUNCE)
        except OSError as err:
            pins = ", ".join(f"GPIO {pin}" for pin in self._by_pin)
            raise ConfigError(
                f"cannot claim the buttons' pins ({pins}) on {chip}: {err}; is another program "
                f"using them? (gpioinfo shows who holds each line)"
            ) from err
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._request.fd, self._read_events)
        _LOGGER.info("Buttons: gpiod edge events on %s", chip)

    def _read_events(self) -> None:
        """Report each falling edge (a press) on the loop."""
        from gpiod import EdgeEvent

        for event in self._request.read_edge_events():
            name = self._by_pin.get(event.line_offset)
            if name is not None and event.event_type == EdgeEvent.Type.FALLING_EDGE:
                self._on_press(name)

    @property
    def names(self) -> list[str]:
        """Names of the buttons set up."""
        return [button.name for button in self._settings] if self._request is not None else []

    def press(self, name: str) -> None:
        """Press a button from software (control socket): an input line cannot be driven."""
        if name not in self.names:
            raise KeyError(name)
        self._on_press(name)

    def close(self) -> None:
        """Stop watching and release the lines."""
        if self._request is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._request.fd)
        self._request.release()
        self._request = None
