"""The text-to-image interface the HTTP layer uses: requests in, PNG pictures out.

A `TextToImage` is one loaded model of either family (min-dalle, diffusion), possibly wrapped
by the upscaler. It says what it can paint (`Capabilities`, shown in /v1/health and used to
check requests) and returns `Picture`s: PNG bytes with their size, no model internals.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from .interface import ProgressCallback

MAX_SEED = 2**63 - 1
"""Largest seed a request may carry (a signed 64-bit integer, which every client can send)."""


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """One validated generation request (the HTTP layer checks the ranges).

    Fields a model does not have (see `Capabilities`) keep their defaults: the HTTP layer
    refuses a request that sets them.
    """

    prompt: str
    seed: int
    grid_size: int = 1
    temperature: float = 1.0
    top_k: int = 128
    supercondition_factor: float = 16.0
    width: int | None = None
    """The picture the client wants (both or neither); None: the model's default size."""
    height: int | None = None
    steps: int | None = None
    """Denoising steps (diffusion); None: the model's default."""
    guidance_scale: float | None = None
    """Classifier-free guidance (diffusion models that have it); None: the model's default."""
    upscale: bool = True
    """Upscale to width x height where the server has an upscaler and the picture is smaller."""


@dataclass(frozen=True, kw_only=True)
class StepRange:
    """The values a model's integer setting (steps) may take."""

    min: int
    max: int
    default: int


@dataclass(frozen=True, kw_only=True)
class GuidanceRange:
    """The values a model's guidance scale may take."""

    min: float
    max: float
    default: float


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a loaded model can paint (generator.capabilities in /v1/health)."""

    family: str
    """"min-dalle" or "diffusion"."""
    default_size: tuple[int, int]
    """(width, height) painted when the request gives none."""
    min_side: int
    max_side: int
    multiple: int
    """Each painted side is a multiple of this."""
    max_pixels: int
    """The largest width * height the model paints (its budget)."""
    grid_sizes: tuple[int, ...] = (1,)
    steps: StepRange | None = None
    guidance: GuidanceRange | None = None
    sampling: bool = False
    """Whether temperature, top_k and supercondition_factor apply (min-dalle)."""
    licence: str = ""

    def as_json(self) -> dict[str, object]:
        """Return the capabilities as /v1/health shows them."""
        return {
            "family": self.family,
            "default_size": list(self.default_size),
            "min_side": self.min_side,
            "max_side": self.max_side,
            "multiple": self.multiple,
            "max_pixels": self.max_pixels,
            "grid_sizes": list(self.grid_sizes),
            "steps": None if self.steps is None else vars(self.steps),
            "guidance": None if self.guidance is None else vars(self.guidance),
            "sampling": self.sampling,
            "licence": self.licence,
        }


@dataclass(frozen=True, kw_only=True)
class Picture:
    """One generated picture."""

    png: bytes
    width: int
    height: int
    upscale_seconds: float | None = None
    """Time the upscaler took on this picture; None when it was not upscaled."""


class TextToImage(ABC):
    """A loaded text-to-image model. Its methods block: call them from a worker thread."""

    model_name: str
    """"mini", "mega" or "test"."""
    device: str
    """torch device, e.g. "cpu" or "cuda"."""
    dtype: str
    """"float32", "float16" or "bfloat16"."""
    capabilities: Capabilities
    """What the model can paint; the HTTP layer checks requests against it."""

    @abstractmethod
    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Picture | Exception]:
        """Generate one turn: one request, or several `can_batch` accepted, as PNG each.

        Each picture has the size the capabilities give for the request (min-dalle: 256 *
        grid_size square); same request, same pixels. A request whose
        progress callback raised (its client left) gets that exception in its place. Raises
        `ModelFailedError` (errors.py) when the model fails the turn (out of memory included).
        """

    def describe(self) -> dict[str, object]:
        """Return what /v1/health adds about how the model runs; nothing by default."""
        return {}

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """Whether `generate_pngs` takes these requests as one batch (by default: never)."""
        return False


def painted_size(
    capabilities: Capabilities, width: int | None, height: int | None, grid_size: int = 1
) -> tuple[int, int]:
    """Return the (width, height) a model paints for a request: one rule for API, HA and models.

    min-dalle paints its default square times `grid_size`, whatever the size asked for (the
    upscaler brings it to width x height). A diffusion model keeps the asked aspect: the size
    is scaled into the pixel budget and between the side limits, then each side is rounded
    down or up to the model's multiple: of the pairs within the budget, the one closest to
    the asked aspect (the larger on a tie).
    Neither width nor height given: the default size.
    """
    if capabilities.family == "min-dalle":
        side_w, side_h = capabilities.default_size
        return side_w * grid_size, side_h * grid_size
    if width is None or height is None:
        return capabilities.default_size
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive, not {width}x{height}")
    multiple = capabilities.multiple
    lowest = -(-capabilities.min_side // multiple) * multiple
    highest = max(lowest, capabilities.max_side // multiple * multiple)
    scale = min(
        1.0,
        math.sqrt(capabilities.max_pixels / (width * height)),
        capabilities.max_side / max(width, height),
    )
    scale = max(scale, capabilities.min_side / min(width, height))

    def near(side: float) -> list[int]:
        below, above = math.floor(side / multiple), math.ceil(side / multiple)
        return sorted({min(highest, max(lowest, n * multiple)) for n in (below, above)})

    aspect = width / height
    fitting = [
        (abs(w / h - aspect) / aspect, -w * h, w, h)
        for w in near(width * scale)
        for h in near(height * scale)
        if w * h <= capabilities.max_pixels
    ]
    if fitting:
        _, _, painted_w, painted_h = min(fitting)
    else:
        painted_w, painted_h = near(width * scale)[0], near(height * scale)[0]
    while painted_w * painted_h > capabilities.max_pixels:
        if painted_w >= painted_h and painted_w > lowest:
            painted_w -= multiple
        elif painted_h > lowest:
            painted_h -= multiple
        else:
            break
    return painted_w, painted_h
