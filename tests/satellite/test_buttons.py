"""Button presses (gpiozero mock pins) call the right Home Assistant services, one at a time."""

from __future__ import annotations

import asyncio
import logging
import stat

import pytest
from gpiozero import Device

from dalle_frame_satellite.buttons import fit_buttons_to_panel
from dalle_frame_satellite.errors import ConfigError
from dalle_frame_satellite.led import LedMode
from dalle_frame_satellite.panels import panel_by_name
from dalle_frame_satellite.satellite import Satellite
from dalle_frame_satellite.settings import ButtonAction, ButtonSettings
from tests.satellite.conftest import running, wait_connected, wait_shown, wait_until
from tests.satellite.fake_ha import AUTO, ENTRY_ID, palette_png


def press(pin: int) -> None:
    """Press and release the button on a BCM pin (active low)."""
    mock_pin = Device.pin_factory.pin(pin)
    mock_pin.drive_low()
    mock_pin.drive_high()


@pytest.mark.parametrize(("pin", "service"), [(5, "regenerate"), (6, "new_prompt")], ids=["A", "B"])
async def test_generation_buttons(fake_ha, make_settings, pin, service, caplog) -> None:
    """A and B call dalle_frame services with return_response and the frame's config entry."""
    caplog.set_level(logging.INFO)
    fake_ha.generated_png = palette_png(seed=11)
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        press(pin)
        await wait_until(lambda: fake_ha.calls)
        await wait_shown(satellite, None)  # the new art reaches the display
    call = fake_ha.calls[0]
    assert (call.domain, call.service) == ("dalle_frame", service)
    assert call.return_response is True
    assert call.data == {"config_entry_id": ENTRY_ID}
    assert "New art: 'a red car' (seed 42, 1.5 s)" in caplog.text


async def test_auto_mode_button_toggles_the_switch(fake_ha, make_settings, caplog) -> None:
    """D toggles the Auto mode switch; its new state is logged."""
    caplog.set_level(logging.INFO)
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        press(24)
        await wait_until(lambda: "Auto mode is on" in caplog.text)
        await asyncio.sleep(0.25)  # past the debounce time
        press(24)
        await wait_until(lambda: "Auto mode is off" in caplog.text)
    assert [(c.domain, c.service, c.target) for c in fake_ha.calls] == [
        ("switch", "toggle", {"entity_id": AUTO})
    ] * 2


async def test_debounce_and_one_action_at_a_time(fake_ha, make_settings, caplog) -> None:
    """Bounces are dropped; presses during a running action are ignored with a log line."""
    caplog.set_level(logging.INFO)
    fake_ha.generate_seconds = 0.6
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        press(5)
        press(5)  # contact bounce, within gpio.debounce_seconds
        await wait_until(lambda: fake_ha.calls)
        press(6)  # B while A's generation runs
        ignored = "Button B (new_prompt) ignored: button A (regenerate) is still running"
        await wait_until(lambda: ignored in caplog.text)
        await satellite.wait_action()
        press(6)
        await wait_until(lambda: len(fake_ha.calls) == 2)
        await satellite.wait_action()
    assert [c.service for c in fake_ha.calls] == ["regenerate", "new_prompt"]


async def test_config_entry_id_from_config_or_omitted(fake_ha, make_settings) -> None:
    """Without admin rights the registry lookup fails quietly; a configured id always wins."""
    fake_ha.registry_admin = False
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        press(5)
        await wait_until(lambda: fake_ha.calls)
        await satellite.wait_action()
    assert fake_ha.calls[0].data == {}
    satellite = Satellite(make_settings(fake_ha.url, home_assistant={"config_entry_id": "abc"}))
    async with running(satellite):
        await wait_connected(satellite)
        press(5)
        await wait_until(lambda: len(fake_ha.calls) == 2)
        await satellite.wait_action()
    assert fake_ha.calls[1].data == {"config_entry_id": "abc"}


async def test_service_failure_and_no_connection_are_logged(fake_ha, make_settings, caplog):
    """HA's error message is logged; a press while disconnected says so."""
    caplog.set_level(logging.INFO)
    fake_ha.service_error = "The GPU server at http://gpu:8765 is not reachable"
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        press(5)
        await wait_until(
            lambda: "Regenerate failed in Home Assistant: The GPU server" in caplog.text
        )
        await fake_ha.stop()
        await wait_until(lambda: satellite.link.connection is None)
        press(6)
        await wait_until(
            lambda: "New prompt failed: not connected to Home Assistant" in caplog.text
        )
        await fake_ha.start()
        await wait_connected(satellite)


async def test_custom_button_mapping(fake_ha, make_settings) -> None:
    """Actions can be moved between buttons, extra buttons added and buttons switched off."""
    buttons = {
        "A": {"action": "toggle_auto_mode"},
        "C": {"action": "none"},
        "E": {"pin": 23, "action": "regenerate"},
    }
    satellite = Satellite(make_settings(fake_ha.url, buttons=buttons))
    async with running(satellite):
        await wait_connected(satellite)
        assert satellite.buttons.names == ["A", "B", "D", "E"]
        press(5)
        await wait_until(lambda: fake_ha.calls)
        await satellite.wait_action()
        press(23)
        await wait_until(lambda: len(fake_ha.calls) == 2)
        await satellite.wait_action()
        press(16)  # C: not set up, nothing happens
        await asyncio.sleep(0.1)
    assert [(c.domain, c.service) for c in fake_ha.calls] == [
        ("switch", "toggle"),
        ("dalle_frame", "regenerate"),
    ]


async def test_status_led_blinks_while_waiting(fake_ha, make_settings) -> None:
    """The LED blinks slowly while HA generates and is off afterwards."""
    fake_ha.generate_seconds = 1.2
    satellite = Satellite(make_settings(fake_ha.url, led={"pin": 13}))
    async with running(satellite):
        await wait_connected(satellite)
        press(5)
        await wait_until(lambda: satellite.led.mode == LedMode.WAITING)
        led_pin = Device.pin_factory.pin(13)
        states = set()
        for _ in range(20):
            states.add(led_pin.state)
            await asyncio.sleep(0.05)
        assert states == {0, 1}  # on and off: blinking
        await satellite.wait_action()
        await wait_until(lambda: satellite.led.mode == LedMode.OFF)
        await asyncio.sleep(0.05)
        assert led_pin.state == 0


async def test_control_socket_presses_buttons(fake_ha, make_settings, tmp_path) -> None:
    """The testing aid: "press B" over the UNIX socket presses B through its (mock) pin."""
    path = tmp_path / "control.sock"
    satellite = Satellite(make_settings(fake_ha.url, control_socket=str(path)))
    async with running(satellite):
        await wait_connected(satellite)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        reader, writer = await asyncio.open_unix_connection(str(path))
        answers = []
        for line in ["ping", "press B", "press Z", "reboot now"]:
            writer.write(line.encode() + b"\n")
            answers.append((await reader.readline()).decode().strip())
        writer.close()
        await wait_until(lambda: fake_ha.calls)
        await satellite.wait_action()
    assert answers[:2] == ["pong", "ok"]
    assert answers[2] == "error: unknown button 'Z' (buttons: A, B, C, D)"
    assert answers[3].startswith("error: unknown command")
    assert fake_ha.calls[0].service == "new_prompt"
    assert not path.exists()


def test_button_c_moves_on_the_13_inch_panel() -> None:
    """GPIO 16 is the 13.3" panel's chip select: C moves to 25; a custom clash is refused."""
    panel = panel_by_name("inky_impression_spectra_13_3")
    standard = (
        ButtonSettings("A", 5, ButtonAction.REGENERATE),
        ButtonSettings("C", 16, ButtonAction.SPEAK),
    )
    assert [b.pin for b in fit_buttons_to_panel(standard, panel)] == [5, 25]
    with pytest.raises(
        ConfigError, match=r"button E: GPIO 16 is used by the Inky Impression 13\.3"
    ):
        fit_buttons_to_panel((ButtonSettings("E", 16, ButtonAction.SPEAK),), panel)
