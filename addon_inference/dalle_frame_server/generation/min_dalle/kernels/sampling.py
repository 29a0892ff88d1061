"""min-dalle's token sampling with `topk` in place of a full sort, drawing the same tokens.

Stock `DalleBartDecoder.sample_tokens` sorts all 16384 logits only to read the largest and
the k-th largest. `torch.topk` returns those same two values, so the kept set, the numbers
handed to `torch.multinomial` and therefore the draws (from the same generator state) are
identical; the sort was ~1 ms of every step on a CPU.
"""

from __future__ import annotations

import torch

from ...interface import SamplingSettings
from ...models.shapes import IMAGE_VOCAB_USED


def sampling_tensor(settings: SamplingSettings, device: torch.device) -> torch.Tensor:
    """Return min-dalle's (3,) float32 settings tensor: temperature, top_k, factor."""
    return torch.tensor(
        [settings.temperature, settings.top_k, settings.supercondition_factor],
        dtype=torch.float32,
        device=device,
    )


def kept_count(settings: SamplingSettings) -> int:
    """Return the k of top-k as stock computes it (a float32 tensor, then `.to(long)`).

    Computed once per request on the host, so no step waits for the device to read it back.
    """
    return int(torch.tensor(settings.top_k, dtype=torch.float32).to(torch.long))


def draw_tokens(
    unconditional: torch.Tensor,
    conditional: torch.Tensor,
    sampling: torch.Tensor,
    top_k: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Draw one image token per image, as stock min-dalle does.

    unconditional and conditional: (images, >= 16384) logits of the empty and the real prompt;
    sampling: from `sampling_tensor`; top_k: from `kept_count`. Returns (images,) tokens.
    """
    temperature = sampling[[0]]
    factor = sampling[[2]]
    logits = (
        unconditional[:, :IMAGE_VOCAB_USED] * (1 - factor)
        + conditional[:, :IMAGE_VOCAB_USED] * factor
    )
    largest = torch.topk(logits, top_k, dim=-1).values
    is_kept = logits >= largest[:, top_k - 1 : top_k]
    logits -= largest[:, :1]
    logits /= temperature
    logits.exp_()
    logits *= is_kept.to(torch.float32)
    return torch.multinomial(logits, 1, generator=generator)[:, 0]
