"""Sensors: the frame's Status (with progress and the last error) and the Generation time."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DalleFrameConfigEntry
from .entity import DalleFrameEntity
from .models import FrameStatus
from .next_run_sensor import DalleFrameNextAutoRunSensor
from .satellite_sensor import async_setup_satellite_sensors

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Status and Generation time sensors."""
    async_add_entities(
        [
            DalleFrameStatusSensor(entry),
            DalleFrameGenerationTimeSensor(entry),
            DalleFrameNextAutoRunSensor(entry),
        ]
    )
    async_setup_satellite_sensors(entry, async_add_entities)


class DalleFrameStatusSensor(DalleFrameEntity, SensorEntity):
    """idle, generating or error; always available so it can say why the server is not."""

    _attr_device_class = SensorDeviceClass.ENUM

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "status")
        self._attr_options = [status.value for status in FrameStatus]

    @property
    def native_value(self) -> str:
        """Return the status."""
        return self._controller.status.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the progress (0-100 while generating), the last error and who paints."""
        return {
            "progress": self._controller.progress,
            "last_error": self._controller.last_error,
            "source": self._controller.source,
        }


class DalleFrameGenerationTimeSensor(DalleFrameEntity, SensorEntity):
    """Seconds the server took for the current art."""

    _attr_device_class = SensorDeviceClass.DURATION
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfTime.SECONDS
    _attr_suggested_display_precision = 1

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "generation_time")

    @property
    def native_value(self) -> float | None:
        """Return the seconds of the last generation."""
        return self._controller.last_seconds
