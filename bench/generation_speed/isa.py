"""Running the benchmark's workers with every CPU library capped to one instruction set.

The issue's figures are wanted for both ISAs, with the AVX2 one forced where the CPU has
AVX-512 (and VNNI). Each library that runs a step reads its own cap once, when it starts:
MKL (the float32 GEMMs: stock, fast and the checks), oneDNN and fbgemm (the int8 and fp16
drafts) and ATen's own vectorized kernels (layer norms, softmax, GELU). `--isa avx2` sets
all four in every worker, stock's included, so the ratios compare like with like; `native`
leaves the environment as it is. Each worker reports what it then ran: ATen's kernel level
as torch reports it, and the ISA the int8 path reads for fbgemm and oneDNN under their caps
(kernels/cpu_isa.py; MKL reports nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import torch

from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import (
    LIBRARY_CAP_VARIABLES,
    Int8Library,
    detect_cpu_isa,
)

_ONEDNN_CAP = LIBRARY_CAP_VARIABLES[Int8Library.ONEDNN][0]
_FBGEMM_CAP = LIBRARY_CAP_VARIABLES[Int8Library.FBGEMM][0]

ISA_CAPS: Final[dict[str, dict[str, str]]] = {
    "native": {},
    "avx2": {
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        _ONEDNN_CAP: "AVX2",
        _FBGEMM_CAP: "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
    },
    "avx512": {
        "MKL_ENABLE_INSTRUCTIONS": "AVX512",
        _ONEDNN_CAP: "AVX512_CORE",
        _FBGEMM_CAP: "AVX512",
        "ATEN_CPU_CAPABILITY": "avx512",
    },
}
"""Per `--isa` choice, the variables that cap each library (empty: the CPU's best)."""


def isa_environment(isa: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Return `environ` with the caps of `isa` set (ValueError for an unknown name)."""
    if isa not in ISA_CAPS:
        raise ValueError(f"unknown ISA {isa!r} (choose {', '.join(ISA_CAPS)})")
    return {**environ, **ISA_CAPS[isa]}


def seen_isa() -> dict[str, str]:
    """What this process runs under its caps: ATen's kernel level (torch's own report) and the
    ISA the int8 path takes for fbgemm and oneDNN (`detect_cpu_isa`, caps applied)."""
    return {
        "aten": torch.backends.cpu.get_cpu_capability().lower(),
        "fbgemm": str(detect_cpu_isa(Int8Library.FBGEMM)),
        "onednn": str(detect_cpu_isa(Int8Library.ONEDNN)),
    }


def describe_isa(isa: str, seen: Mapping[str, str] | None) -> str:
    """One line for the report: the cap asked for and what the workers' libraries used."""
    used = ", ".join(f"{library} {value}" for library, value in (seen or {}).items())
    asked = "native (no cap)" if isa == "native" else f"capped to {isa} (MKL, oneDNN, fbgemm, ATen)"
    return f"ISA: {asked}" + (f"; in use: {used}" if used else "")
