"""The seam between a generator and its arithmetic: the backend protocol and what it takes.

`MinDalleGenerator` (generator.py) tokenizes the prompt, then calls a `GenerationBackend` for
the three heavy stages: encode the text, decode image tokens, detokenize. Backends are chosen
by name (min_dalle/backends.py). A backend that may decode several requests as one batch
declares a `BatchPlanner` (batching.py); one that never batches declares None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

if TYPE_CHECKING:
    from .batching import BatchPlanner

ProgressCallback = Callable[[int, int], None]
"""Called as progress(step, total) after each decoder step, from the worker thread."""


@dataclass(frozen=True, kw_only=True)
class SamplingSettings:
    """How image tokens are drawn (min-dalle's meaning of each value)."""

    temperature: float = 1.0
    top_k: int = 128
    supercondition_factor: float = 16.0


@dataclass(frozen=True, kw_only=True)
class DecodeRequest:
    """One request's decoder inputs."""

    text_tokens: torch.Tensor
    """(2, 64) text tokens: row 0 unconditional, row 1 the prompt."""
    encoder_state: torch.Tensor
    """(2, 64, embed) from `encode`."""
    image_count: int
    settings: SamplingSettings
    generator: torch.Generator
    """The only source of randomness of this request's draws."""
    progress: ProgressCallback | None = None


DecodeOutcome = torch.Tensor | Exception
"""A request's (image_count, 256) image tokens, or the exception its progress callback raised."""


class GenerationBackend(Protocol):
    """The heavy stages of generation, on one device. Blocking: run in a worker thread."""

    name: str
    """The backend's name: "reference", "fast", "int8", "int8-raw"."""
    exact: bool
    """Whether images are pixel-identical to stock min-dalle for the same seed."""
    int8_path: str | None
    """The int8 arithmetic and GEMM in use ("vnni (fbgemm)", "7-bit (onednn)", ...),
    "refused: <why>" where int8 was asked for and this backend stands in for it, else None
    (min_dalle/kernels/int8_path.py)."""

    @property
    def planner(self) -> BatchPlanner | None:
        """Which requests may decode as one batch; None: the backend decodes one at a time."""
        ...

    def encode(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """Encode (2, 64) text tokens (row 0 unconditional, row 1 the prompt)."""
        ...

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeOutcome]:
        """Draw each request's image tokens, in order, batched where the planner allows.

        Each request keeps its own settings, generator and progress callback. A request whose
        callback raises (its client left) gets that exception in its place and no more
        callbacks; the others go on.
        """
        ...

    def detokenize(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Turn (image_count, 256) tokens into a float (256*g, 256*g, 3) grid in 0..255."""
        ...


def decode_one(backend: GenerationBackend, request: DecodeRequest) -> torch.Tensor:
    """Decode a single request; raise what its progress callback raised."""
    (outcome,) = backend.decode([request])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
