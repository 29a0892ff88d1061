"""Attention with min-dalle's exact arithmetic, on keys and values kept ready for `bmm`.

min-dalle writes `einsum('bqhc,bkhc->bhqk', q, k)` and `einsum('bhqk,bkhc->bqhc', w, v)`.
torch evaluates both as one `bmm` each, after copying the keys into (b*h, c, k) order and the
values into (b*h, k, c) order. Keeping the keys transposed and the values head-major from the
start hands `bmm` exactly those operands, so the products are the same bits without the copy
of the whole 256-slot cache that einsum makes in every layer at every step.
"""

from __future__ import annotations

from typing import Final

import torch

MASKED_BIAS: Final = -1e12
"""What min-dalle adds to the attention logits of masked positions."""


def attention_bias(mask: torch.Tensor) -> torch.Tensor:
    """min-dalle's additive bias for a boolean mask: `(1 - mask) * -1e12` in float32."""
    return (1 - mask.to(torch.float32)) * MASKED_BIAS


def causal_bias_table(token_count: int, device: torch.device) -> torch.Tensor:
    """Row i: the self-attention bias of decoder step i over all `token_count` cache slots.

    Equals what min-dalle builds in every layer at step i (`token_indices <= i`).
    """
    indices = torch.arange(token_count, device=device)
    return attention_bias(indices[None, :] <= indices[:, None])


def keys_for_bmm(keys: torch.Tensor, head_count: int) -> torch.Tensor:
    """(b, k, e) keys -> (b, h, c, k), the layout einsum hands `bmm` (contiguous)."""
    batch, count, embed = keys.shape
    return (
        keys.reshape(batch, count, head_count, embed // head_count)
        .permute(0, 2, 3, 1)
        .clone(memory_format=torch.contiguous_format)
    )


def values_for_bmm(values: torch.Tensor, head_count: int) -> torch.Tensor:
    """(b, k, e) values -> (b, h, k, c), the layout einsum hands `bmm` (contiguous)."""
    batch, count, embed = values.shape
    return (
        values.reshape(batch, count, head_count, embed // head_count)
        .permute(0, 2, 1, 3)
        .clone(memory_format=torch.contiguous_format)
    )


def attend(
    queries: torch.Tensor,
    keys_t: torch.Tensor,
    values: torch.Tensor,
    bias: torch.Tensor,
) -> torch.Tensor:
    """min-dalle's `AttentionBase.forward` before `out_proj`, with prepared keys and values.

    queries: (b, q, e), scaled in place by 1/sqrt(c) as min-dalle does; keys_t: (b, h, c, k);
    values: (b, h, k, c); bias: broadcastable to (b, h, q, k). Returns (b, q, e). Keys and
    values may be views of the first k slots of a larger cache (read in place, not copied).
    """
    batch, query_count, embed = queries.shape
    _, head_count, head_size, key_count = keys_t.shape
    queries = queries.reshape(batch, query_count, head_count, head_size)
    queries /= head_size**0.5
    weights = torch.bmm(
        queries.permute(0, 2, 1, 3).reshape(batch * head_count, query_count, head_size),
        keys_t.reshape(batch * head_count, head_size, key_count),
    ).view(batch, head_count, query_count, key_count)
    weights += bias
    weights = torch.softmax(weights, -1)
    output = torch.bmm(
        weights.view(batch * head_count, query_count, key_count),
        values.reshape(batch * head_count, key_count, head_size),
    )
    return (
        output.view(batch, head_count, query_count, head_size)
        .permute(0, 2, 1, 3)
        .reshape(batch, query_count, embed)
    )
