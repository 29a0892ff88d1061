"""The inky display: the real inky driver classes with fake SPI, GPIO and I2C hardware."""

from __future__ import annotations

import io
import logging
import sys
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from dalle_frame_satellite.display import create_display
from dalle_frame_satellite.display_inky import InkyDisplay
from dalle_frame_satellite.errors import DisplayError
from dalle_frame_satellite.image_prep import PanelImage, prepare_image
from dalle_frame_satellite.panels import PANELS, panel_by_name
from dalle_frame_satellite.satellite import Satellite
from dalle_frame_satellite.settings import DisplaySettings, DisplayType
from tests.satellite.conftest import running, wait_shown
from tests.satellite.fake_ha import palette_png
from tests.satellite.fake_inky import FakeEeprom, FakePanelHardware, NoEeprom

DTM = 0x10  # "data transmission": the pixel data command of every Impression controller
SPECTRA_NATIVE = np.array([0, 1, 2, 3, 5, 6], dtype=np.uint8)  # driver order -> panel codes


def pack(pixels: np.ndarray) -> bytes:
    """Two 4-bit pixels per byte, first pixel in the high nibble (as the controllers take it)."""
    flat = pixels.flatten()
    return bytes(((flat[::2] << 4) | flat[1::2]).astype(np.uint8))


def expected_transfers(name: str, indices: np.ndarray) -> list[tuple[tuple[int, ...], bytes]]:
    """What each panel's controller(s) must receive for these driver-order indices."""
    if name in ("inky_impression_4", "inky_impression_5_7", "inky_impression_7_3"):
        return [((8,), pack(indices))]
    native = SPECTRA_NATIVE[indices]
    if name == "inky_impression_spectra_7_3":
        return [((8,), pack(native))]
    turned = np.rot90(native, -1)  # these controllers scan the panel in portrait
    if name == "inky_impression_spectra_4":
        return [((8,), pack(turned))]
    return [((26,), pack(turned[:, :600])), ((16,), pack(turned[:, 600:]))]  # two controllers


async def open_display(name: str, hardware: FakePanelHardware) -> InkyDisplay:
    """Open a named panel on fake hardware."""
    display = InkyDisplay(DisplaySettings(model=name), gpio=hardware, spi_bus=hardware)
    await display.open()
    if name == "inky_impression_spectra_13_3":
        # inky 2.6.0's EL133UF1 names its chip-select lines only when it requests them itself;
        # with injected GPIO they must be named here (real use never injects GPIO).
        display._driver.cs0_pin, display._driver.cs1_pin = 26, 16
    return display


@pytest.mark.parametrize("name", list(PANELS))
async def test_panel_receives_exact_pixels(name: str) -> None:
    """A known palette picture reaches each panel's controller byte for byte."""
    panel = panel_by_name(name)
    hardware = FakePanelHardware()
    display = await open_display(name, hardware)
    indices = np.random.default_rng(7).integers(0, panel.colours, panel.size[::-1], np.uint8)
    await display.show(PanelImage(panel, indices, converted=False))
    sent = [(s.chip_selects, bytes(s.data)) for s in hardware.data_of(DTM)]
    assert sent == expected_transfers(name, indices)
    assert hardware.opened == (0, 0)


async def test_rgb_picture_never_uses_inkys_conversion() -> None:
    """An RGB picture is dithered by the satellite: the panel gets only codes 0-6."""
    panel = panel_by_name("inky_impression_5_7")
    hardware = FakePanelHardware()
    display = await open_display(panel.name, hardware)
    gradient = np.linspace(0, 255, 512 * 512 * 3).reshape(512, 512, 3).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gradient, "RGB").save(buffer, format="PNG")  # dark to light: index 8 bait
    prepared = prepare_image(buffer.getvalue(), panel, saturation=0.5)
    assert prepared.converted
    await display.show(prepared)
    data = np.frombuffer(bytes(hardware.data_of(DTM)[0].data), dtype=np.uint8)
    nibbles = np.concatenate([data >> 4, data & 0x0F])
    assert set(np.unique(nibbles).tolist()) <= set(range(7))


@pytest.mark.parametrize(
    ("variant", "size", "name"),
    [
        (14, (600, 448), "inky_impression_5_7"),
        (16, (640, 400), "inky_impression_4"),
        (20, (800, 480), "inky_impression_7_3"),
        (22, (800, 480), "inky_impression_spectra_7_3"),
        (21, (1600, 1200), "inky_impression_spectra_13_3"),
    ],
)
async def test_board_is_detected_from_its_eeprom(variant, size, name) -> None:
    """model: auto reads the board's EEPROM over I2C (inky's own EEPROM reader)."""
    display = InkyDisplay(
        DisplaySettings(model="auto"),
        gpio=FakePanelHardware(),
        spi_bus=FakePanelHardware(),
        i2c_bus=FakeEeprom(*size, variant),
    )
    await display.open()
    assert display.panel.name == name
    assert display.describe() == panel_by_name(name).title


async def test_missing_or_unsupported_board_is_explained() -> None:
    """No EEPROM: how to enable I2C or name the model; a pHAT: not a supported panel."""
    nothing = InkyDisplay(DisplaySettings(model="auto"), i2c_bus=NoEeprom())
    with pytest.raises(DisplayError, match=r"no Inky board found.*do_i2c 0.*display\.model"):
        await nothing.open()
    phat = InkyDisplay(DisplaySettings(model="auto"), i2c_bus=FakeEeprom(212, 104, 1, 2))
    with pytest.raises(DisplayError, match=r"display variant 1 .*Red pHAT.* not an Impression"):
        await phat.open()


async def test_satellite_drives_the_panel(fake_ha, make_settings, caplog) -> None:
    """End to end on fake hardware: HA's Frame image goes to the 5.7" controller unchanged."""
    caplog.set_level(logging.INFO)
    png = palette_png(seed=21)
    await fake_ha.set_frame(png)
    settings = make_settings(fake_ha.url, display={"type": "inky", "model": "inky_impression_5_7"})
    hardware = FakePanelHardware()
    display = create_display(settings.display, gpio=hardware, spi_bus=hardware)
    satellite = Satellite(settings, display=display)
    async with running(satellite):
        await wait_shown(satellite, None)
    expected = prepare_image(png, panel_by_name("inky_impression_5_7")).indices
    assert bytes(hardware.data_of(DTM)[0].data) == pack(expected)
    assert 'showing the picture on the Inky Impression 5.7"' in caplog.text
    assert "Panel refreshed in" in caplog.text


async def test_mock_display_draws_in_the_simulator(monkeypatch) -> None:
    """inky's simulator window (Tk replaced, as inky's own tests do) gets the picture."""
    monkeypatch.setitem(sys.modules, "tkinter", mock.MagicMock())
    monkeypatch.delitem(sys.modules, "inky.mock", raising=False)
    display = create_display(DisplaySettings(type=DisplayType.MOCK))
    await display.open()
    panel = panel_by_name("inky_impression_5_7")
    indices = np.random.default_rng(5).integers(0, 7, panel.size[::-1], np.uint8)
    await display.show(PanelImage(panel, indices, converted=False))
    assert (display._driver.buf == indices).all()
    await display.close()


async def test_mock_display_without_a_desktop(monkeypatch) -> None:
    """Real Tk without $DISPLAY: a clear error naming what is missing."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delitem(sys.modules, "inky.mock", raising=False)
    display = create_display(DisplaySettings(type=DisplayType.MOCK))
    with pytest.raises(DisplayError, match=r"needs a desktop session .*\$DISPLAY"):
        await display.open()
    with pytest.raises(DisplayError, match="only imitates"):
        create_display(DisplaySettings(type=DisplayType.MOCK, model="inky_impression_7_3"))
