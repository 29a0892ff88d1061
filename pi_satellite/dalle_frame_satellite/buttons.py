"""The frame's buttons: gpiod edge events on a Pi, gpiozero's pins (mock ones in tests) else.

Presses are handed to the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .buttons_gpiod import GpiodButtons
from .errors import ConfigError
from .panels import STANDARD_BUTTON_PINS, Panel
from .settings import ButtonSettings, GpioSettings

_LOGGER = logging.getLogger(__name__)

PressHandler = Callable[[str], None]


def uses_gpiod(pin_factory: str) -> bool:
    """Tell whether buttons and LED use gpiod: gpiod, or auto without GPIOZERO_PIN_FACTORY."""
    if pin_factory == "auto":
        return not os.environ.get("GPIOZERO_PIN_FACTORY")
    return pin_factory == "gpiod"


def create_buttons(
    gpio: GpioSettings, buttons: tuple[ButtonSettings, ...], on_press: PressHandler
) -> FrameButtons | GpiodButtons:
    """Return the buttons for the configured backend (not opened yet; set_pin_factory first)."""
    if uses_gpiod(gpio.pin_factory):
        return GpiodButtons(buttons, on_press)
    return FrameButtons(buttons, on_press)


def set_pin_factory(name: str) -> None:
    """Select gpiozero's pin factory (auto: gpiozero's own choice, or GPIOZERO_PIN_FACTORY)."""
    if name in ("auto", "gpiod"):
        return
    from gpiozero import Device

    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        Device.pin_factory = MockFactory()
        _LOGGER.info("GPIO: gpiozero's mock pins (no hardware)")
        return
    factories = {
        "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
        "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
        "pigpio": ("gpiozero.pins.pigpio", "PiGPIOFactory"),
        "native": ("gpiozero.pins.native", "NativeFactory"),
    }
    module_name, class_name = factories[name]
    try:
        module = __import__(module_name, fromlist=[class_name])
        Device.pin_factory = getattr(module, class_name)()
    except Exception as err:  # import errors and each library's own failure types
        raise ConfigError(f"gpio.pin_factory {name} cannot start: {err}") from err


def fit_buttons_to_panel(
    buttons: tuple[ButtonSettings, ...], panel: Panel
) -> tuple[ButtonSettings, ...]:
    """Move a button off a pin the panel needs when the board has its own pin for it.

    The 13.3" board uses GPIO 16 as a chip select, so its button C is on GPIO 25.
    """
    moved = dict(panel.button_pins)
    fitted = []
    for button in buttons:
        if button.pin in panel.pins():
            new_pin = moved.get(button.name)
            if new_pin is None or button.pin != STANDARD_BUTTON_PINS.get(button.name):
                raise ConfigError(
                    f"button {button.name}: GPIO {button.pin} is used by the {panel.title}"
                )
            _LOGGER.info("Button %s is on GPIO %d on the %s", button.name, new_pin, panel.title)
            button = replace(button, pin=new_pin)
        fitted.append(button)
    return tuple(fitted)


class FrameButtons:
    """gpiozero Buttons (active low, pull-up) that report presses by name on the event loop."""

    def __init__(self, buttons: tuple[ButtonSettings, ...], on_press: PressHandler) -> None:
        self._settings = buttons
        self._on_press = on_press
        self._devices: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> None:
        """Claim the pins; must run on the event loop's thread."""
        from gpiozero import Button

        self._loop = asyncio.get_running_loop()
        try:
            for button in self._settings:
                device = Button(button.pin, pull_up=True)
                device.when_pressed = self._callback(button.name)
                self._devices[button.name] = device
        except Exception as err:  # gpiozero's GPIOZeroError family and OSError
            self.close()
            raise ConfigError(
                f"cannot set up the buttons: {err} (on a machine without GPIO, set "
                f"gpio.pin_factory: mock)"
            ) from err

    def _callback(self, name: str) -> Callable[[], None]:
        """Return a gpiozero callback (any thread) that reports the press on the loop."""

        def pressed() -> None:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._on_press, name)

        return pressed

    @property
    def names(self) -> list[str]:
        """Names of the buttons set up."""
        return list(self._devices)

    def press(self, name: str) -> None:
        """Press a button from software (control socket): through its mock pin when it has one."""
        device = self._devices.get(name)
        if device is None:
            raise KeyError(name)
        pin = device.pin
        if hasattr(pin, "drive_low"):
            pin.drive_low()
            pin.drive_high()
        else:
            self._on_press(name)

    def close(self) -> None:
        """Release the pins."""
        for device in self._devices.values():
            device.close()
        self._devices.clear()
