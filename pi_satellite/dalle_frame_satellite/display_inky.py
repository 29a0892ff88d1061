"""The Inky Impression display: pictures go to the real inky driver as palette indices."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from .display import Display
from .errors import DisplayError
from .image_prep import PanelImage
from .panels import PANELS, Panel, panel_by_name, panel_for_eeprom_variant
from .settings import DisplaySettings

_LOGGER = logging.getLogger(__name__)


class InkyDisplay(Display):
    """An Inky Impression panel driven by inky 2.x over SPI and GPIO.

    The picture is handed to the driver's set_image() as a palette image whose palette is the
    driver's own pure colours, so each driver keeps its pixels exactly: the 7-colour drivers take
    palette indices as they are, and the Spectra drivers match six exact colours without
    dithering before remapping them to their native codes.
    """

    def __init__(
        self,
        settings: DisplaySettings,
        *,
        gpio: Any = None,
        spi_bus: Any = None,
        i2c_bus: Any = None,
    ) -> None:
        self._settings = settings
        self._hardware = {"gpio": gpio, "spi_bus": spi_bus, "i2c_bus": i2c_bus}
        self._driver: Any = None

    async def open(self) -> None:
        """Find the panel (EEPROM or configured model) and create its driver."""
        self.panel = await asyncio.to_thread(self._find_panel)
        cls = self.panel.driver_class()
        try:
            self._driver = cls(resolution=self.panel.size, **self._hardware)
        except (OSError, ValueError, RuntimeError) as err:
            raise DisplayError(f"cannot set up the {self.panel.title}: {err}") from err
        _LOGGER.info("Display: %s", self.panel.title)

    def _find_panel(self) -> Panel:
        """Return the configured panel, or the one the board's EEPROM names."""
        if self._settings.model != "auto":
            return panel_by_name(self._settings.model)
        from inky import eeprom

        try:
            board = eeprom.read_eeprom(i2c_bus=self._hardware["i2c_bus"])
        except (OSError, ImportError) as err:
            board, reason = None, str(err)
        else:
            reason = "its EEPROM did not answer on I2C bus 1"
        if board is None:
            raise DisplayError(
                f"no Inky board found ({reason}): enable I2C with "
                f"'sudo raspi-config nonint do_i2c 0' and reboot, or set display.model "
                f"to one of {', '.join(PANELS)}"
            )
        panel = panel_for_eeprom_variant(board.display_variant)
        if panel is None:
            raise DisplayError(
                f"the Inky board reports display variant {board.display_variant} "
                f"({board.get_variant()}), which is not an Impression panel this satellite "
                f"drives; supported: {', '.join(PANELS)}"
            )
        return panel

    async def show(self, image: PanelImage) -> None:
        """Send the picture and wait for the refresh (about 30 s on the real glass)."""
        if image.panel != self.panel:
            raise DisplayError(f"picture prepared for {image.panel.title}, not {self.panel.title}")
        panel = self.panel
        _LOGGER.info("showing the picture on the %s (~%d s)", panel.title, panel.refresh_seconds)
        started = time.monotonic()
        await asyncio.to_thread(self._show, image)
        _LOGGER.info("Panel refreshed in %.1f s", time.monotonic() - started)

    def _show(self, image: PanelImage) -> None:
        """Blocking part of show(): set_image() then show() on the driver."""
        _, pure_colours = self.panel.palettes()
        try:
            self._driver.set_image(image.to_pil(pure_colours))
            self._driver.show()
        except (OSError, ValueError, RuntimeError) as err:
            raise DisplayError(f"the {self.panel.title} failed to refresh: {err}") from err

    def describe(self) -> str:
        """Return the panel's name."""
        return self.panel.title if self._driver else "Inky display (not opened)"
