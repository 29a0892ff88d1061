"""The Prompt text entity: shows the current prompt; setting it generates art from it."""

from __future__ import annotations

from homeassistant.components.text import TextEntity, TextMode
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import MAX_PROMPT_LENGTH
from .data import DalleFrameConfigEntry
from .entity import DalleFrameServerEntity
from .validation import validate_prompt

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Prompt text."""
    async_add_entities([DalleFramePromptText(entry)])


class DalleFramePromptText(DalleFrameServerEntity, TextEntity):
    """The current prompt."""

    _attr_mode = TextMode.TEXT
    _attr_native_min = 0
    _attr_native_max = MAX_PROMPT_LENGTH

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "prompt")

    @property
    def native_value(self) -> str | None:
        """Return the current prompt (unknown before the first one)."""
        return self._controller.prompt

    async def async_set_value(self, value: str) -> None:
        """Generate art from the new prompt."""
        await self._controller.async_generate(prompt=validate_prompt(value))
