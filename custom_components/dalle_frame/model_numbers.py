"""The Steps and Guidance numbers: a frame's model settings on its device page.

They exist only while the server's model has the setting (its capabilities in /v1/health):
added when a model that has it is seen, removed (from the entity registry too) when the
server runs a model without it. While the server loads or is unreachable they stay, and are
unavailable. They show and change the same entry options as the options form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import NumberEntity, NumberMode
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capabilities import ModelCapabilities, SettingRange
from .const import DOMAIN, LOGGER
from .data import DalleFrameConfigEntry
from .entity import DalleFrameServerEntity
from .model_settings import (
    CONF_GUIDANCE_SCALE,
    CONF_SETTINGS_MODEL,
    CONF_STEPS,
    GUIDANCE_STEP,
    adjustable_range,
    chosen_value,
)


@dataclass(frozen=True, kw_only=True)
class ModelSetting:
    """One setting a model may have, as a number entity."""

    key: str
    """The entity's translation key (and unique id suffix)."""
    option: str
    """The entry option that holds the frame's value."""
    step: float
    whole: bool
    allowed: Callable[[ModelCapabilities], SettingRange | None]


MODEL_SETTINGS: tuple[ModelSetting, ...] = (
    ModelSetting(
        key="steps",
        option=CONF_STEPS,
        step=1,
        whole=True,
        allowed=lambda capabilities: capabilities.steps,
    ),
    ModelSetting(
        key="guidance",
        option=CONF_GUIDANCE_SCALE,
        step=GUIDANCE_STEP,
        whole=False,
        allowed=lambda capabilities: capabilities.guidance,
    ),
)


@callback
def async_setup_model_numbers(
    hass: HomeAssistant,
    entry: DalleFrameConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the model's numbers now and whenever the server's model changes."""
    coordinator = entry.runtime_data.coordinator
    added: set[str] = set()

    @callback
    def follow_model() -> None:
        health = coordinator.data
        capabilities = health.capabilities if health is not None else None
        if capabilities is None:
            return  # an older server, or a model still loading: nothing to decide yet
        registry = er.async_get(hass)
        new: list[ModelSettingNumber] = []
        for setting in MODEL_SETTINGS:
            has_it = adjustable_range(setting.allowed(capabilities)) is not None
            if has_it and setting.key not in added:
                added.add(setting.key)
                new.append(ModelSettingNumber(entry, setting))
            elif not has_it:
                added.discard(setting.key)
                unique_id = f"{entry.entry_id}-{setting.key}"
                entity_id = registry.async_get_entity_id(Platform.NUMBER, DOMAIN, unique_id)
                if entity_id is not None:
                    LOGGER.info(
                        "%s: the model %r has no %s setting; %s is removed",
                        entry.title,
                        health.generator_model if health else "",
                        setting.key,
                        entity_id,
                    )
                    registry.async_remove(entity_id)
        if new:
            async_add_entities(new)

    follow_model()
    entry.async_on_unload(coordinator.async_add_listener(follow_model))


class ModelSettingNumber(DalleFrameServerEntity, NumberEntity):
    """Steps or guidance of the server's model for this frame (its default until set)."""

    _attr_entity_category = EntityCategory.CONFIG
    _attr_mode = NumberMode.BOX

    def __init__(self, entry: DalleFrameConfigEntry, setting: ModelSetting) -> None:
        super().__init__(entry, setting.key)
        self._entry = entry
        self._setting = setting
        self._attr_native_step = setting.step
        self._last_range = self._range

    @property
    def _range(self) -> SettingRange | None:
        """The model's range for this setting now (None: not known or not there)."""
        health = self._entry.runtime_data.coordinator.data
        capabilities = health.capabilities if health is not None else None
        return adjustable_range(self._setting.allowed(capabilities)) if capabilities else None

    @property
    def _shown_range(self) -> SettingRange | None:
        """The range now, or the last one seen (while the server loads)."""
        if (current := self._range) is not None:
            self._last_range = current
        return self._last_range

    @property
    def available(self) -> bool:
        """Whether the server is reachable and its model has this setting."""
        return super().available and self._range is not None

    @property
    def native_min_value(self) -> float:
        """The model's smallest value."""
        shown = self._shown_range
        return shown.min if shown is not None else 0.0

    @property
    def native_max_value(self) -> float:
        """The model's largest value."""
        shown = self._shown_range
        return shown.max if shown is not None else 0.0

    @property
    def native_value(self) -> float | None:
        """The frame's value, else the model's default."""
        shown = self._shown_range
        if shown is None:
            return None
        value = chosen_value(self._entry.options, self._setting.option, shown)
        value = shown.default if value is None else value
        return round(value) if self._setting.whole else value

    async def async_set_native_value(self, value: float) -> None:
        """Keep the value for the model that runs now (the number service checked the range)."""
        health = self._entry.runtime_data.coordinator.data
        options = dict(self._entry.options)
        options[self._setting.option] = round(value) if self._setting.whole else float(value)
        if health is not None:
            options[CONF_SETTINGS_MODEL] = health.generator_model
        self.hass.config_entries.async_update_entry(self._entry, options=options)
        self.async_write_ha_state()
