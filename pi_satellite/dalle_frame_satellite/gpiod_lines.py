"""GPIO lines of the Pi's 40-pin header through libgpiod 2.x: the library inky itself uses.

Works the same on every Pi (Pi 5's RP1 included) without lgpio or RPi.GPIO. The header's chip
is found by its label; Pi 5 kernels have named it gpiochip4 and gpiochip0.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from .errors import ConfigError

_LOGGER = logging.getLogger(__name__)

HEADER_CHIP_LABELS: Final = ("pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835")
"""Labels of the chip that drives the 40-pin header: Pi 5 (RP1), Pi 4, Pi 0-3. The Pi 5's own
pinctrl-bcm2712 is not the header's (older kernels list it first)."""

CONSUMER: Final = "dalle-frame"
DEV: Path = Path("/dev")
"""Where gpiochip devices live (tests point it elsewhere)."""


def import_gpiod() -> Any:
    """Import the gpiod bindings, saying how to get them when missing."""
    try:
        import gpiod
    except ImportError as err:
        raise ConfigError(
            f"the gpiod library is missing ({err}); run pi_satellite/install.sh again, or set "
            f"gpio.pin_factory: mock on a machine without GPIO"
        ) from err
    return gpiod


def find_header_chip() -> str:
    """Return the path of the gpiochip behind the 40-pin header; raise ConfigError if none."""
    gpiod = import_gpiod()
    seen = []
    for path in sorted(DEV.glob("gpiochip*"), key=lambda p: (len(p.name), p.name)):
        if not gpiod.is_gpiochip_device(str(path)):
            continue
        try:
            with gpiod.Chip(str(path)) as chip:
                label = chip.get_info().label
        except OSError as err:
            raise ConfigError(
                f"cannot open {path} ({err}); the service user must be in the gpio group "
                f"(pi_satellite/install.sh puts it there)"
            ) from err
        if label in HEADER_CHIP_LABELS:
            _LOGGER.debug("GPIO header chip: %s (%s)", path, label)
            return str(path)
        seen.append(f"{path.name} ({label})")
    raise ConfigError(
        f"no Raspberry Pi GPIO header found (chips: {', '.join(seen) or 'none'}); on a machine "
        f"without one set gpio.pin_factory: mock"
    )


def request_buttons(chip: str, pins: list[int], debounce: timedelta) -> Any:
    """Request pins as inputs with pull-ups that report falling edges (a press, active low)."""
    gpiod = import_gpiod()
    from gpiod.line import Bias, Direction, Edge

    settings = gpiod.LineSettings(
        direction=Direction.INPUT,
        bias=Bias.PULL_UP,
        edge_detection=Edge.FALLING,
        debounce_period=debounce,
    )
    return gpiod.request_lines(chip, consumer=CONSUMER, config={tuple(pins): settings})


class GpiodLed:
    """An output line with on, off and blink (in a thread), like gpiozero's LED."""

    def __init__(self, chip: str, pin: int, *, active_high: bool = True) -> None:
        gpiod = import_gpiod()
        from gpiod.line import Direction, Value

        self._pin = pin
        self._on, self._off = Value.ACTIVE, Value.INACTIVE
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, active_low=not active_high, output_value=Value.INACTIVE
        )
        self._request = gpiod.request_lines(chip, consumer=CONSUMER, config={pin: settings})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stop_blinking(self) -> None:
        """End a running blink thread."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def on(self) -> None:
        """Light the LED."""
        self._stop_blinking()
        self._request.set_value(self._pin, self._on)

    def off(self) -> None:
        """Turn the LED off."""
        self._stop_blinking()
        self._request.set_value(self._pin, self._off)

    def blink(self, on_time: float, off_time: float) -> None:
        """Blink until the next on, off, blink or close."""
        self._stop_blinking()
        self._stop.clear()

        def run() -> None:
            while True:
                self._request.set_value(self._pin, self._on)
                if self._stop.wait(on_time):
                    break
                self._request.set_value(self._pin, self._off)
                if self._stop.wait(off_time):
                    break

        self._thread = threading.Thread(target=run, name="status LED", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Turn off and release the line."""
        self.off()
        self._request.release()
