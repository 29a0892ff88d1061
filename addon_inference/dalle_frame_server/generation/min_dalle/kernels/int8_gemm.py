"""The two u8 x s8 GEMM kernels torch ships for x86 CPUs, behind one small interface.

Both take activations that are already whole numbers (centred on zero, |value| <= the
arithmetic's half range: int8.py builds them) and per-output-channel int8 weights, and give
float32 sums scaled by the weights' scales:

- `FBGEMM`: fbgemm's `quantized::linear_with_input_q_dq_qweight_dq_output_fp32`, fed float32
  input with scale 1 (so its own quantization only adds the zero point). Its packed weights
  are a quantized tensor, a kind torch 2.13 deprecates (a warning, silenced here) but still
  builds; a torch without it fails the probe and oneDNN stands in. fbgemm takes its ISA from
  the CPU, capped by FBGEMM_ENABLE_INSTRUCTIONS.
- `ONEDNN`: oneDNN's `onednn::qlinear_pointwise` (the kernels behind torch's PT2E int8 flow),
  fed uint8 input; capped by ONEDNN_MAX_CPU_ISA.

Measured on the 2-core EPYC, all 73 projections of a mini decoder step at 2 rows (two parts
each), activation quantization included: fbgemm 18-21 ms against oneDNN's 25-27 ms with
VNNI, and 13-16 ms against 50-64 ms with both capped at AVX2, where oneDNN's `gemm:jit` is
slow at few rows. Either way a kernel's arithmetic is only trusted after int8_path.py's probe.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Final, Protocol

import torch

from .cpu_isa import Int8Library


class Int8Gemm(Protocol):
    """A u8 x s8 GEMM: packs int8 weights once, then multiplies whole-number activations."""

    @property
    def name(self) -> Int8Library:
        """The kernel's library (cpu_isa.py reads its ISA under that library's cap)."""
        ...

    def prepack(self, weights: torch.Tensor, scales: torch.Tensor) -> object:
        """Pack int8 (out, in) weights with their float32 per-row scales (out,)."""
        ...

    def run(self, parts: torch.Tensor, packed: object, zero_point: int) -> torch.Tensor:
        """Return parts (rows, in) @ dequantized weights.T as float32 (rows, out).

        parts: float32 whole numbers, stored by the kernel as uint8 value + zero_point; the
        kernel may change them in place (they are the caller's scratch).
        """
        ...


@dataclass(frozen=True)
class _FbgemmGemm:
    name: Int8Library = Int8Library.FBGEMM

    def prepack(self, weights: torch.Tensor, scales: torch.Tensor) -> object:
        engine = torch.backends.quantized.engine
        try:
            torch.backends.quantized.engine = "fbgemm"
            with warnings.catch_warnings():
                # torch 2.13 deprecates quantized tensors; fbgemm's packing still takes one.
                warnings.simplefilter("ignore", UserWarning)
                quantized = torch._make_per_channel_quantized_tensor(
                    weights.to(torch.int8),
                    scales.to(torch.float64),
                    torch.zeros(weights.shape[0], dtype=torch.long),
                    0,
                )
                return torch.ops.quantized.linear_prepack(quantized, None)
        finally:
            torch.backends.quantized.engine = engine

    def run(self, parts: torch.Tensor, packed: object, zero_point: int) -> torch.Tensor:
        return torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(
            parts, 1.0, zero_point, packed
        )


@dataclass(frozen=True)
class _OnednnPacked:
    weights: torch.Tensor
    scales: torch.Tensor
    zero_points: torch.Tensor


_UNIT_SCALE: Final = torch.tensor(1.0)


@functools.cache
def _zero_point_tensor(zero_point: int) -> torch.Tensor:
    """Return the zero point as the 0-d tensor oneDNN's op takes (made once per value)."""
    return torch.tensor(zero_point)


@dataclass(frozen=True)
class _OnednnGemm:
    name: Int8Library = Int8Library.ONEDNN

    def prepack(self, weights: torch.Tensor, scales: torch.Tensor) -> object:
        return _OnednnPacked(
            torch.ops.onednn.qlinear_prepack(weights.to(torch.int8), None),
            scales.to(torch.float32),
            torch.zeros(weights.shape[0], dtype=torch.long),
        )

    def run(self, parts: torch.Tensor, packed: object, zero_point: int) -> torch.Tensor:
        assert isinstance(packed, _OnednnPacked)
        # oneDNN's int8 kernels take uint8 input; int8 input fell back to a reference kernel
        # 300x slower.
        quantized = parts.add_(zero_point).to(torch.uint8)
        return torch.ops.onednn.qlinear_pointwise.tensor(
            quantized,
            _UNIT_SCALE,
            _zero_point_tensor(zero_point),
            packed.weights,
            packed.scales,
            packed.zero_points,
            None,
            1.0,
            0,
            torch.float32,
            "none",
            [],
            "",
        )


FBGEMM: Final[Int8Gemm] = _FbgemmGemm()
ONEDNN: Final[Int8Gemm] = _OnednnGemm()
KERNELS: Final = (FBGEMM, ONEDNN)
"""The kernels in order of preference (fbgemm was faster at a decoder step's rows)."""
