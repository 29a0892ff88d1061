"""The Auto interval number: minutes between automatic generations."""

from __future__ import annotations

from homeassistant.components.number import NumberDeviceClass, NumberEntity, NumberMode
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import MAX_AUTO_INTERVAL_MINUTES, MIN_AUTO_INTERVAL_MINUTES
from .data import DalleFrameConfigEntry
from .entity import DalleFrameEntity
from .model_numbers import async_setup_model_numbers

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Auto interval number, and Steps and Guidance where the model has them."""
    async_add_entities([DalleFrameAutoIntervalNumber(entry)])
    async_setup_model_numbers(hass, entry, async_add_entities)


class DalleFrameAutoIntervalNumber(DalleFrameEntity, NumberEntity):
    """Minutes between automatic generations."""

    _attr_device_class = NumberDeviceClass.DURATION
    _attr_entity_category = EntityCategory.CONFIG
    _attr_mode = NumberMode.BOX
    _attr_native_min_value = MIN_AUTO_INTERVAL_MINUTES
    _attr_native_max_value = MAX_AUTO_INTERVAL_MINUTES
    _attr_native_step = 1
    _attr_native_unit_of_measurement = UnitOfTime.MINUTES

    def __init__(self, entry: DalleFrameConfigEntry) -> None:
        super().__init__(entry, "auto_interval")

    @property
    def native_value(self) -> int:
        """Return the interval in minutes."""
        return self._controller.auto.interval_minutes

    async def async_set_native_value(self, value: float) -> None:
        """Set the interval (the number service has checked the range)."""
        await self._controller.auto.async_set_interval(round(value))
