"""The optional status LED: fast blinking while listening, slow while waiting for art."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from enum import IntEnum
from typing import Any, Final

from .errors import ConfigError
from .gpiod_lines import GpiodLed, find_header_chip
from .settings import LedSettings

_LOGGER = logging.getLogger(__name__)


class LedMode(IntEnum):
    """What the LED shows; a higher value wins when several apply."""

    OFF = 0
    WAITING = 1
    LISTENING = 2


_BLINK: Final = {LedMode.WAITING: (0.5, 0.5), LedMode.LISTENING: (0.1, 0.1)}


class StatusLed:
    """Drives the LED from the modes currently held (no LED configured: does nothing).

    Through gpiod (use_gpiod) or gpiozero's pins (mock ones in tests).
    """

    def __init__(self, settings: LedSettings, *, use_gpiod: bool = False) -> None:
        self._settings = settings
        self._use_gpiod = use_gpiod
        self._device: Any = None
        self._held: Counter[LedMode] = Counter()
        self.mode = LedMode.OFF

    def open(self) -> None:
        """Claim the LED's pin."""
        if self._settings.pin is None:
            return
        pin, active_high = self._settings.pin, self._settings.active_high
        try:
            if self._use_gpiod:
                self._device = GpiodLed(find_header_chip(), pin, active_high=active_high)
            else:
                from gpiozero import LED

                self._device = LED(pin, active_high=active_high)
        except ConfigError:
            raise
        except Exception as err:  # gpiozero's GPIOZeroError family and OSError
            raise ConfigError(f"cannot set up the LED on GPIO {self._settings.pin}: {err}") from err

    @contextlib.contextmanager
    def hold(self, mode: LedMode) -> Iterator[None]:
        """Show mode while the block runs (unless a higher mode is also held)."""
        self._held[mode] += 1
        self._update()
        try:
            yield
        finally:
            self._held[mode] -= 1
            self._update()

    def _update(self) -> None:
        """Switch the LED to the highest mode held."""
        mode = max((m for m, count in self._held.items() if count > 0), default=LedMode.OFF)
        if mode == self.mode:
            return
        self.mode = mode
        if self._device is None:
            return
        if mode == LedMode.OFF:
            self._device.off()
        else:
            on_time, off_time = _BLINK[mode]
            self._device.blink(on_time=on_time, off_time=off_time)

    def close(self) -> None:
        """Turn the LED off and release its pin."""
        if self._device is not None:
            self._device.close()
            self._device = None
