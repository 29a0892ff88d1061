"""The base of every dalle_frame entity: one device per frame, state pushed by the controller."""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .controller import FrameController
from .data import DalleFrameConfigEntry


class DalleFrameEntity(Entity):
    """An entity of one frame; names come from its translation key."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: DalleFrameConfigEntry, key: str) -> None:
        self._controller: FrameController = entry.runtime_data.controller
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.entry_id}-{key}"
        health = entry.runtime_data.coordinator.data
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="dalle_frame",
            model=f"AI art frame ({health.generator_model} model)" if health else "AI art frame",
            sw_version=health.version if health else None,
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the controller's state."""
        await super().async_added_to_hass()
        self.async_on_remove(self._controller.async_add_listener(self._async_controller_updated))

    @callback
    def _async_controller_updated(self) -> None:
        """Write the new state."""
        self.async_write_ha_state()


class DalleFrameServerEntity(DalleFrameEntity):
    """An entity that needs the GPU server: unavailable while the server is unreachable."""

    @property
    def available(self) -> bool:
        """Whether the GPU server is reachable."""
        return self._controller.available
