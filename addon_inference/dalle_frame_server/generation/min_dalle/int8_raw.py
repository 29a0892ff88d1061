"""The `int8-raw` backend: the fast backend with the decoder's projections in int8 (CPU).

The decoder's projections run as int8 GEMMs with per-channel weight scales and dynamic per-row
activation scales (kernels/int8.py). Opt-in and not exact: a seed gives a similar but
different image. The `int8` backend (drafting.py) uses it to draft tokens that the float32
decoder then checks.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from ..models.loading import DalleModules
from .fast import DEFAULT_MAX_BATCH_IMAGES, FastBackend
from .kernels.decoder import FastDecoder
from .kernels.int8 import Int8Projection
from .kernels.int8_path import int8_choice, int8_path
from .kernels.linear import Projection
from .kernels.weights import DecoderWeights, Dense, ProjectionFactory


class Int8Backend(FastBackend):
    """`FastBackend` with the decoder's projections in int8 (CPU; not exact, see kernels/int8.py).

    The image-token head stays in float32 unless `quantize_head`: the sampler amplifies its
    errors 16-fold (supercondition), and with it in float32 the logits' argmax, given the same
    history, agreed with the exact path on 95-97% of steps instead of 92-93% (mini-shaped
    random weights), for ~1.3x the step time on one thread (the head's 2-row GEMM is then
    split over the cores as in the fast backend).

    By default the backend takes the decoder over: once quantized, the float32 weights of the
    projections it replaced are released (most of the decoder's memory), and the module
    `modules.decoder` can no longer run by itself. The encoder, the VQGAN and the
    cross-attention key/value projections of the text stay in float32.
    """

    name = "int8-raw"
    traced_steps = True
    """Its steps are mostly small operations around the int8 GEMMs: traced, a mini draft
    step took 13.8 ms instead of 19-21 (kernels/traced_step.py)."""

    def __init__(
        self,
        modules: DalleModules,
        *,
        quantize_head: bool = False,
        release_float_weights: bool = True,
        max_batch_images: int = DEFAULT_MAX_BATCH_IMAGES,
    ) -> None:
        self._quantize_head = quantize_head
        self._release = release_float_weights
        super().__init__(
            modules,
            cuda_graphs=False,
            max_batch_images=max_batch_images,
        )

    def _build_decoder(self, modules: DalleModules, *, stack: bool) -> FastDecoder:
        """Gather the decoder's weights as stacked projections of `_projection_factory`."""
        if self.device.type != "cpu":
            raise ValueError(
                f"the {self.name} backend runs on the CPU only, not {self.device.type} "
                "(on a GPU use the fast backend in float16)"
            )

        convert = self._projection_factory()

        def make(weight: torch.Tensor) -> Projection:
            """Convert one weight; let the float pages read so far go (if mapped)."""
            projection = convert(weight)
            self.residency.release("decoder")
            return projection

        weights = DecoderWeights.from_decoder(
            modules.decoder,
            stack_qkv=False,
            stack_glu=False,
            make_projection=make,
            head_projection=None if self._quantize_head else Dense(self._splitter),
        )
        if self._release:
            _release_quantized_weights(modules.decoder, head=self._quantize_head)
        # Parts are never kept: each group is one stacked GEMM at every size.
        return FastDecoder(weights, cache_dtype=self.dtype)

    def _projection_factory(self) -> ProjectionFactory:
        """Return what turns a float weight into this backend's projection (int8 here).

        Raises Int8UnavailableError where int8 is refused; notes the path in `int8_path`.
        """
        choice = int8_choice()
        self.int8_path = int8_path().label
        return functools.partial(Int8Projection.from_weight, choice=choice)

    def _is_exact(self) -> bool:
        """int8 arithmetic never reproduces stock's images."""
        return False


def _release_quantized_weights(decoder: Any, *, head: bool) -> None:
    """Replace the float weights the int8 projections now hold with empty tensors."""
    linears: list[nn.Linear] = [decoder.lm_head] if head else []
    for layer in decoder.layers:
        attention, cross, glu = layer.self_attn, layer.encoder_attn, layer.glu
        linears += [attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj]
        linears += [cross.q_proj, cross.out_proj, glu.fc0, glu.fc1, glu.fc2]
    for linear in linears:
        linear.weight = nn.Parameter(linear.weight.new_empty(0), requires_grad=False)
