"""Buttons and LED through gpiod edge events (fake chips: see fake_gpiod.py), as on every Pi."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from gpiod.line import Bias, Direction, Edge, Value

from dalle_frame_satellite.errors import ConfigError
from dalle_frame_satellite.gpiod_lines import find_header_chip
from dalle_frame_satellite.satellite import Satellite
from tests.satellite.conftest import running, wait_connected, wait_until
from tests.satellite.fake_gpiod import FakeChips

PI5 = {"gpiochip0": "pinctrl-rp1", "gpiochip10": "gpio-brcmstb@107d508500"}
PI4 = {"gpiochip0": "pinctrl-bcm2711", "gpiochip1": "raspberrypi-exp-gpio"}


@pytest.fixture
def chips(tmp_path, monkeypatch) -> FakeChips:
    """A Pi 5's chips (the header on gpiochip0, as on current kernels)."""
    fake = FakeChips(tmp_path, dict(PI5))
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def gpiod_settings(make_settings, monkeypatch):
    """Settings with pin_factory auto: gpiod (GPIOZERO_PIN_FACTORY unset)."""
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)

    def make(url: str, **sections):
        gpio = {"pin_factory": "auto", "debounce_seconds": 0.2, **sections.pop("gpio", {})}
        return make_settings(url, gpio=gpio, **sections)

    return make


@pytest.mark.parametrize(
    ("labels", "expected"),
    [(PI5, "gpiochip0"), ({"gpiochip4": "pinctrl-rp1", "gpiochip0": "gpio-brcmstb"}, "gpiochip4"),
     (PI4, "gpiochip0")],
    ids=["pi5", "pi5-older-kernel", "pi4"],
)  # fmt: skip
def test_the_header_chip_is_found_by_label(tmp_path, monkeypatch, labels, expected) -> None:
    """Pi 5 kernels have named the header's chip gpiochip4 and gpiochip0: the label decides."""
    FakeChips(tmp_path, labels).install(monkeypatch)
    assert find_header_chip() == str(tmp_path / expected)


def test_no_header_chip_is_refused_with_the_way_out(tmp_path, monkeypatch) -> None:
    """A PC's chips: the error names them and the mock setting."""
    FakeChips(tmp_path, {"gpiochip0": "INT34C6:00"}).install(monkeypatch)
    with pytest.raises(ConfigError, match=r"chips: gpiochip0 \(INT34C6:00\).*pin_factory: mock"):
        find_header_chip()


async def test_presses_arrive_as_edge_events(fake_ha, chips, gpiod_settings, caplog) -> None:
    """Pull-up inputs with falling-edge detection; a press calls HA; one action at a time."""
    caplog.set_level(logging.INFO)
    fake_ha.generate_seconds = 0.5
    satellite = Satellite(gpiod_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        request = chips.request_for(5)
        assert request.chip == str(chips.dev / "gpiochip0")
        assert request.consumer == "dalle-frame"
        assert sorted(request.settings) == [5, 6, 16, 24]
        settings = request.settings[5]
        assert (settings.direction, settings.bias, settings.edge_detection) == (
            Direction.INPUT, Bias.PULL_UP, Edge.FALLING,
        )  # fmt: skip
        assert timedelta(0) < settings.debounce_period <= timedelta(milliseconds=50)
        request.press(5)
        request.press(5)  # a bounce within gpio.debounce_seconds
        await wait_until(lambda: fake_ha.calls)
        request.press(6)  # B while A's generation runs
        ignored = "Button B (new_prompt) ignored: button A (regenerate) is still running"
        await wait_until(lambda: ignored in caplog.text)
        await satellite.wait_action()
        request.press(24)
        await wait_until(lambda: len(fake_ha.calls) == 2)
        await satellite.wait_action()
    assert [c.service for c in fake_ha.calls] == ["regenerate", "toggle"]
    assert "Buttons: gpiod edge events on" in caplog.text
    assert request.released


async def test_control_socket_press_without_a_mock_pin(fake_ha, chips, gpiod_settings, tmp_path):
    """An input line cannot be driven: the control socket's press goes straight to the action."""
    path = tmp_path / "control.sock"
    satellite = Satellite(gpiod_settings(fake_ha.url, control_socket=str(path)))
    async with running(satellite):
        await wait_connected(satellite)
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b"press B\n")
        assert (await reader.readline()) == b"ok\n"
        writer.close()
        await wait_until(lambda: fake_ha.calls)
        await satellite.wait_action()
    assert fake_ha.calls[0].service == "new_prompt"


async def test_led_blinks_through_gpiod(fake_ha, chips, gpiod_settings) -> None:
    """The LED is an output line, inactive at first, blinking while HA generates, then off."""
    fake_ha.generate_seconds = 1.2
    satellite = Satellite(gpiod_settings(fake_ha.url, led={"pin": 13}))
    async with running(satellite):
        await wait_connected(satellite)
        led = chips.request_for(13)
        assert led.settings[13].direction == Direction.OUTPUT
        assert led.settings[13].output_value == Value.INACTIVE
        chips.request_for(5).press(5)
        await wait_until(lambda: {Value.ACTIVE, Value.INACTIVE} <= {v for _, v in led.history})
        await satellite.wait_action()
        await wait_until(lambda: led.values[13] == Value.INACTIVE)
    assert led.released and led.history[-1] == (13, Value.INACTIVE)


async def test_busy_pins_are_refused_with_the_reason(fake_ha, chips, gpiod_settings) -> None:
    """Another program holding a button's line: a ConfigError that says how to find it."""
    chips.busy.add(16)
    satellite = Satellite(gpiod_settings(fake_ha.url))
    with pytest.raises(ConfigError, match=r"cannot claim the buttons' pins .*gpioinfo"):
        async with running(satellite):
            pass
