"""Which int8 GEMM and arithmetic are right on this CPU: full-range activations, 7-bit, or none.

The u8 x s8 GEMMs add each product into 32 bits only with VNNI; elsewhere they sum pairs of
products into saturating 16-bit integers (kernels/cpu_isa.py). So the activations' uint8
range depends on the CPU: with VNNI the full range (zero point 128, -127..127); without it 7
bits (zero point 64, -64..64: 2 * 128 * 127 = 32512 fits in 16 bits), as fbgemm's
`reduce_range` does. 7-bit parts make the two-part activations ~13 bits instead of ~15, still
far finer than the weights' rounding (int8.py).

The kernels are tried in order (int8_gemm.py: fbgemm, then oneDNN). The ISA only predicts a
kernel's arithmetic; a probe checks it: a GEMM whose pair sums would saturate must come out
exact. The first kernel with an exact arithmetic is used. Where none is exact or there is no
x86 int8 kernel at all (ARM), the int8 backends are refused and the server falls back to
`fast` (min_dalle/backends.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import torch

from .cpu_isa import CAP_VARIABLES, CpuIsa, Int8Library, detect_cpu_isa
from .int8_gemm import KERNELS, Int8Gemm

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Int8Arithmetic:
    """How activations are stored as uint8: value + zero point, |value| <= half_range."""

    name: str
    zero_point: int
    half_range: int

    @property
    def fine_steps(self) -> int:
        """Return how much finer the second part's scale is than the first's.

        Half a step's rounding error, times fine_steps, spans -half_range..half_range again.
        """
        return 2 * self.half_range


FULL_RANGE: Final = Int8Arithmetic("vnni", zero_point=128, half_range=127)
"""uint8 1..255: exact with VNNI's 32-bit accumulation."""

SEVEN_BIT: Final = Int8Arithmetic("7-bit", zero_point=64, half_range=64)
"""uint8 0..128: a pair of products stays within 16 bits (2 * 128 * 127 = 32512)."""


@dataclass(frozen=True)
class Int8Path:
    """The int8 GEMM and arithmetic this process uses, or why int8 is refused here."""

    isa: CpuIsa
    """The ISA of the kernel chosen (of the first one tried where int8 is refused)."""
    arithmetic: Int8Arithmetic | None
    kernel: Int8Gemm | None = None
    refusal: str | None = None
    """Why int8 is refused (arithmetic None): an actionable sentence."""

    @property
    def label(self) -> str:
        """What /v1/health reports: "vnni (fbgemm)", "7-bit (onednn)", "refused: <why>"."""
        if self.arithmetic is None or self.kernel is None:
            return f"refused: {self.refusal}"
        return f"{self.arithmetic.name} ({self.kernel.name})"


class Int8UnavailableError(RuntimeError):
    """int8 arithmetic is refused on this CPU (the message says why and what to use)."""


@functools.cache
def int8_path() -> Int8Path:
    """Return the int8 path of this process, chosen once (the libraries read their caps once)."""
    path = choose_int8_path(detect_cpu_isa)
    if path.arithmetic is None:
        _LOGGER.warning("int8 arithmetic refused: %s", path.refusal)
    else:
        _LOGGER.info("int8 arithmetic: %s activations (ISA %s)", path.label, path.isa)
    return path


Int8Choice = tuple[Int8Arithmetic, Int8Gemm]
"""An arithmetic and the kernel it is exact on."""


def int8_choice() -> Int8Choice:
    """Return the arithmetic and kernel to use here; Int8UnavailableError where refused."""
    path = int8_path()
    if path.arithmetic is None or path.kernel is None:
        raise Int8UnavailableError(f"int8 is not available here: {path.refusal}")
    return path.arithmetic, path.kernel


def choose_int8_path(
    isa_of: Callable[[Int8Library], CpuIsa], kernels: tuple[Int8Gemm, ...] = KERNELS
) -> Int8Path:
    """Return the first kernel with an exact arithmetic (the ISA's prediction, else 7-bit).

    isa_of: the ISA a library's kernels use here (cpu_isa.detect_cpu_isa).
    """
    failures: list[str] = []
    first_isa: CpuIsa | None = None
    for kernel in kernels:
        isa = isa_of(kernel.name)
        first_isa = first_isa or isa
        if isa is CpuIsa.NOT_X86:
            return Int8Path(
                isa,
                None,
                refusal="the int8 backends need an x86-64 CPU (fbgemm's and oneDNN's u8 x s8 "
                "kernels); use --backend fast on this CPU",
            )
        expected = FULL_RANGE if isa.has_vnni or isa is CpuIsa.X86_UNKNOWN else SEVEN_BIT
        candidates = (expected, SEVEN_BIT) if expected is FULL_RANGE else (SEVEN_BIT,)
        try:
            exact = next((a for a in candidates if arithmetic_is_exact(a, kernel)), None)
        except (RuntimeError, AttributeError) as error:  # no such int8 op in this torch
            failures.append(f"{kernel.name}'s int8 GEMM failed ({error})")
            continue
        if exact is None:
            failures.append(f"{kernel.name}'s int8 GEMM is not exact (ISA {isa})")
            continue
        if exact is not expected:
            _LOGGER.warning(
                "%s's int8 GEMM saturates full-range activations (ISA %s): using 7-bit activations",
                kernel.name,
                isa,
            )
        return Int8Path(isa, exact, kernel)
    return Int8Path(
        first_isa or CpuIsa.X86_UNKNOWN,
        None,
        refusal=f"{'; '.join(failures)} on this CPU (after any {'/'.join(CAP_VARIABLES)} "
        "cap); use --backend fast",
    )


PROBE_ROWS: Final = (4, 36)
"""Row counts probed: a drafted step's 2 parts x 2 rows, and a 9-image batch's 2 x 18."""


def arithmetic_is_exact(arithmetic: Int8Arithmetic, kernel: Int8Gemm) -> bool:
    """Whether the kernel's GEMM on activations at the arithmetic's extremes is exact.

    The weights are +-127 and the activations +-half_range, so every pair of products is as
    large as the arithmetic allows: a 16-bit saturating kernel loses those sums entirely.
    Integer sums of this size are exact in float32, so exact means equal.
    """
    generator = torch.Generator().manual_seed(0)
    in_features, out_features = 512, 64
    signs = torch.randint(0, 2, (out_features, in_features), generator=generator) * 2 - 1
    weights = (signs * 127).to(torch.int8)
    weights[0] = 127
    packed = kernel.prepack(weights, torch.ones(out_features))
    for rows in PROBE_ROWS:
        values = torch.randint(0, 2, (rows, in_features), generator=generator) * 2 - 1
        values *= arithmetic.half_range
        values[0] = arithmetic.half_range
        output = kernel.run(values.to(torch.float32), packed, arithmetic.zero_point)
        expected = values.to(torch.float64) @ weights.to(torch.float64).T
        if not torch.equal(output.to(torch.float64), expected):
            return False
    return True
