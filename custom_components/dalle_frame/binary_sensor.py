"""Binary sensor: whether the frame's Pi satellite is reporting (Connectivity)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DalleFrameConfigEntry
from .satellite_entity import SatelliteEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the satellite's connectivity sensor once a satellite has reported."""

    @callback
    def add_entities() -> None:
        async_add_entities([SatelliteConnectivitySensor(entry)])

    entry.runtime_data.satellite.async_when_reported(add_entities)


class SatelliteConnectivitySensor(SatelliteEntity, BinarySensorEntity):
    """On while the satellite reports; off after three report intervals without a report."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "satellite_connection")

    @property
    def is_on(self) -> bool:
        """Whether the satellite reported within three of its report intervals."""
        return self._monitor.online
