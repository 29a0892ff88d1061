"""A frame's model-dependent generation settings: the size it asks for, steps and guidance.

The size is not an option: a frame always asks for its panel's size in its orientation (the
server paints the nearest size its model can and upscales). Steps and guidance are entry
options that exist only while the server's model has them (its capabilities in /v1/health):
the options form and the Steps and Guidance numbers (`model_numbers.py`) show them with the
model's range and default, and a frame sends a value only when the user chose one. The
values belong to the model they were chosen for (`settings_model`): when the server runs
another model they go back to its defaults, and when the same model's range changes they
are moved into it, each with a log line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)

from .api import ServerHealth
from .capabilities import GenerationSettings, ModelCapabilities, SettingRange
from .const import CONF_ORIENTATION, CONF_PANEL, DEFAULT_ORIENTATION, DEFAULT_PANEL, LOGGER
from .data import DalleFrameConfigEntry, DalleFrameData
from .ha_compat import vol
from .render import PANELS

CONF_STEPS: Final = "steps"
CONF_GUIDANCE_SCALE: Final = "guidance_scale"
CONF_SETTINGS_MODEL: Final = "settings_model"
MODEL_SETTING_KEYS: Final = (CONF_STEPS, CONF_GUIDANCE_SCALE, CONF_SETTINGS_MODEL)
GUIDANCE_STEP: Final = 0.1


def entry_health(entry: ConfigEntry[Any]) -> ServerHealth | None:
    """Return a loaded frame's last server health (None: not loaded, or never reached)."""
    if entry.state is not ConfigEntryState.LOADED:
        return None
    data = entry.runtime_data
    return data.coordinator.data if isinstance(data, DalleFrameData) else None


def panel_size(options: Mapping[str, Any]) -> tuple[int, int]:
    """Return the frame's panel size (width, height) in its orientation."""
    panel = PANELS.get(options.get(CONF_PANEL, DEFAULT_PANEL)) or PANELS[DEFAULT_PANEL]
    if options.get(CONF_ORIENTATION, DEFAULT_ORIENTATION) == "portrait":
        return panel.height, panel.width
    return panel.width, panel.height


def adjustable_range(allowed: SettingRange | None) -> SettingRange | None:
    """Return the range when the user can choose a value in it (not a single value)."""
    return allowed if allowed is not None and allowed.max > allowed.min else None


def chosen_value(
    options: Mapping[str, Any], key: str, allowed: SettingRange | None
) -> float | None:
    """Return the frame's value for a setting, inside the model's range; None: not sent."""
    value = options.get(key)
    allowed = adjustable_range(allowed)
    if allowed is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return allowed.clamp(float(value))


def generation_settings(
    options: Mapping[str, Any],
    capabilities: ModelCapabilities | None,
    *,
    art_size: tuple[int, int] | None = None,
) -> GenerationSettings:
    """Return what a frame asks for; an older server (no capabilities) gets prompt and seed.

    art_size: the area the art fills (the panel less its caption, `frame_options.art_area`);
    None: the whole panel in its orientation.
    """
    if capabilities is None:
        return GenerationSettings()
    width, height = art_size or panel_size(options)
    steps = chosen_value(options, CONF_STEPS, capabilities.steps)
    guidance = chosen_value(options, CONF_GUIDANCE_SCALE, capabilities.guidance)
    return GenerationSettings(
        width=width,
        height=height,
        steps=None if steps is None else round(steps),
        guidance_scale=guidance,
    )


def options_fields(capabilities: ModelCapabilities | None) -> dict[Any, Any]:
    """Return the options form's fields for the settings the model has (defaults its own)."""
    fields: dict[Any, Any] = {}
    if capabilities is None:
        return fields
    if (steps := adjustable_range(capabilities.steps)) is not None:
        fields[vol.Required(CONF_STEPS, default=round(steps.default))] = NumberSelector(
            NumberSelectorConfig(
                min=round(steps.min), max=round(steps.max), step=1, mode=NumberSelectorMode.BOX
            )
        )
    if (guidance := adjustable_range(capabilities.guidance)) is not None:
        fields[vol.Required(CONF_GUIDANCE_SCALE, default=guidance.default)] = NumberSelector(
            NumberSelectorConfig(
                min=guidance.min, max=guidance.max, step=GUIDANCE_STEP, mode=NumberSelectorMode.BOX
            )
        )
    return fields


def suggested_values(options: Mapping[str, Any], health: ServerHealth | None) -> dict[str, Any]:
    """Return the form's suggested steps and guidance: the frame's own, else the model's."""
    capabilities = health.capabilities if health is not None else None
    if capabilities is None:
        return {}
    suggested: dict[str, Any] = {}
    for key, allowed in (
        (CONF_STEPS, capabilities.steps),
        (CONF_GUIDANCE_SCALE, capabilities.guidance),
    ):
        if (adjustable := adjustable_range(allowed)) is not None:
            value = chosen_value(options, key, adjustable)
            suggested[key] = adjustable.default if value is None else value
    if CONF_STEPS in suggested:
        suggested[CONF_STEPS] = round(suggested[CONF_STEPS])
    return suggested


def options_with_model_settings(
    old_options: Mapping[str, Any], user_input: Mapping[str, Any], health: ServerHealth | None
) -> dict[str, Any]:
    """Return the options to save from the options form.

    Steps and guidance the form did not show (server unreachable, a model without them) are
    kept; shown ones are tied to the model that runs now.
    """
    options = {key: old_options[key] for key in MODEL_SETTING_KEYS if key in old_options}
    options |= dict(user_input)
    if CONF_STEPS in user_input:
        options[CONF_STEPS] = round(float(user_input[CONF_STEPS]))
    if CONF_GUIDANCE_SCALE in user_input:
        options[CONF_GUIDANCE_SCALE] = float(user_input[CONF_GUIDANCE_SCALE])
    shown = CONF_STEPS in user_input or CONF_GUIDANCE_SCALE in user_input
    if shown and health is not None:
        options[CONF_SETTINGS_MODEL] = health.generator_model
    return options


def reconcile_options(
    options: Mapping[str, Any], health: ServerHealth
) -> tuple[dict[str, Any], list[str]]:
    """Fit the frame's steps and guidance to the server's model; return (options, changes).

    Another model: both go back to its defaults. The same model: a value it no longer has is
    dropped, one outside its range is moved to the nearest end.
    """
    capabilities = health.capabilities
    chosen = [key for key in (CONF_STEPS, CONF_GUIDANCE_SCALE) if key in options]
    if capabilities is None or not chosen:
        return dict(options), []
    new_options = dict(options)
    model = health.generator_model
    if options.get(CONF_SETTINGS_MODEL) != model:
        for key in MODEL_SETTING_KEYS:
            new_options.pop(key, None)
        return new_options, [
            f"the server now runs the model {model!r}, so steps and guidance go back to its "
            f"defaults ({_defaults_text(capabilities)})"
        ]
    changes: list[str] = []
    for key, allowed, label in (
        (CONF_STEPS, capabilities.steps, "steps"),
        (CONF_GUIDANCE_SCALE, capabilities.guidance, "guidance"),
    ):
        if key not in options:
            continue
        adjustable = adjustable_range(allowed)
        value = options[key]
        if adjustable is None or isinstance(value, bool) or not isinstance(value, int | float):
            del new_options[key]
            changes.append(f"the model {model!r} no longer takes {label}; the setting is removed")
            continue
        fitted = adjustable.clamp(float(value))
        fitted_value: float = round(fitted) if key == CONF_STEPS else fitted
        if fitted_value != value:
            new_options[key] = fitted_value
            changes.append(
                f"{label} {value:g} is outside {adjustable.min:g}..{adjustable.max:g} of the "
                f"model {model!r}; now {fitted_value:g}"
            )
    if not any(key in new_options for key in (CONF_STEPS, CONF_GUIDANCE_SCALE)):
        new_options.pop(CONF_SETTINGS_MODEL, None)
    return new_options, changes


def _defaults_text(capabilities: ModelCapabilities) -> str:
    """Describe the model's own steps and guidance, e.g. "4 steps, guidance 3.5"."""
    parts = []
    if capabilities.steps is not None:
        parts.append(f"{capabilities.steps.default:g} steps")
    if capabilities.guidance is not None:
        parts.append(f"guidance {capabilities.guidance.default:g}")
    return ", ".join(parts) or "it has neither"


@callback
def async_track_model_settings(
    hass: HomeAssistant, entry: DalleFrameConfigEntry, health: Callable[[], ServerHealth | None]
) -> Callable[[], None]:
    """Return a health listener that fits the entry's options to the server's model."""

    @callback
    def fit_to_model() -> None:
        current = health()
        if current is None:
            return
        options, changes = reconcile_options(entry.options, current)
        if not changes:
            return
        for change in changes:
            LOGGER.info("%s: %s", entry.title, change)
        hass.config_entries.async_update_entry(entry, options=options)

    return fit_to_model
