"""min-dalle's VQGAN detokenizer, one image at a time: the same pixels, a fraction of the memory.

Stock runs the VQGAN over all images of a grid as one batch: for a 3x3 grid every 256x256x128
activation is 9 images deep (300 MB each, and several are alive at once). Every layer of the
VQGAN works on each image alone (convolutions, GroupNorm per sample, attention within one
image), so running the images one by one gives the same bits (the tests compare pixels with
stock's batched run) with a ninth of the activation memory, and it was a little faster on the
2-core EPYC (4 images: 5.2 s against 5.7 s). The convolutions themselves are compute-bound
and stay as they are: changing their algorithm or memory format (channels-last was 17%
faster) changes the pixels.
"""

from __future__ import annotations

import math

import torch

from ...models.min_dalle_classes import VQGanDetokenizer

TOKENS_PER_SIDE = 16
"""Each image is 16 x 16 tokens."""


class FastDetokenizer:
    """Turns (images, 256) tokens into a (256*g, 256*g, 3) float grid in 0..255."""

    def __init__(self, detokenizer: VQGanDetokenizer) -> None:
        self.detokenizer = detokenizer

    def __call__(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """Detokenize a square number of images into one grid, as stock's `forward(False, ·)`."""
        count = image_tokens.shape[0]
        grid = math.isqrt(count)
        if grid * grid != count or image_tokens.shape[1:] != (TOKENS_PER_SIDE**2,):
            raise ValueError(
                f"expected a square number of images of 256 tokens, got {tuple(image_tokens.shape)}"
            )
        images = torch.cat([self._image(image_tokens[[index]]) for index in range(count)])
        images = images.permute(0, 2, 3, 1)
        images = images.clip(0.0, 1.0) * 255
        side = images.shape[1]
        return images.view(grid, grid, side, side, 3).flatten(1, 2).transpose(1, 0).flatten(1, 2)

    def _image(self, tokens: torch.Tensor) -> torch.Tensor:
        """One image's (1, 3, 256, 256) output before clipping, as stock computes it."""
        vqgan = self.detokenizer
        z = vqgan.embedding.forward(tokens)
        z = z.view((1, TOKENS_PER_SIDE, TOKENS_PER_SIDE, z.shape[-1]))
        z = z.permute(0, 3, 1, 2).contiguous()
        z = vqgan.post_quant_conv.forward(z)
        return vqgan.decoder.forward(z)
