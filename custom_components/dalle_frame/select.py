"""The Auto source select: where automatic prompts come from."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import AUTO_SOURCES
from .data import DalleFrameConfigEntry
from .entity import DalleFrameEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Auto source select."""
    async_add_entities([DalleFrameAutoSourceSelect(entry)])


class DalleFrameAutoSourceSelect(DalleFrameEntity, SelectEntity):
    """Same prompt, a new prompt from the list, or a random mix of both (the original's way)."""

    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "auto_source")
        self._attr_options = list(AUTO_SOURCES)

    @property
    def current_option(self) -> str:
        """Return the current source."""
        return self._controller.auto.source

    async def async_select_option(self, option: str) -> None:
        """Choose a source (the select service has checked it is one of the options)."""
        await self._controller.auto.async_set_source(option)
