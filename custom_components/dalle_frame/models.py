"""Plain data the integration passes around: one picture, a generation's result, the status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

_PNG_HEADER_BYTES = 24  # signature (8), IHDR length and type (8), width and height (8)


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
    source: str | None = None
    """Where a picture not painted by the GPU server came from (a photo's media id or entity);
    its `prompt` is then its title (file or entity name) and `seed` 0."""

    @property
    def item_id(self) -> str:
        """The picture's name in the history folder: UTC time to the microsecond, and seed."""
        return f"{self.created:%Y%m%dT%H%M%S%f}Z-{self.seed}"

    @property
    def size(self) -> tuple[int, int] | None:
        """The picture's (width, height) as its PNG header states it; None if it has none."""
        header = self.png[:_PNG_HEADER_BYTES]
        if len(header) < _PNG_HEADER_BYTES or header[12:16] != b"IHDR":
            return None
        return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


@dataclass(frozen=True, kw_only=True)
class GenerationResult:
    """What the services return (plus the Art image entity's id)."""

    prompt: str
    seed: int
    seconds: float
