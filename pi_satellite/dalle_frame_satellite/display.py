"""The display seam: what every display offers, and the factory that picks one from settings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .image_prep import PanelImage
from .panels import Panel
from .settings import DisplaySettings, DisplayType


class Display(ABC):
    """A place pictures are shown: an e-paper panel, a PNG file or a simulator window."""

    panel: Panel
    """The panel the display is (or imitates); set by open()."""

    @abstractmethod
    async def open(self) -> None:
        """Find and set up the hardware; raise DisplayError with a reason when impossible."""

    @abstractmethod
    async def show(self, image: PanelImage) -> None:
        """Show the picture; returns when the panel has finished refreshing."""

    async def close(self) -> None:  # noqa: B027  (optional hook, nothing to release by default)
        """Release the hardware."""

    @abstractmethod
    def describe(self) -> str:
        """Return a short human description for log lines."""


def create_display(settings: DisplaySettings, **hardware: Any) -> Display:
    """Return the display the settings ask for (not opened yet).

    hardware: inky driver hooks (gpio, spi_bus, i2c_bus) for tests; empty in real use.
    """
    if settings.type == DisplayType.FILE:
        from .display_file import FileDisplay

        return FileDisplay(settings)
    if settings.type == DisplayType.MOCK:
        from .display_mock import MockDisplay

        return MockDisplay(settings)
    from .display_inky import InkyDisplay

    return InkyDisplay(settings, **hardware)
