"""The text-to-image interface the HTTP layer uses; one implementation per backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

IMAGE_TOKEN_COUNT = 256
"""Decoder steps per image: min-dalle draws 16x16 image tokens."""

ProgressCallback = Callable[[int, int], None]
"""Called as progress(step, total) after each decoder step, from the worker thread."""


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
    """A loaded text-to-image model. `generate` is blocking: call it from a worker thread."""

    model_name: str
    """"mini", "mega" or "test"."""
    device: str
    """torch device, e.g. "cpu" or "cuda"."""
    dtype: str
    """"float32", "float16" or "bfloat16"."""

    @abstractmethod
    def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> Image.Image:
        """Return an RGB image of 256*grid_size pixels square; same request, same pixels."""

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """Whether `generate_batch` takes these requests as one batch (by default: never)."""
        return False

    def generate_batch(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Image.Image | Exception]:
        """Generate requests `can_batch` accepted as one batch; one image or error each."""
        raise NotImplementedError(f"{type(self).__name__} does not batch requests")
