"""Plain data the integration passes around: one picture, a generation's result, the status."""

from __future__ import annotations

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
    """One generated picture and what made it; `item_id` names it in the history."""

    png: bytes
    prompt: str
    seed: int
    seconds: float
    created: datetime

    @property
    def item_id(self) -> str:
        """The picture's name in the history folder: UTC time to the microsecond, and seed."""
        return f"{self.created:%Y%m%dT%H%M%S%f}Z-{self.seed}"


@dataclass(frozen=True, kw_only=True)
class GenerationResult:
    """What the services return (plus the Art image entity's id)."""

    prompt: str
    seed: int
    seconds: float
