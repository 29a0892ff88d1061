"""Buttons: Regenerate and New prompt, the frame's buttons A and B on a dashboard."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DalleFrameConfigEntry
from .entity import DalleFrameServerEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the two buttons."""
    async_add_entities([DalleFrameRegenerateButton(entry), DalleFrameNewPromptButton(entry)])


class DalleFrameRegenerateButton(DalleFrameServerEntity, ButtonEntity):
    """Generate again with the current prompt and a new seed."""

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "regenerate")

    async def async_press(self) -> None:
        """Regenerate."""
        await self._controller.async_regenerate()


class DalleFrameNewPromptButton(DalleFrameServerEntity, ButtonEntity):
    """Generate from a new prompt; while the server is down, show a picture from the history."""

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "new_prompt")

    @property
    def available(self) -> bool:
        """Whether pressing does something: the server is up, or the history has pictures."""
        return self._controller.available or self._controller.can_show_history

    async def async_press(self) -> None:
        """Generate from a new prompt."""
        await self._controller.async_new_prompt()
