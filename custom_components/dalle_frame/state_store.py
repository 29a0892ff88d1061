"""What a frame remembers across restarts besides its pictures: prompt, auto mode, frame render.

Kept in HA's storage (`.storage/dalle_frame.<entry_id>`), saved a second after each change, so
a power cut loses at most that second (entity restore state is written only every 15 minutes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import (
    AUTO_SOURCES,
    DEFAULT_AUTO_ENABLED,
    DEFAULT_AUTO_INTERVAL_MINUTES,
    DEFAULT_AUTO_SOURCE,
    DOMAIN,
    MAX_AUTO_INTERVAL_MINUTES,
    MIN_AUTO_INTERVAL_MINUTES,
)

STORAGE_VERSION: Final = 1
SAVE_DELAY_SECONDS: Final = 1


@dataclass(kw_only=True)
class FrameRenderRecord:
    """Which art and options the Frame image was last rendered from, and when."""

    art_id: str
    options: dict[str, Any]
    updated: datetime


@dataclass(kw_only=True)
class SavedState:
    """The remembered state of one frame."""

    prompt: str | None = None
    auto_enabled: bool = DEFAULT_AUTO_ENABLED
    auto_interval_minutes: int = DEFAULT_AUTO_INTERVAL_MINUTES
    auto_source: str = DEFAULT_AUTO_SOURCE
    next_auto_run: datetime | None = None
    auto_runs: int = 0
    """Automatic runs so far: "a photo every Nth run" counts on across restarts."""
    frame: FrameRenderRecord | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        data = asdict(self)
        data["next_auto_run"] = self.next_auto_run.isoformat() if self.next_auto_run else None
        if self.frame is not None:
            data["frame"]["updated"] = self.frame.updated.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedState:
        """Read the stored form; values that do not fit fall back to the defaults."""
        state = cls()
        if isinstance(prompt := data.get("prompt"), str):
            state.prompt = prompt
        if isinstance(enabled := data.get("auto_enabled"), bool):
            state.auto_enabled = enabled
        interval = data.get("auto_interval_minutes")
        if isinstance(interval, int) and (
            MIN_AUTO_INTERVAL_MINUTES <= interval <= MAX_AUTO_INTERVAL_MINUTES
        ):
            state.auto_interval_minutes = interval
        if data.get("auto_source") in AUTO_SOURCES:
            state.auto_source = data["auto_source"]
        state.next_auto_run = _parse_time(data.get("next_auto_run"))
        runs = data.get("auto_runs")
        if isinstance(runs, int) and not isinstance(runs, bool) and runs >= 0:
            state.auto_runs = runs
        frame = data.get("frame")
        if isinstance(frame, dict) and (updated := _parse_time(frame.get("updated"))):
            state.frame = FrameRenderRecord(
                art_id=str(frame.get("art_id")),
                options=dict(frame.get("options") or {}),
                updated=updated,
            )
        return state


def _parse_time(value: Any) -> datetime | None:
    """Parse an ISO time with a time zone, or return None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class FrameStateStore:
    """Loads and saves one frame's SavedState."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}")

    async def async_load(self) -> SavedState:
        """Return the saved state, or the defaults for a new frame."""
        data = await self._store.async_load()
        return SavedState.from_dict(data) if isinstance(data, dict) else SavedState()

    def async_schedule_save(self, state: SavedState) -> None:
        """Save `state` a moment from now (changes in quick succession are written once)."""
        self._store.async_delay_save(state.as_dict, SAVE_DELAY_SECONDS)

    async def async_flush(self, state: SavedState) -> None:
        """Save `state` now (the entry unloads), replacing a pending delayed save."""
        await self._store.async_save(state.as_dict())

    async def async_remove(self) -> None:
        """Delete the stored state (when the config entry is removed)."""
        await self._store.async_remove()
