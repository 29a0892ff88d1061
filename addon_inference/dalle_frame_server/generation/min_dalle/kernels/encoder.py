"""min-dalle's text encoder with the same arithmetic and less overhead.

The encoder runs once per request on 2 x 64 tokens; its GEMMs dominate and stay as they are.
What changes: q|k|v and fc0|fc1 run as one stacked GEMM each where `stacking_is_exact`
proves it bit-identical for the encoder's 128 rows on this machine, and attention hands `bmm`
its operands directly (kernels/attention.py) instead of going through einsum.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...models.min_dalle_classes import DalleBartEncoder
from ...models.shapes import PAD_TOKEN
from .attention import attend, attention_bias, keys_for_bmm, values_for_bmm
from .decoder import glu
from .linear import DenseProjection, ProjectionGroup, stacking_is_exact
from .weights import Dense, GluWeights, Norm, glu_weights, projection_group

_LOGGER = logging.getLogger(__name__)

ENCODER_ROWS = 2 * 64
"""Rows of every encoder GEMM: two prompts (empty and real) of 64 tokens."""


@dataclass(frozen=True, slots=True)
class EncoderLayerWeights:
    """One `EncoderLayer`."""

    pre_self_norm: Norm
    qkv: ProjectionGroup
    out: DenseProjection
    self_norm: Norm
    glu: GluWeights


class FastEncoder:
    """`DalleBartEncoder.forward` with stacked projections where exact (see module doc)."""

    def __init__(self, encoder: DalleBartEncoder, *, stack: bool = True) -> None:
        """Gather the encoder's weights; `stack`: stack the groups where exact (a copy)."""
        first = encoder.layers[0]
        attention = first.self_attn
        self.head_count = attention.head_count
        qkv_weights = [attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight]
        glu_parts = [first.glu.fc0.weight, first.glu.fc1.weight]
        with torch.no_grad():
            self.qkv_stacked = stack and stacking_is_exact(qkv_weights, [ENCODER_ROWS])
            self.glu_stacked = stack and stacking_is_exact(glu_parts, [ENCODER_ROWS])
        _LOGGER.debug(
            "Encoder: q|k|v %s, fc0|fc1 %s",
            "stacked" if self.qkv_stacked else "separate",
            "stacked" if self.glu_stacked else "separate",
        )
        self.token_embedding = encoder.embed_tokens.weight.detach()
        self.position_embedding = encoder.embed_positions.weight.detach()
        self.embedding_norm = Norm.of(encoder.layernorm_embedding)
        self.final_norm = Norm.of(encoder.final_ln)
        self.layers = tuple(
            EncoderLayerWeights(
                pre_self_norm=Norm.of(layer.pre_self_attn_layer_norm),
                qkv=projection_group(
                    [layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj],
                    stack=self.qkv_stacked,
                    make_projection=Dense(),
                ),
                out=DenseProjection(layer.self_attn.out_proj.weight.detach()),
                self_norm=Norm.of(layer.self_attn_layer_norm),
                glu=glu_weights(layer.glu, stack=self.glu_stacked, make_projection=Dense()),
            )
            for layer in encoder.layers
        )

    def __call__(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """Encode (2, 64) text tokens into the (2, 64, embed) encoder state."""
        bias = attention_bias(text_tokens.not_equal(PAD_TOKEN)[:, None, None, :])
        positions = torch.arange(text_tokens.shape[1], device=text_tokens.device)
        state = F.embedding(text_tokens, self.token_embedding) + F.embedding(
            positions.expand_as(text_tokens), self.position_embedding
        )
        state = self.embedding_norm(state)
        for layer in self.layers:
            residual = state
            state = layer.pre_self_norm(state)
            queries, keys, values = layer.qkv(state, stacked=self.qkv_stacked)
            state = attend(
                queries,
                keys_for_bmm(keys, self.head_count),
                values_for_bmm(values, self.head_count),
                bias,
            )
            state = layer.self_norm(layer.out(state))
            state = residual + state
            residual = state
            state = glu(layer.glu, state, stacked=self.glu_stacked)
            state = residual + state
        return self.final_norm(state)
