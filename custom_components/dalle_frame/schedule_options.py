"""The options-flow fields of auto mode's schedule and the photo source, and their checks."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TimeSelector,
)

from .const import (
    CONF_ACTIVE_END,
    CONF_ACTIVE_START,
    CONF_ACTIVE_WEEKDAYS,
    CONF_AWAY_ENTITY,
    CONF_PHOTO_ENTITY,
    CONF_PHOTO_EVERY,
    CONF_PHOTO_FOLDER,
    CONF_PHOTO_ORDER,
    CONF_PHOTO_SUBFOLDERS,
    CONF_SCHEDULE_ENTITY,
    DEFAULT_PHOTO_EVERY,
    DEFAULT_PHOTO_ORDER,
    DEFAULT_PHOTO_SUBFOLDERS,
    MAX_PHOTO_EVERY,
    PHOTO_ORDERS,
    WEEKDAYS,
)
from .ha_compat import vol
from .photo_source import async_list_folder_images
from .picture_sources import NoPictureError

# Shown as suggested values (no schema defaults: an option left out stays out).
# Entities whose state can say that nobody is home (schedule_window.is_nobody_home).
AWAY_DOMAINS = ["person", "device_tracker", "group", "zone", "binary_sensor", "input_boolean"]

SCHEDULE_DEFAULTS: dict[str, Any] = {
    CONF_ACTIVE_WEEKDAYS: list(WEEKDAYS),
    CONF_PHOTO_ORDER: DEFAULT_PHOTO_ORDER,
    CONF_PHOTO_SUBFOLDERS: DEFAULT_PHOTO_SUBFOLDERS,
    CONF_PHOTO_EVERY: DEFAULT_PHOTO_EVERY,
}


def schedule_option_fields() -> dict[Any, Any]:
    """Return the fields: active hours, weekdays or a schedule helper, away entity, photos."""
    return {
        vol.Optional(CONF_ACTIVE_START): TimeSelector(),
        vol.Optional(CONF_ACTIVE_END): TimeSelector(),
        vol.Optional(CONF_ACTIVE_WEEKDAYS): SelectSelector(
            SelectSelectorConfig(
                options=list(WEEKDAYS),
                multiple=True,
                translation_key="weekday",
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_SCHEDULE_ENTITY): EntitySelector(EntitySelectorConfig(domain="schedule")),
        vol.Optional(CONF_AWAY_ENTITY): EntitySelector(EntitySelectorConfig(domain=AWAY_DOMAINS)),
        vol.Optional(CONF_PHOTO_FOLDER): TextSelector(),
        vol.Optional(CONF_PHOTO_ENTITY): EntitySelector(EntitySelectorConfig(domain="image")),
        vol.Optional(CONF_PHOTO_ORDER): SelectSelector(
            SelectSelectorConfig(
                options=list(PHOTO_ORDERS),
                translation_key="photo_order",
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Optional(CONF_PHOTO_SUBFOLDERS): BooleanSelector(),
        vol.Optional(CONF_PHOTO_EVERY): NumberSelector(
            NumberSelectorConfig(min=0, max=MAX_PHOTO_EVERY, step=1, mode=NumberSelectorMode.BOX)
        ),
    }


async def async_check_schedule_options(
    hass: HomeAssistant, user_input: dict[str, Any], placeholders: dict[str, str]
) -> dict[str, str]:
    """Tidy the schedule and photo fields of `user_input` in place; return form errors.

    A failing photo folder puts its reason into `placeholders["photo_reason"]`.
    """
    errors: dict[str, str] = {}
    if CONF_PHOTO_EVERY in user_input:
        user_input[CONF_PHOTO_EVERY] = int(user_input[CONF_PHOTO_EVERY])
    folder = str(user_input.get(CONF_PHOTO_FOLDER) or "").strip()
    if folder:
        user_input[CONF_PHOTO_FOLDER] = folder
    else:
        user_input.pop(CONF_PHOTO_FOLDER, None)
    has_start = bool(user_input.get(CONF_ACTIVE_START))
    if has_start != bool(user_input.get(CONF_ACTIVE_END)):
        errors[CONF_ACTIVE_END if has_start else CONF_ACTIVE_START] = "active_hours_incomplete"
    elif has_start and user_input.get(CONF_SCHEDULE_ENTITY):
        errors[CONF_SCHEDULE_ENTITY] = "schedule_and_hours"
    if CONF_ACTIVE_WEEKDAYS in user_input and not user_input[CONF_ACTIVE_WEEKDAYS]:
        errors[CONF_ACTIVE_WEEKDAYS] = "no_weekdays"
    if folder and user_input.get(CONF_PHOTO_ENTITY):
        errors[CONF_PHOTO_ENTITY] = "photo_folder_and_entity"
    elif folder:
        try:
            subfolders = bool(user_input.get(CONF_PHOTO_SUBFOLDERS, DEFAULT_PHOTO_SUBFOLDERS))
            if not await async_list_folder_images(hass, folder, subfolders=subfolders):
                raise NoPictureError(source=folder, reason="it holds no images")
        except NoPictureError as err:
            errors[CONF_PHOTO_FOLDER] = "photo_folder_invalid"
            placeholders["photo_reason"] = str(err)
    return errors
