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

The GEMM is oneDNN's quantized linear (`torch.ops.onednn.qlinear_*`, the
x86 int8 kernels behind torch's PT2E quantization flow), fed with plain int8/uint8 tensors.
Chosen over the alternatives measured on the 2-core EPYC (mini shapes, all 73 projections,
2 rows): `torch.ao.quantization.quantize_dynamic`'s fbgemm kernels were faster (8.6 ms against
16.6 ms) but torch 2.13 deprecates the quantized tensors they need; `torch._int_mm` with
per-row activation scales took 23.6 ms; weight-only `torch._weight_int8pack_mm` was slower
than float32. Not exact: a seed gives a similar but not the same image (the benchmark reports
the share of tokens equal to the exact path).
"""

from __future__ import annotations

from typing import Final

import torch

from .int8_path import Int8Arithmetic, int8_arithmetic

# Symmetric activations are stored as uint8 around the arithmetic's zero point: oneDNN's int8
# kernels take uint8 input; int8 input fell back to a reference kernel 300x slower.

_TINY: Final = 1e-12
"""Smallest scale, so an all-zero row or input still divides."""


class Int8Projection:
    """A bias-free linear in int8: weights quantized once per output channel."""

    __slots__ = (
        "activation_zero_point",
        "arithmetic",
        "in_features",
        "out_features",
        "packed",
        "unit_scale",
        "weight_scales",
        "weight_zero_points",
    )

    def __init__(
        self,
        packed: torch.Tensor,
        weight_scales: torch.Tensor,
        in_features: int,
        arithmetic: Int8Arithmetic,
    ) -> None:
        self.arithmetic = arithmetic
        self.activation_zero_point = torch.tensor(arithmetic.zero_point)
        self.unit_scale = torch.tensor(1.0)
        self.packed = packed
        self.weight_scales = weight_scales
        self.weight_zero_points = torch.zeros(weight_scales.shape[0], dtype=torch.long)
        self.in_features = in_features
        self.out_features = weight_scales.shape[0]

    @classmethod
    def from_weight(
        cls, weight: torch.Tensor, arithmetic: Int8Arithmetic | None = None
    ) -> Int8Projection:
        """Quantize a float (out, in) weight symmetrically per output channel.

        arithmetic: the activations' range; None = the one right on this CPU (int8_path.py;
        Int8UnavailableError where int8 is refused).
        """
        if weight.device.type != "cpu":
            raise ValueError("int8 projections run on the CPU only")
        if arithmetic is None:
            arithmetic = int8_arithmetic()
        weight = weight.detach().to(torch.float32)
        scales = weight.abs().amax(dim=1).clamp(min=_TINY) / 127
        quantized = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
        packed = torch.ops.onednn.qlinear_prepack(quantized, None)
        return cls(packed, scales, weight.shape[1], arithmetic)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the projection to float32 input (..., in) -> float32 (..., out).

        Each row is quantized with its own scale (the unconditional and the prompt rows differ
        in magnitude), and its rounding error with that scale / 254 (/ 128 for 7-bit parts;
        the error is at most half a step, so it fills the range again; see the module doc).
        The GEMM runs with an input scale of 1; each output row pair is combined and scaled
        afterwards. Few,
        mostly in-place operations: at a decoder step's 2 rows their count, not their
        arithmetic, is what costs (73 projections per step).
        """
        flat = x.reshape(-1, self.in_features)
        rows = flat.shape[0]
        half_range, fine_steps = self.arithmetic.half_range, self.arithmetic.fine_steps
        scales = _row_scales(flat, half_range)
        parts = torch.empty(2 * rows, self.in_features)
        steps = torch.div(flat, scales)
        coarse = torch.round(steps, out=parts[:rows])
        torch.sub(steps, coarse, out=parts[rows:]).mul_(fine_steps).round_()
        quantized = parts.add_(self.arithmetic.zero_point).to(torch.uint8)
        output = torch.ops.onednn.qlinear_pointwise.tensor(
            quantized,
            self.unit_scale,
            self.activation_zero_point,
            self.packed,
            self.weight_scales,
            self.weight_zero_points,
            None,
            1.0,
            0,
            torch.float32,
            "none",
            [],
            "",
        )
        result = torch.add(output[:rows], output[rows:], alpha=1 / fine_steps).mul_(scales)
        return result.reshape(*x.shape[:-1], self.out_features)


def _row_scales(rows: torch.Tensor, half_range: int) -> torch.Tensor:
    """Per-row symmetric scales, (rows, 1): the row's largest magnitude maps to half_range."""
    return rows.abs().amax(dim=1, keepdim=True).clamp_(min=_TINY).div_(half_range)
