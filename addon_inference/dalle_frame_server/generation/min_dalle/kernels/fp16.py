"""float16-weight projections for the CPU: fbgemm's fp16 GEMM, float32 activations and sums.

The `fp16` backend's drafts (min_dalle/drafting.py) run the decoder with its weights stored
as float16: half of float32's bytes, read by fbgemm's `quantized::linear_dynamic_fp16`, which
converts them to float32 as it multiplies (activations, products and sums stay float32). One
operation per projection, with nothing to quantize per step, and the weights' rounding
(2^-11 relative) is the only error.

Measured on the 2-core EPYC (AVX2, no AVX-512; all 73 projections of a mini decoder step at
2 rows, one-off script, kernels alternated): fp16 18.5-21.6 ms with a relative error of
2.2e-4, int8 with two-part activations (int8.py) 20.0-24.2 ms with 8.7e-3, fbgemm's
one-part dynamic int8 (`quantized::linear_dynamic`) 10.2 ms with 2.1e-2. As drafts (mini,
three prompts, decoder seconds per image): fp16 kept every draft (240 of 240 per image;
10.3-10.4 s), int8 82-95% (11.3-13.6 s), one-part int8 about 55% (13.9-18.6 s: its cheap
drafts are refused too often).

fbgemm's fp16 kernels exist on x86 CPUs with AVX2 and F16C; elsewhere (ARM, or an op that
fails or is off) `fp16_refusal` says why and the `fp16` backend gives way to `fast`.
"""

from __future__ import annotations

import functools
from typing import Final

import torch
import torch.nn.functional as F

from .cpu_isa import CpuIsa, detect_cpu_isa

PROBE_TOLERANCE: Final = 1e-3
"""Largest relative error of the probe's projection against float32 (fp16 weights: ~2e-4)."""


class Fp16UnavailableError(RuntimeError):
    """fbgemm's fp16 GEMM is refused on this CPU (the message says why and what to use)."""


class Fp16Projection:
    """A bias-free linear whose weights are stored as float16 in fbgemm's packed layout."""

    __slots__ = ("in_features", "out_features", "packed")

    def __init__(self, packed: object, out_features: int, in_features: int) -> None:
        self.packed = packed
        self.in_features = in_features
        self.out_features = out_features

    @classmethod
    def from_weight(cls, weight: torch.Tensor) -> Fp16Projection:
        """Pack a float (out, in) weight as float16 (values beyond float16's range saturate)."""
        if weight.device.type != "cpu":
            raise ValueError("fp16 projections run on the CPU only")
        weight = weight.detach().to(torch.float32)
        packed = torch.ops.quantized.linear_prepack_fp16(weight, None)
        return cls(packed, weight.shape[0], weight.shape[1])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the projection to float32 input (..., in) -> float32 (..., out)."""
        flat = x.reshape(-1, self.in_features)
        output = torch.ops.quantized.linear_dynamic_fp16(flat, self.packed)
        return output.reshape(*x.shape[:-1], self.out_features)


@functools.cache
def fp16_refusal() -> str | None:
    """Return why fp16 projections cannot run here (an actionable sentence), or None.

    Probes fbgemm's fp16 GEMM once per process: it must exist and agree with float32. Other
    CPUs than x86-64 (ARM) are refused without probing, as for int8 (int8_path.py).
    """
    if detect_cpu_isa() is CpuIsa.NOT_X86:
        return (
            "the fp16 backend needs an x86-64 CPU (fbgemm's fp16 GEMM); use --backend fast "
            "on this CPU"
        )
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(48, 96, generator=generator)
    x = torch.randn(3, 96, generator=generator)
    try:
        output = Fp16Projection.from_weight(weight)(x)
    except (RuntimeError, NotImplementedError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return (
            f"fbgemm's fp16 GEMM is not available on this CPU ({reason}); "
            "it needs an x86 CPU with AVX2: use --backend fast"
        )
    expected = F.linear(x, weight)
    relative_error = float((output - expected).norm() / expected.norm())
    if not relative_error <= PROBE_TOLERANCE:
        return (
            f"fbgemm's fp16 GEMM is off by {relative_error:.1e} (more than "
            f"{PROBE_TOLERANCE:.0e}) on this CPU: use --backend fast"
        )
    return None
