"""Starting a generation for a voice command without keeping the speaker waiting.

A generation takes seconds on a GPU and minutes on a CPU, far longer than a voice reply may
wait. The generation runs as a background task of the frame's entry (unloading the frame
cancels it); the reply waits only a moment, long enough to hear of a failure that comes at
once (server down, refused token, full queue, model loading).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN, LOGGER
from .data import DalleFrameConfigEntry
from .models import FrameStatus, GenerationResult

IMMEDIATE_FAILURE_SECONDS: Final = 1.0
"""How long a voice reply waits for a failure that comes at once."""

GenerationJob = Callable[[], Awaitable[GenerationResult]]


@dataclass(frozen=True, kw_only=True)
class PaintingStart:
    """What became of a generation a moment after it was started.

    Exactly one of `result` (it already finished) and `error` (it failed) is set, or
    neither (it is still running, or waits for the frame's current generation: `queued`).
    """

    queued: bool
    result: GenerationResult | None = None
    error: HomeAssistantError | None = None


async def async_start_painting(
    hass: HomeAssistant, entry: DalleFrameConfigEntry, job: GenerationJob, what: str
) -> PaintingStart:
    """Start `job` in the background; return once it failed, finished, or a moment passed."""
    queued = entry.runtime_data.controller.status is FrameStatus.GENERATING
    task = entry.async_create_background_task(
        hass, _async_outcome(entry, job, what), f"{DOMAIN} voice generation for {entry.title}"
    )
    done, _ = await asyncio.wait({task}, timeout=IMMEDIATE_FAILURE_SECONDS)
    if not done:
        return PaintingStart(queued=queued)
    outcome = task.result()
    if isinstance(outcome, HomeAssistantError):
        return PaintingStart(queued=queued, error=outcome)
    return PaintingStart(queued=queued, result=outcome)


async def _async_outcome(
    entry: DalleFrameConfigEntry, job: GenerationJob, what: str
) -> GenerationResult | HomeAssistantError:
    """Run `job`; return its error instead of raising (nobody may be waiting for it)."""
    try:
        return await job()
    except HomeAssistantError as err:
        LOGGER.debug("Painting %s on %s by voice failed: %s", what, entry.title, err)
        return err
