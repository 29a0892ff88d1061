"""The Next auto run sensor: when auto mode will next change the picture (a timestamp)."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity

from .data import DalleFrameConfigEntry
from .entity import DalleFrameEntity


class DalleFrameNextAutoRunSensor(DalleFrameEntity, SensorEntity):
    """Unknown while auto mode is off, nobody is home, or the schedule helper allows no run."""

    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "next_auto_run")

    @property
    def native_value(self) -> datetime | None:
        """Return the next run's time."""
        return self._controller.auto.next_visible_run
