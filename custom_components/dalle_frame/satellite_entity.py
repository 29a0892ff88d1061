"""The base of the satellite's entities: on the frame's device, state pushed by its monitor."""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .data import DalleFrameConfigEntry
from .satellite_monitor import SatelliteMonitor


class SatelliteEntity(Entity):
    """An entity of a frame's Pi satellite, updated by each report and when it goes quiet.

    The entities belong to the frame's own device: the satellite is the frame's hardware, and
    the device keeps one place for everything about the frame.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: DalleFrameConfigEntry, key: str) -> None:
        self._monitor: SatelliteMonitor = entry.runtime_data.satellite
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.entry_id}-{key}"
        # The frame's name too: a satellite platform may add its entities before the frame's
        # own platforms create the device, and the entity ids come from the device's name.
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)}, name=entry.title
        )

    async def async_added_to_hass(self) -> None:
        """Follow the satellite's reports."""
        await super().async_added_to_hass()
        self.async_on_remove(self._monitor.async_add_listener(self._async_satellite_updated))

    @callback
    def _async_satellite_updated(self) -> None:
        """Write the new state."""
        self.async_write_ha_state()
