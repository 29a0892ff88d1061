"""The seam between the generator and the arithmetic: encode text, decode image tokens, detokenize.

`MinDalleGenerator` (generator.py) tokenizes the prompt, then calls a `GenerationBackend` for
the three heavy stages. `reference` reproduces stock min-dalle's arithmetic step for step;
faster backends (`fast`, `int8`, `int8-raw`) live in their own modules and are chosen by name.
Where int8 arithmetic is refused on this CPU (int8_path.py), `int8` and `int8-raw` fall back
to `fast`, whose `int8_path` then says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

import torch

if TYPE_CHECKING:
    from .models.loading import DalleModules

_LOGGER = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as progress(step, total) after each decoder step, from the worker thread."""


@dataclass(frozen=True, kw_only=True)
class SamplingSettings:
    """How image tokens are drawn (min-dalle's meaning of each value)."""

    temperature: float = 1.0
    top_k: int = 128
    supercondition_factor: float = 16.0


class GenerationBackend(Protocol):
    """The heavy stages of one generation, on one device. Blocking: run in a worker thread."""

    name: str
    """The backend's name: "reference", "fast", "int8", "int8-raw"."""
    exact: bool
    """Whether images are pixel-identical to stock min-dalle for the same seed."""
    int8_path: str | None
    """The int8 arithmetic in use ("vnni", "7-bit"), "refused: <why>" where int8 was asked
    for and this backend stands in for it, else None (int8_path.py)."""

    def encode(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """Encode (2, 64) text tokens (row 0 unconditional, row 1 the prompt)."""

    def decode(
        self,
        *,
        text_tokens: torch.Tensor,
        encoder_state: torch.Tensor,
        image_count: int,
        settings: SamplingSettings,
        generator: torch.Generator,
        progress: ProgressCallback | None = None,
    ) -> torch.Tensor:
        """Draw (image_count, 256) image tokens, drawing randomness only from `generator`."""

    def detokenize(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Turn (image_count, 256) tokens into a float (256*g, 256*g, 3) grid in 0..255."""


BACKEND_NAMES: Final = ("reference", "fast", "int8", "int8-raw")


def make_backend(name: str, modules: DalleModules) -> GenerationBackend:
    """Return the backend called `name` over loaded modules; ValueError for an unknown name."""
    if name == "reference":
        from .min_dalle.reference import ReferenceBackend

        return ReferenceBackend(modules)
    if name == "fast":
        from .min_dalle.fast import FastBackend

        return FastBackend(modules)
    if name in ("int8", "int8-raw"):
        from .min_dalle.kernels.int8_path import int8_path

        path = int8_path()
        if path.arithmetic is None:
            from .min_dalle.fast import FastBackend

            _LOGGER.warning("Backend %s refused, using fast instead: %s", name, path.refusal)
            fallback = FastBackend(modules)
            fallback.int8_path = path.label
            return fallback
    if name == "int8":
        from .min_dalle.drafting import DraftedInt8Backend

        return DraftedInt8Backend(modules)
    if name == "int8-raw":
        from .min_dalle.fast import Int8Backend

        return Int8Backend(modules)
    raise ValueError(f"unknown generation backend {name!r} (choose {', '.join(BACKEND_NAMES)})")
