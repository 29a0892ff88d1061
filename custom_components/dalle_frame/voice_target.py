"""Which frame a voice command is for: the one in the speaker's area, else the only one."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .data import DalleFrameConfigEntry


class VoiceTargetError(Exception):
    """No frame can be chosen; the message is spoken to the user."""


def frame_for_voice(
    hass: HomeAssistant, device_id: str | None, area_id: str | None = None
) -> DalleFrameConfigEntry:
    """Return the loaded frame a command from `device_id` (or `area_id`) is for.

    The frame whose device is in the same area as the device that spoke wins; without one,
    the only loaded frame; otherwise VoiceTargetError says what to do.
    """
    loaded: list[DalleFrameConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    if not loaded:
        raise VoiceTargetError("No picture frame is set up, so I cannot paint anything.")
    speaker_area = _device_area(hass, device_id) or area_id
    if speaker_area is not None:
        in_area = [entry for entry in loaded if _frame_area(hass, entry) == speaker_area]
        if len(in_area) == 1:
            return in_area[0]
        if len(in_area) > 1:
            raise VoiceTargetError(
                f"There are several frames in {_area_name(hass, speaker_area)}: "
                f"{_titles(in_area)}. Put each one in its own area."
            )
    if len(loaded) == 1:
        return loaded[0]
    raise VoiceTargetError(
        f"There are several frames ({_titles(loaded)}) and none is in this area. "
        "Ask from a device in the same area as the frame."
    )


def _device_area(hass: HomeAssistant, device_id: str | None) -> str | None:
    """Return the area of a device."""
    if device_id is None:
        return None
    device = dr.async_get(hass).async_get(device_id)
    return device.area_id if device else None


def _frame_area(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> str | None:
    """Return the area of a frame's device (the entry's device with the frame's identifier)."""
    identifier = (DOMAIN, entry.entry_id)
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        if identifier in device.identifiers:
            return device.area_id
    return None


def _area_name(hass: HomeAssistant, area_id: str) -> str:
    """Return an area's name (its id if it is gone)."""
    area = ar.async_get(hass).async_get_area(area_id)
    return area.name if area else area_id


def _titles(entries: list[DalleFrameConfigEntry]) -> str:
    """Return the frames' names, sorted, joined with commas and "and"."""
    titles = sorted(entry.title for entry in entries)
    return ", ".join(titles[:-1]) + f" and {titles[-1]}" if len(titles) > 1 else titles[0]
