"""int8 projections for the CPU: per-channel int8 weights, activations as two int8 parts.

The decoder at one token per step is bound by reading its weights; int8 weights are a quarter
of float32's bytes. Each activation row goes in as two int8 rows: the row quantized with its
own scale, then the rounding error of that quantized again with a scale 254x finer, so the
activations carry ~15 bits and the weights' own rounding is the only coarse error left. On a
CPU without VNNI the parts are 7-bit (-64..64, the second 128x finer: ~13 bits), because
oneDNN's kernels there sum pairs of products in 16 bits (int8_path.py). Both
parts run through one GEMM as extra rows: at a decoder step's few rows the GEMM is bound by
reading the weights, so the extra rows cost almost nothing (mini, 2-core EPYC: 35.1 -> 35.7 ms
per step). Measured on mini-shaped random weights (3 seeds x 128 steps, fed the exact path's
tokens): the sampled token equals the exact path's on 99.2% of steps, against 94.8% with
one-part activations; float32 activations with int8 weights give the same 99.2%.

The GEMM is fbgemm's or oneDNN's u8 x s8 kernel, whichever int8_path.py finds exact here
first (int8_gemm.py; fbgemm was the faster at a decoder step's few rows, 4x so on AVX2), fed
plain tensors. Rejected alternatives, measured on the 2-core EPYC (mini shapes, all 73
projections, 2 rows): `torch.ao.quantization.quantize_dynamic` quantizes each input with one
scale for all its rows; `torch._int_mm` with per-row activation scales took 23.6 ms;
weight-only `torch._weight_int8pack_mm` was slower than float32. Not exact: a seed gives a
similar but not the same image (the benchmark reports the share of tokens equal to the exact
path).
"""

from __future__ import annotations

from typing import Final

import torch

from .int8_gemm import Int8Gemm
from .int8_path import Int8Arithmetic, Int8Choice, int8_choice

_TINY: Final = 1e-12
"""Smallest scale, so an all-zero row or input still divides."""


class Int8Projection:
    """A bias-free linear in int8: weights quantized once per output channel."""

    __slots__ = ("arithmetic", "in_features", "kernel", "out_features", "packed")

    def __init__(
        self,
        packed: object,
        out_features: int,
        in_features: int,
        arithmetic: Int8Arithmetic,
        kernel: Int8Gemm,
    ) -> None:
        self.arithmetic = arithmetic
        self.kernel = kernel
        self.packed = packed
        self.in_features = in_features
        self.out_features = out_features

    @classmethod
    def from_weight(cls, weight: torch.Tensor, choice: Int8Choice | None = None) -> Int8Projection:
        """Quantize a float (out, in) weight symmetrically per output channel.

        choice: the activations' arithmetic and the GEMM it is exact on; None = the ones
        right on this CPU (int8_path.py; Int8UnavailableError where int8 is refused).
        """
        if weight.device.type != "cpu":
            raise ValueError("int8 projections run on the CPU only")
        arithmetic, kernel = choice or int8_choice()
        weight = weight.detach().to(torch.float32)
        scales = weight.abs().amax(dim=1).clamp(min=_TINY) / 127
        quantized = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
        return cls(
            kernel.prepack(quantized, scales), weight.shape[0], weight.shape[1], arithmetic, kernel
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the projection to float32 input (..., in) -> float32 (..., out).

        Each row is quantized with its own scale (the unconditional and the prompt rows differ
        in magnitude), and its rounding error with that scale / 254 (/ 128 for 7-bit parts;
        the error is at most half a step, so it fills the range again; see the module doc).
        The GEMM runs with an input scale of 1; each output row pair is combined and scaled
        afterwards. Few, mostly in-place operations: at a decoder step's 2 rows their count,
        not their arithmetic, is what costs (73 projections per step).
        """
        flat = x.reshape(-1, self.in_features)
        rows = flat.shape[0]
        half_range, fine_steps = self.arithmetic.half_range, self.arithmetic.fine_steps
        scales = _row_scales(flat, half_range)
        parts = torch.empty(2 * rows, self.in_features)
        steps = torch.div(flat, scales)
        coarse = torch.round(steps, out=parts[:rows])
        torch.sub(steps, coarse, out=parts[rows:]).mul_(fine_steps).round_()
        output = self.kernel.run(parts, self.packed, self.arithmetic.zero_point)
        result = torch.add(output[:rows], output[rows:], alpha=1 / fine_steps).mul_(scales)
        return result.reshape(*x.shape[:-1], self.out_features)


def _row_scales(rows: torch.Tensor, half_range: int) -> torch.Tensor:
    """Per-row symmetric scales, (rows, 1): the row's largest magnitude maps to half_range."""
    return rows.abs().amax(dim=1, keepdim=True).clamp_(min=_TINY).div_(half_range)
