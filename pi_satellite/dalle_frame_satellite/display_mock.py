"""The mock display: inky's simulator window, for trying the satellite on a desktop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from .display import Display
from .errors import DisplayError
from .image_prep import PanelImage
from .panels import panel_by_name
from .settings import DisplaySettings

_LOGGER = logging.getLogger(__name__)
_PUMP_SECONDS: Final = 0.1
_SIMULATED_MODEL: Final = "inky_impression_5_7"


class MockDisplay(Display):
    """inky.mock.InkyMockImpression in a Tk window (5.7" only; needs $DISPLAY).

    Tk must run on the thread that created it, so everything here runs on the event loop's
    thread, and a small task keeps the window responsive.
    """

    def __init__(self, settings: DisplaySettings) -> None:
        model = _SIMULATED_MODEL if settings.model == "auto" else settings.model
        if model != _SIMULATED_MODEL:
            raise DisplayError(
                f"inky's simulator only imitates the {panel_by_name(_SIMULATED_MODEL).title}; "
                f"use display.type file for {model}"
            )
        self.panel = panel_by_name(model)
        self._driver: Any = None
        self._pump: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the simulator window."""
        try:
            from inky.mock import InkyMockImpression

            self._driver = InkyMockImpression()
        except Exception as err:  # Tk raises TclError, a plain Exception subclass
            raise DisplayError(
                f"cannot open inky's simulator window ({err}); it needs a desktop session "
                f"with Tk (apt install python3-tk) and $DISPLAY"
            ) from err
        self._pump = asyncio.create_task(self._pump_events(), name="mock display window")

    async def _pump_events(self) -> None:
        """Let Tk redraw and handle window events."""
        while True:
            try:
                self._driver.tk_root.update()
            except Exception:  # TclError once the window was closed
                _LOGGER.warning("The simulator window was closed; pictures are no longer drawn")
                return
            await asyncio.sleep(_PUMP_SECONDS)

    async def show(self, image: PanelImage) -> None:
        """Draw the picture in the window."""
        _, pure_colours = self.panel.palettes()
        self._driver.set_image(image.to_pil(pure_colours))
        self._driver.show()
        _LOGGER.info("showing the picture in inky's simulator window")

    async def close(self) -> None:
        """Stop pumping and close the window."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._driver is not None:
            with contextlib.suppress(Exception):
                self._driver.tk_root.destroy()

    def describe(self) -> str:
        """Return "inky simulator"."""
        return f"inky simulator ({self.panel.title})"
