"""The decoder's weights gathered for the fast step: plain tensors, projections, norms.

`DecoderWeights.from_decoder` reads a loaded `DalleBartDecoder` once. It can stack the weights
of q|k|v (self-attention) and of fc0|fc1 (GLU) into single tensors; the module's own weights
then become views of them, so no memory is added; `make_projection` lets the
int8 backend swap the dense projections for quantized ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...models.min_dalle_classes import DalleBartDecoder
from .linear import DenseProjection, Projection, ProjectionGroup, stack_linear_weights
from .parallel import ColumnSplitter

ProjectionFactory = Callable[[torch.Tensor], Projection]
"""Turns a (out, in) weight into a projection (dense by default, int8 for the int8 backend)."""


class Dense:
    """The default projection factory: dense float projections, optionally split in blocks."""

    __slots__ = ("splitter",)

    def __init__(self, splitter: ColumnSplitter | None = None) -> None:
        self.splitter = splitter

    def __call__(self, weight: torch.Tensor) -> DenseProjection:
        """Return a dense projection of `weight`."""
        return DenseProjection(weight, self.splitter)


@dataclass(frozen=True, slots=True)
class Norm:
    """A LayerNorm's parameters; calling it runs `F.layer_norm` exactly as `nn.LayerNorm` does."""

    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    @classmethod
    def of(cls, module: nn.LayerNorm) -> Norm:
        """Take a LayerNorm's parameters."""
        return cls(module.weight.detach(), module.bias.detach(), module.eps)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize over the last dimension."""
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


@dataclass(frozen=True, slots=True)
class GluWeights:
    """min-dalle's gated feed-forward block: ln0, fc0|fc1, GELU gate, ln1, fc2."""

    norm_in: Norm
    gate_and_value: ProjectionGroup
    """fc0 (through GELU) and fc1, as one group."""
    norm_mid: Norm
    out: Projection


@dataclass(frozen=True, slots=True)
class DecoderLayerWeights:
    """One decoder layer, in the order the step uses it."""

    pre_self_norm: Norm
    self_qkv: ProjectionGroup
    self_out: Projection
    self_norm: Norm
    pre_cross_norm: Norm
    cross_query: Projection
    cross_key: torch.Tensor
    """Dense: applied once per image to the encoder state, exactly as stock does at each step."""
    cross_value: torch.Tensor
    cross_out: Projection
    cross_norm: Norm
    glu: GluWeights


@dataclass(frozen=True, slots=True)
class DecoderWeights:
    """The whole decoder: embeddings, layers, final norm and the image-token head."""

    token_embedding: torch.Tensor
    position_embedding: torch.Tensor
    embedding_norm: Norm
    layers: tuple[DecoderLayerWeights, ...]
    final_norm: Norm
    head: Projection
    head_count: int
    embed_count: int
    glu_embed_count: int
    stacked_qkv: bool
    """Whether q|k|v are stacked (a dense stacked group can still run part by part)."""
    stacked_glu: bool
    """Whether fc0|fc1 are stacked."""

    @classmethod
    def from_decoder(
        cls,
        decoder: DalleBartDecoder,
        *,
        stack_qkv: bool,
        stack_glu: bool,
        make_projection: ProjectionFactory | None = None,
        head_projection: ProjectionFactory | None = None,
    ) -> DecoderWeights:
        """Gather `decoder`'s weights, stacking the groups asked for (see the module doc).

        `make_projection` defaults to plain dense projections (`Dense()`); the image-token
        head uses `head_projection` when given, else `make_projection`.
        """
        make_projection = make_projection or Dense()
        layers = tuple(
            _layer_weights(
                layer, stack_qkv=stack_qkv, stack_glu=stack_glu, make_projection=make_projection
            )
            for layer in decoder.layers
        )
        head_weight = decoder.lm_head.weight.detach()
        first = decoder.layers[0]
        return cls(
            token_embedding=decoder.embed_tokens.weight.detach(),
            position_embedding=decoder.embed_positions.weight.detach(),
            embedding_norm=Norm.of(decoder.layernorm_embedding),
            layers=layers,
            final_norm=Norm.of(decoder.final_ln),
            head=(head_projection or make_projection)(head_weight),
            head_count=first.self_attn.head_count,
            embed_count=decoder.embed_count,
            glu_embed_count=first.glu.fc0.weight.shape[0],
            stacked_qkv=stack_qkv,
            stacked_glu=stack_glu,
        )


def _layer_weights(
    layer: Any, *, stack_qkv: bool, stack_glu: bool, make_projection: ProjectionFactory
) -> DecoderLayerWeights:
    """Gather one `DecoderLayer`'s weights (min-dalle's modules are untyped: `Any`)."""
    attention = layer.self_attn
    cross = layer.encoder_attn
    return DecoderLayerWeights(
        pre_self_norm=Norm.of(layer.pre_self_attn_layer_norm),
        self_qkv=projection_group(
            [attention.q_proj, attention.k_proj, attention.v_proj],
            stack=stack_qkv,
            make_projection=make_projection,
        ),
        self_out=make_projection(attention.out_proj.weight.detach()),
        self_norm=Norm.of(layer.self_attn_layer_norm),
        pre_cross_norm=Norm.of(layer.pre_encoder_attn_layer_norm),
        cross_query=make_projection(cross.q_proj.weight.detach()),
        cross_key=cross.k_proj.weight.detach(),
        cross_value=cross.v_proj.weight.detach(),
        cross_out=make_projection(cross.out_proj.weight.detach()),
        cross_norm=Norm.of(layer.encoder_attn_layer_norm),
        glu=glu_weights(layer.glu, stack=stack_glu, make_projection=make_projection),
    )


def glu_weights(glu: Any, *, stack: bool, make_projection: ProjectionFactory) -> GluWeights:
    """Gather a min-dalle `GLU` block's weights."""
    return GluWeights(
        norm_in=Norm.of(glu.ln0),
        gate_and_value=projection_group(
            [glu.fc0, glu.fc1], stack=stack, make_projection=make_projection
        ),
        norm_mid=Norm.of(glu.ln1),
        out=make_projection(glu.fc2.weight.detach()),
    )


def projection_group(
    linears: list[nn.Linear], *, stack: bool, make_projection: ProjectionFactory
) -> ProjectionGroup:
    """Group linears that read one input; stacked (module weights become views) or not.

    A dense stacked group can still run part by part (over the views); a non-dense one (int8)
    is built stacked from copies and leaves the modules alone.
    """
    sizes = [linear.weight.shape[0] for linear in linears]
    if isinstance(make_projection, Dense):
        if stack:
            stacked = stack_linear_weights(linears)
            parts = [make_projection(linear.weight.detach()) for linear in linears]
            return ProjectionGroup(make_projection(stacked), sizes, parts)
        parts = [make_projection(linear.weight.detach()) for linear in linears]
        return ProjectionGroup(_Concatenated(parts), sizes, parts)
    stacked = torch.cat([linear.weight.detach() for linear in linears])
    return ProjectionGroup(make_projection(stacked), sizes)


class _Concatenated:
    """Stands in for a stacked projection when stacking is off: never called by the step."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[DenseProjection]) -> None:
        self.parts = parts

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the parts' outputs (only for completeness; the step asks for parts)."""
        return torch.cat([part(x) for part in self.parts], dim=-1)
