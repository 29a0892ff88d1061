"""The frame's history in Home Assistant: keep each picture, count them, pick an older one.

A picture that cannot be kept raises a repair issue and nothing else; the issue clears once
a picture is kept again. While the GPU server is down, "new prompt" shows an older picture.
"""

from __future__ import annotations

import random

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from . import issues
from .const import LOGGER
from .history import FrameHistory
from .models import Art


class HistoryKeeper:
    """Runs a frame's `FrameHistory` in the executor and reports what goes wrong.

    Attributes: count: int, the pictures in the history folder (as last seen).
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, history: FrameHistory, rng: random.Random
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._history = history
        self._rng = rng
        self._broken = False
        self.count = 0

    @property
    def folder(self) -> str:
        """The folder that keeps this frame's pictures."""
        return str(self._history.folder)

    async def async_read_newest(self) -> Art | None:
        """Count the pictures and return the newest (None when there is none or no folder)."""
        art, self.count = await self._hass.async_add_executor_job(self._read_newest)
        return art

    def _read_newest(self) -> tuple[Art | None, int]:
        """Read the newest picture and count the pictures (blocking)."""
        try:
            return self._history.newest_art(), len(self._history.items())
        except OSError as err:
            LOGGER.warning("Cannot read the history folder %s: %s", self._history.folder, err)
            return None, 0

    async def async_keep(self, art: Art, size: int) -> None:
        """Save the picture, keeping `size`; a failure raises a repair issue, nothing else."""
        try:
            self.count = await self._hass.async_add_executor_job(self._history.save, art, size)
        except OSError as err:
            LOGGER.error(
                "Cannot keep the new picture in the history folder %s: %s",
                self._history.folder,
                err,
            )
            self._broken = True
            issues.async_report_history_unwritable(
                self._hass, self._entry.entry_id, self._entry.title, self.folder, str(err)
            )
        else:
            if self._broken:
                self._broken = False
                issues.async_clear(
                    self._hass, issues.ISSUE_HISTORY_UNWRITABLE, self._entry.entry_id
                )

    async def async_pick_other(self, current_id: str | None) -> Art | None:
        """Load a random picture other than `current_id` (None when there is none).

        Raises OSError when the folder or the picture cannot be read.
        """
        items = await self._hass.async_add_executor_job(self._history.items)
        candidates = [item for item in items if item.item_id != current_id]
        if not candidates:
            return None
        return await self._hass.async_add_executor_job(
            self._history.load_art, self._rng.choice(candidates)
        )

    async def async_newest_source(self) -> str | None:
        """Return where the newest photo (a picture with a source) came from, or None."""
        try:
            items = await self._hass.async_add_executor_job(self._history.items)
        except OSError:
            return None
        return next((item.source for item in items if item.source is not None), None)

    async def async_prune(self, size: int) -> None:
        """Keep at most `size` pictures; a failure is logged."""
        try:
            await self._hass.async_add_executor_job(self._history.prune, size)
            self.count = min(self.count, size)
        except OSError as err:
            LOGGER.warning("Cannot prune the history folder %s: %s", self._history.folder, err)
