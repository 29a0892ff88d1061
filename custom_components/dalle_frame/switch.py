"""The Auto mode switch (the frame's button D): automatic generation on or off."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DalleFrameConfigEntry
from .entity import DalleFrameEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Auto mode switch."""
    async_add_entities([DalleFrameAutoModeSwitch(entry)])


class DalleFrameAutoModeSwitch(DalleFrameEntity, SwitchEntity):
    """Auto mode; its next run is an attribute. Stays available while the server is down."""

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "auto_mode")

    @property
    def is_on(self) -> bool:
        """Return whether auto mode is on."""
        return self._controller.auto.enabled

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return when auto mode fires next."""
        next_run = self._controller.auto.next_run
        return {"next_run": next_run.isoformat() if next_run else None}

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn auto mode on."""
        await self._controller.auto.async_set_enabled(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn auto mode off."""
        await self._controller.auto.async_set_enabled(False)
