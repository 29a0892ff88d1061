"""The text-to-image interface the HTTP layer uses: PNG bytes in, no model internals out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from .interface import ProgressCallback

MAX_SEED = 2**63 - 1
"""Largest seed a request may carry (a signed 64-bit integer, which every client can send)."""


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """One validated generation request (the HTTP layer checks the ranges)."""

    prompt: str
    seed: int
    grid_size: int = 1
    temperature: float = 1.0
    top_k: int = 128
    supercondition_factor: float = 16.0


class TextToImage(ABC):
    """A loaded text-to-image model. Its methods block: call them from a worker thread."""

    model_name: str
    """"mini", "mega" or "test"."""
    device: str
    """torch device, e.g. "cpu" or "cuda"."""
    dtype: str
    """"float32", "float16" or "bfloat16"."""

    @abstractmethod
    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[bytes | Exception]:
        """Generate one turn: one request, or several `can_batch` accepted, as PNG bytes each.

        Each image is 256*grid_size pixels square; same request, same pixels. A request whose
        progress callback raised (its client left) gets that exception in its place. Raises
        `ModelFailedError` (errors.py) when the model fails the turn (out of memory included).
        """

    def describe(self) -> dict[str, str | None]:
        """Return what /v1/health adds about how the model runs; nothing by default."""
        return {}

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """Whether `generate_pngs` takes these requests as one batch (by default: never)."""
        return False
