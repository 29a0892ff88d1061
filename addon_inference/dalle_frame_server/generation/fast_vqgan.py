"""min-dalle's VQGAN detokenizer: image tokens to pixels."""

from __future__ import annotations

import torch

from .min_dalle_classes import VQGanDetokenizer


class FastDetokenizer:
    """Turns (images, 256) tokens into a (256*g, 256*g, 3) float grid in 0..255."""

    def __init__(self, detokenizer: VQGanDetokenizer) -> None:
        self.detokenizer = detokenizer

    def __call__(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Detokenize a square number of images into one grid."""
        return self.detokenizer.forward(False, image_tokens)
