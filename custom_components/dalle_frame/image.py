"""Image entities: the Art as generated, and the Frame as the e-paper panel will show it."""

from __future__ import annotations

from typing import Any

from homeassistant.components.image import ImageEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_PANEL, DEFAULT_PANEL
from .data import DalleFrameConfigEntry
from .entity import DalleFrameEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Art and Frame images."""
    async_add_entities([DalleFrameArtImage(hass, entry), DalleFrameFrameImage(hass, entry)])


class DalleFrameArtImage(DalleFrameEntity, ImageEntity):
    """The last generated art (PNG) at the size the server painted it, prompt, seed and size."""

    _attr_content_type = "image/png"

    def __init__(self, hass: HomeAssistant, entry: DalleFrameConfigEntry) -> None:
        DalleFrameEntity.__init__(self, entry, "art")
        ImageEntity.__init__(self, hass)
        self._async_read_controller()

    @callback
    def _async_read_controller(self) -> None:
        """Take the time stamp and attributes of the current art."""
        art = self._controller.art
        size = art.size if art else None
        self._attr_image_last_updated = art.created if art else None
        self._attr_extra_state_attributes = {
            "prompt": art.prompt if art else None,
            "seed": art.seed if art else None,
            "width": size[0] if size else None,
            "height": size[1] if size else None,
        }

    @callback
    def _async_controller_updated(self) -> None:
        """Write the state when the art changed."""
        self._async_read_controller()
        super()._async_controller_updated()

    async def async_image(self) -> bytes | None:
        """Return the art's PNG bytes."""
        return self._controller.art.png if self._controller.art else None


class DalleFrameFrameImage(DalleFrameEntity, ImageEntity):
    """The art rendered for the panel: a palette PNG of the panel's size."""

    _attr_content_type = "image/png"

    def __init__(self, hass: HomeAssistant, entry: DalleFrameConfigEntry) -> None:
        DalleFrameEntity.__init__(self, entry, "frame")
        ImageEntity.__init__(self, hass)
        self._entry = entry
        self._async_read_controller()

    @callback
    def _async_read_controller(self) -> None:
        """Take the time stamp and attributes of the current frame."""
        art = self._controller.art if self._controller.frame_png else None
        self._attr_image_last_updated = self._controller.frame_updated
        attributes: dict[str, Any] = {
            "prompt": art.prompt if art else None,
            "panel": self._entry.options.get(CONF_PANEL, DEFAULT_PANEL),
        }
        self._attr_extra_state_attributes = attributes

    @callback
    def _async_controller_updated(self) -> None:
        """Write the state when the frame changed."""
        self._async_read_controller()
        super()._async_controller_updated()

    async def async_image(self) -> bytes | None:
        """Return the rendered frame's PNG bytes."""
        return self._controller.frame_png
