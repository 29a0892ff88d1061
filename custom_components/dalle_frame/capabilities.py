"""What the server's loaded model can paint, as /v1/health states it, and what a frame asks for.

A server older than the API additions of issues 18 and 20 sends no capabilities: the frame
then asks as it always did (prompt and seed only), because such a server refuses unknown
fields. A capabilities block that does not parse counts as absent, with a warning naming
what is wrong (once per distinct reason: the health poll runs every 30 seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from .const import LOGGER

FAMILY_MIN_DALLE: Final = "min-dalle"
FAMILY_DIFFUSION: Final = "diffusion"

_warned: set[str] = set()


class CapabilitiesError(ValueError):
    """The capabilities block does not have the agreed shape (the message says where)."""


@dataclass(frozen=True, kw_only=True)
class SettingRange:
    """The values a model takes for one setting (steps: whole numbers) and its default."""

    min: float
    max: float
    default: float

    def clamp(self, value: float) -> float:
        """Return `value` moved into min..max."""
        return min(self.max, max(self.min, value))


@dataclass(frozen=True, kw_only=True)
class ModelCapabilities:
    """generator.capabilities of /v1/health."""

    family: str
    default_size: tuple[int, int]
    min_side: int
    max_side: int
    multiple: int
    max_pixels: int
    grid_sizes: tuple[int, ...]
    steps: SettingRange | None
    guidance: SettingRange | None
    sampling: bool
    licence: str


@dataclass(frozen=True, kw_only=True)
class UpscalerInfo:
    """generator.upscaler of /v1/health: the super-resolution model the server may apply."""

    model: str
    scale: int
    ready: bool


@dataclass(frozen=True, kw_only=True)
class GenerationSettings:
    """What a frame asks /v1/generate for besides prompt and seed (None: not sent)."""

    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None

    def as_json(self) -> dict[str, int | float]:
        """Return the request fields that have a value."""
        fields = {
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
        }
        return {key: value for key, value in fields.items() if value is not None}


def parse_capabilities(value: Any) -> ModelCapabilities | None:
    """Read generator.capabilities; None when absent (old server, model loading) or malformed."""
    if value is None:
        return None
    try:
        return _capabilities(value)
    except CapabilitiesError as err:
        _warn_once(f"The GPU server's model capabilities are ignored: {err}")
        return None


def parse_upscaler(value: Any) -> UpscalerInfo | None:
    """Read generator.upscaler; None when the server has none or it is malformed."""
    if value is None:
        return None
    try:
        if not isinstance(value, dict):
            raise CapabilitiesError("upscaler is not an object")
        return UpscalerInfo(
            model=_text(value, "model"),
            scale=_whole(value, "scale"),
            ready=bool(value.get("ready", False)),
        )
    except CapabilitiesError as err:
        _warn_once(f"The GPU server's upscaler description is ignored: {err}")
        return None


def _capabilities(value: Any) -> ModelCapabilities:
    """Build ModelCapabilities or raise CapabilitiesError."""
    if not isinstance(value, dict):
        raise CapabilitiesError("capabilities is not an object")
    size = value.get("default_size")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(_is_whole(side) and side > 0 for side in size)
    ):
        raise CapabilitiesError("default_size is not [width, height]")
    grid_sizes = value.get("grid_sizes", [1])
    if not isinstance(grid_sizes, list) or not all(_is_whole(grid) for grid in grid_sizes):
        raise CapabilitiesError("grid_sizes is not a list of whole numbers")
    return ModelCapabilities(
        family=_text(value, "family"),
        default_size=(int(size[0]), int(size[1])),
        min_side=_whole(value, "min_side"),
        max_side=_whole(value, "max_side"),
        multiple=_whole(value, "multiple"),
        max_pixels=_whole(value, "max_pixels"),
        grid_sizes=tuple(int(grid) for grid in grid_sizes),
        steps=_range(value, "steps", whole=True),
        guidance=_range(value, "guidance", whole=False),
        sampling=bool(value.get("sampling", False)),
        licence=str(value.get("licence") or ""),
    )


def _range(parent: dict[str, Any], key: str, *, whole: bool) -> SettingRange | None:
    """Read a {"min", "max", "default"} object (None: the model has no such setting)."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CapabilitiesError(f"{key} is not an object or null")
    numbers = []
    for bound in ("min", "max", "default"):
        number = value.get(bound)
        if whole and not _is_whole(number):
            raise CapabilitiesError(f"{key}.{bound} is not a whole number")
        if not _is_number(number):
            raise CapabilitiesError(f"{key}.{bound} is not a number")
        numbers.append(float(number))
    low, high, default = numbers
    if not low <= default <= high:
        raise CapabilitiesError(f"{key} has default {default:g} outside {low:g}..{high:g}")
    return SettingRange(min=low, max=high, default=default)


def _text(parent: dict[str, Any], key: str) -> str:
    """Read a non-empty string."""
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise CapabilitiesError(f"{key} is not a non-empty string")
    return value


def _whole(parent: dict[str, Any], key: str) -> int:
    """Read a positive whole number."""
    value = parent.get(key)
    if not _is_whole(value) or value <= 0:
        raise CapabilitiesError(f"{key} is not a positive whole number")
    return int(value)


def _is_number(value: Any) -> TypeGuard[int | float]:
    """Whether `value` is a JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> TypeGuard[int]:
    """Whether `value` is a JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _warn_once(message: str) -> None:
    """Log `message` as a warning the first time it occurs."""
    if message not in _warned:
        _warned.add(message)
        LOGGER.warning(message)
