"""Sensors of the frame's Pi satellite: version, panel, last refresh, and how the Pi is doing.

What the satellite is (version, panel) and when it last refreshed the glass stay shown while
it is offline; its live measurements (CPU temperature, Wi-Fi signal, free disk, uptime) are
unavailable then, since they would be stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfInformation,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DalleFrameConfigEntry
from .satellite_entity import SatelliteEntity
from .satellite_monitor import SatelliteMonitor

SatelliteValue: TypeAlias = str | int | float | datetime | None


@dataclass(frozen=True, kw_only=True)
class SatelliteSensorDescription(SensorEntityDescription):
    """A satellite sensor: where its value comes from and whether it needs a fresh report."""

    value_fn: Callable[[SatelliteMonitor], SatelliteValue]
    live: bool = True
    """A measurement that is unavailable while the satellite is offline."""


SATELLITE_SENSORS: tuple[SatelliteSensorDescription, ...] = (
    SatelliteSensorDescription(
        key="satellite_version",
        translation_key="satellite_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda monitor: monitor.report.version if monitor.report else None,
        live=False,
    ),
    SatelliteSensorDescription(
        key="satellite_panel",
        translation_key="satellite_panel",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda monitor: monitor.report.panel_model if monitor.report else None,
        live=False,
    ),
    SatelliteSensorDescription(
        key="last_refresh",
        translation_key="last_refresh",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda monitor: monitor.report.last_refresh if monitor.report else None,
        live=False,
    ),
    SatelliteSensorDescription(
        key="refresh_time",
        translation_key="refresh_time",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda monitor: monitor.report.refresh_seconds if monitor.report else None,
        live=False,
    ),
    SatelliteSensorDescription(
        key="satellite_cpu_temperature",
        translation_key="satellite_cpu_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda monitor: monitor.report.cpu_temperature if monitor.report else None,
    ),
    SatelliteSensorDescription(
        key="satellite_uptime",
        translation_key="satellite_uptime",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda monitor: monitor.boot_time,
    ),
    SatelliteSensorDescription(
        key="satellite_wi_fi_signal",
        translation_key="satellite_wi_fi_signal",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,  # noisy; as HA's integrations do with signals
        value_fn=lambda monitor: monitor.report.wifi_signal if monitor.report else None,
    ),
    SatelliteSensorDescription(
        key="satellite_free_disk",
        translation_key="satellite_free_disk",
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.GIGABYTES,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda monitor: monitor.report.disk_free if monitor.report else None,
    ),
)


@callback
def async_setup_satellite_sensors(
    entry: DalleFrameConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the satellite's sensors once a satellite has reported (now, or on its first report)."""

    @callback
    def add_entities() -> None:
        async_add_entities(SatelliteSensor(entry, description) for description in SATELLITE_SENSORS)

    entry.runtime_data.satellite.async_when_reported(add_entities)


class SatelliteSensor(SatelliteEntity, SensorEntity):
    """One value of the satellite's last report."""

    entity_description: SatelliteSensorDescription

    def __init__(
        self, entry: DalleFrameConfigEntry, description: SatelliteSensorDescription
    ) -> None:
        super().__init__(entry, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """A live measurement needs a fresh report; the others need any report."""
        if self.entity_description.live:
            return self._monitor.online
        return self._monitor.report is not None

    @property
    def native_value(self) -> SatelliteValue:
        """Return the value from the last report."""
        return self.entity_description.value_fn(self._monitor)
