"""Diagnostics: the entry, the server's health, the frame's and its satellite's state, no token."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_TOKEN
from .data import DalleFrameConfigEntry
from .model_settings import generation_settings

TO_REDACT = {CONF_TOKEN}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: DalleFrameConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug a frame; never the token, never image bytes."""
    data = entry.runtime_data
    controller = data.controller
    art = controller.art
    health = data.coordinator.data
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "server": {
            "reachable": data.coordinator.last_update_success,
            "last_error": str(data.coordinator.last_exception)
            if data.coordinator.last_exception
            else None,
            "health": asdict(health) if health else None,
            "generation_request": generation_settings(
                entry.options, health.capabilities if health else None
            ).as_json(),
        },
        "frame": {
            "status": controller.status.value,
            "progress": controller.progress,
            "last_error": controller.last_error,
            "prompt": controller.prompt,
            "art": {
                "item_id": art.item_id,
                "prompt": art.prompt,
                "seed": art.seed,
                "seconds": art.seconds,
                "png_bytes": len(art.png),
                "size": list(art.size) if art.size else None,
            }
            if art
            else None,
            "frame_png_bytes": len(controller.frame_png) if controller.frame_png else None,
            "frame_updated": controller.frame_updated.isoformat()
            if controller.frame_updated
            else None,
            "history_count": controller.history.count,
            "prompt_list": {
                "source": controller.prompts.source,
                "subjects": len(controller.prompts.subjects),
                "styles": len(controller.prompts.styles),
                "combinations": controller.prompts.combinations,
            },
        },
        "satellite": {
            "online": data.satellite.online,
            "last_report": data.satellite.report.as_dict() if data.satellite.report else None,
        },
        "auto_mode": {
            "enabled": controller.auto.enabled,
            "interval_minutes": controller.auto.interval_minutes,
            "source": controller.auto.source,
            "next_run": controller.auto.next_run.isoformat() if controller.auto.next_run else None,
        },
    }
