"""A frame source that paints through an AI Task entity the user picked (cloud or local).

`ai_task.async_generate_image` asks the entity, stores the picture in HA's media folder and
returns its media-source id; the bytes are read back from there (a PNG as it is, another
format converted as photos are: `picture_sources.to_png`), so the picture takes the frame's
usual path: history, Art image, Frame render. AI Task entities take no seed: their pictures
carry seed 0. Every failure becomes an `AITaskFailedError` that names the entity and the
reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .api import PNG_SIGNATURE, GeneratedImage
from .const import CONF_AI_TASK_ENTITY, DOMAIN, LOGGER
from .errors import AITaskFailedError
from .picture_sources import to_png

# A cloud model may queue and take minutes; what must not happen is waiting forever.
AI_TASK_TIMEOUT_SECONDS: Final = 600.0
MAX_IMAGE_BYTES: Final = 64 * 1024 * 1024
AI_TASK_SEED: Final = 0
TASK_NAME: Final = f"{DOMAIN} art"


def ai_task_entity(options: Mapping[str, Any]) -> str | None:
    """Return the AI Task entity a frame paints through, or None for its own server."""
    entity_id = str(options.get(CONF_AI_TASK_ENTITY) or "").strip()
    return entity_id or None


async def async_paint(hass: HomeAssistant, entity_id: str, prompt: str) -> GeneratedImage:
    """Ask `entity_id` for a picture of `prompt`; return it as PNG with the time it took."""
    # Imported here: ai_task is an after-dependency that this frame's platform loads.
    from homeassistant.components import ai_task, media_source

    if ai_task.DOMAIN not in hass.config.components:
        raise AITaskFailedError(
            entity_id=entity_id, reason="the AI Task integration is not loaded (see the log)"
        )
    started = time.monotonic()
    try:
        async with asyncio.timeout(AI_TASK_TIMEOUT_SECONDS):
            result = await ai_task.async_generate_image(
                hass, task_name=TASK_NAME, entity_id=entity_id, instructions=prompt
            )
            media_id = (result or {}).get("media_source_id")
            if not isinstance(media_id, str):
                raise TypeError("the answer has no media_source_id")
            media = await media_source.async_resolve_media(hass, media_id, None)
    except TimeoutError as err:
        raise AITaskFailedError(
            entity_id=entity_id,
            reason=f"no picture within {AI_TASK_TIMEOUT_SECONDS:.0f} seconds",
        ) from err
    except HomeAssistantError as err:
        raise AITaskFailedError(entity_id=entity_id, reason=_reason(err)) from err
    except Exception as err:
        # Whatever the entity's own code raises (or a KeyError while ai_task is not set up).
        raise AITaskFailedError(
            entity_id=entity_id, reason=f"unexpected error ({type(err).__name__}: {err})"
        ) from err
    seconds = time.monotonic() - started
    if media.path is None:
        raise AITaskFailedError(entity_id=entity_id, reason="the picture is not a local file")
    try:
        png = await hass.async_add_executor_job(_read_as_png, media.path)
    except (OSError, ValueError) as err:
        raise AITaskFailedError(entity_id=entity_id, reason=str(err)) from err
    LOGGER.debug("%s painted %r in %.1f s", entity_id, prompt, seconds)
    return GeneratedImage(png=png, seed=AI_TASK_SEED, seconds=seconds)


def _reason(err: HomeAssistantError) -> str:
    """Return an error's message, or its type when it has none."""
    return str(err) or type(err).__name__


def _read_as_png(path: Path) -> bytes:
    """Read the stored picture (blocking); another format is converted like a photo."""
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise ValueError("the picture is larger than 64 MiB")
    data = path.read_bytes()
    if data.startswith(PNG_SIGNATURE):
        return data  # as painted; a broken PNG is refused by the renderer
    return to_png(data)
