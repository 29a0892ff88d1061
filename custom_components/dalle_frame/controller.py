"""The frame's state machine: generation, status, progress, auto mode and the current art.

INTERFACE SKELETON written by the lead so entity and core work can proceed in parallel.
The core helper (H3a) fills in the bodies; the public names and signatures below are the
contract the entity platforms (H3c) code against. Extend it, do not rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class FrameStatus(StrEnum):
    """States of the Status sensor."""

    IDLE = "idle"
    GENERATING = "generating"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class Art:
    """One generated picture and what made it."""

    png: bytes
    prompt: str
    seed: int
    seconds: float
    created: datetime


@dataclass(frozen=True, kw_only=True)
class GenerationResult:
    """What the services return (plus the Art image entity's id)."""

    prompt: str
    seed: int
    seconds: float


class FrameController:
    """Owns one frame's state; entities read it and call its methods.

    Attributes entities read (all updated before listeners are called):
      art: Art | None                 the current art (restored from history at start-up)
      frame_png: bytes | None         the art rendered for the panel (palette PNG)
      frame_updated: datetime | None  when frame_png last changed
      prompt: str                     the current prompt ("" before the first art)
      status: FrameStatus
      progress: int | None            0-100 while generating, else None
      last_error: str | None          the reason of the last failure, for the Status sensor
      last_seconds: float | None      seconds of the last generation
      available: bool                 False while the GPU server is unreachable
      auto_enabled: bool
      auto_interval_minutes: int
      auto_source: str                one of const.AUTO_SOURCES
    """

    def async_add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (in the event loop) after every state change; return an unsubscribe."""
        raise NotImplementedError

    async def async_generate(
        self, prompt: str | None = None, seed: int | None = None
    ) -> GenerationResult:
        """Generate art (prompt None: a new prompt from the list); raises HomeAssistantError."""
        raise NotImplementedError

    async def async_regenerate(self) -> GenerationResult:
        """Generate again with the current prompt and a new seed."""
        raise NotImplementedError

    async def async_new_prompt(self) -> GenerationResult:
        """Generate with a new prompt from the list (history picture when the server is down)."""
        raise NotImplementedError

    async def async_set_auto_enabled(self, enabled: bool) -> None:
        """Turn auto mode on or off (the switch, also restored at start-up)."""
        raise NotImplementedError

    async def async_set_auto_interval(self, minutes: int) -> None:
        """Set minutes between automatic generations (the number entity)."""
        raise NotImplementedError

    async def async_set_auto_source(self, source: str) -> None:
        """Set where automatic prompts come from (the select entity)."""
        raise NotImplementedError
