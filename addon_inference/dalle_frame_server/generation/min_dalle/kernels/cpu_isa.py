"""Which x86 instruction set the int8 GEMMs use on this CPU, honouring a forced cap.

The int8 backends' GEMMs are fbgemm's or oneDNN's u8 x s8 kernels (int8_gemm.py). With VNNI
(`vpdpbusd`: AVX512-VNNI; oneDNN also uses AVX-VNNI on newer Intel cores, fbgemm does not)
they add each u8 x s8 product into 32 bits. Without it (AVX2, AVX-512 without VNNI, SSE4.1:
Intel N100, AMD Zen 2/3, Skylake-X) they multiply-add pairs into saturating 16-bit sums
(`vpmaddubsw`), so full-range uint8 activations overflow: 2 * 255 * 127 > 32767. Each library
takes the best ISA the CPU has, capped by its own environment variable, read when it first
runs: oneDNN's ONEDNN_MAX_CPU_ISA (or the older DNNL_MAX_CPU_ISA), fbgemm's
FBGEMM_ENABLE_INSTRUCTIONS. `detect_cpu_isa` applies the same cap, so a VNNI machine can run
(and test) the path of a machine without VNNI.
"""

from __future__ import annotations

import enum
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import torch


class CpuIsa(enum.StrEnum):
    """The instruction set of the int8 dot products, by oneDNN's ISA names."""

    AVX512_CORE_VNNI = "avx512_core_vnni"
    AVX2_VNNI = "avx2_vnni"
    AVX512_CORE = "avx512_core"
    AVX2 = "avx2"
    SSE41 = "sse41"
    X86_UNKNOWN = "x86"
    """x86-64 whose features could not be read (no /proc/cpuinfo, no torch probe)."""
    NOT_X86 = "not_x86"
    """ARM and the rest: torch's oneDNN int8 kernels are x86 only."""

    @property
    def has_vnni(self) -> bool:
        """Whether u8 x s8 products add into 32 bits (no 16-bit saturation)."""
        return self in (CpuIsa.AVX512_CORE_VNNI, CpuIsa.AVX2_VNNI)


_AVX512_CORE: Final = frozenset({"avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"})
"""What oneDNN calls avx512_core (Skylake-X and later)."""

_CAP_FEATURES: Final[dict[str, frozenset[str]]] = {
    "SSE41": frozenset({"sse4_1"}),
    "AVX": frozenset({"sse4_1", "avx"}),
    "AVX2": frozenset({"sse4_1", "avx", "avx2"}),
    "AVX2_VNNI": frozenset({"sse4_1", "avx", "avx2", "avx_vnni"}),
    "AVX2_VNNI_2": frozenset({"sse4_1", "avx", "avx2", "avx_vnni"}),
    "AVX512_CORE": frozenset({"sse4_1", "avx"}) | _AVX512_CORE,
    "AVX512_CORE_VNNI": frozenset({"sse4_1", "avx", "avx512_vnni"}) | _AVX512_CORE,
    "AVX512_CORE_BF16": frozenset({"sse4_1", "avx", "avx512_vnni"}) | _AVX512_CORE,
}
"""The CPU features each ONEDNN_MAX_CPU_ISA value lets oneDNN use (int8-relevant ones only).
oneDNN's AVX2_VNNI is not part of AVX512_CORE_VNNI or AVX512_CORE_BF16; from AVX512_CORE_FP16
(AVX10_1_512) up, every level includes both VNNI kinds. "ALL" and "DEFAULT" mean no cap."""

_ABOVE_BF16: Final = (
    "AVX10_1_512",
    "AVX512_CORE_FP16",
    "AVX10_1_512_AMX",
    "AVX512_CORE_AMX",
    "AVX10_1_512_AMX_FP16",
    "AVX512_CORE_AMX_FP16",
    "AVX10_2_512",
    "AVX10_2_512_AMX_2",
)

_FBGEMM_CAP_FEATURES: Final[dict[str, frozenset[str]]] = {
    "AVX2": _CAP_FEATURES["AVX2"],
    "AVX512": _CAP_FEATURES["AVX512_CORE"],
    "AVX512_256": _CAP_FEATURES["AVX512_CORE"],
    "AVX512_E1": _CAP_FEATURES["AVX512_CORE_VNNI"],
    "AVX512_E1_256": _CAP_FEATURES["AVX512_CORE_VNNI"],
}
"""The CPU features each FBGEMM_ENABLE_INSTRUCTIONS value lets fbgemm use (E1 is VNNI; the
_256 levels run AVX-512 at 256 bits: measured here, AVX512_256 saturates as AVX2 does)."""


class Int8Library(enum.StrEnum):
    """The libraries whose u8 x s8 kernels torch ships for x86 (int8_gemm.py)."""

    ONEDNN = "onednn"
    FBGEMM = "fbgemm"


LIBRARY_CAP_VARIABLES: Final[dict[Int8Library, tuple[str, ...]]] = {
    Int8Library.ONEDNN: ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"),
    Int8Library.FBGEMM: ("FBGEMM_ENABLE_INSTRUCTIONS",),
}
"""Each library's ISA cap variables, the first set one winning."""

CAP_VARIABLES: Final = tuple(
    variable for names in LIBRARY_CAP_VARIABLES.values() for variable in names
)
"""Every variable that caps an int8 kernel's ISA."""

_X86_MACHINES: Final = frozenset({"x86_64", "amd64", "x64", "i386", "i686"})


def isa_cap(
    environ: Mapping[str, str] | None = None, library: Int8Library = Int8Library.ONEDNN
) -> str | None:
    """Return the ISA cap the library honours (upper case), or None when there is none."""
    environ = os.environ if environ is None else environ
    for variable in LIBRARY_CAP_VARIABLES[library]:
        value = environ.get(variable, "").strip().upper()
        if value:
            return None if value in ("ALL", "DEFAULT") else value
    return None


def cap_features(
    cap: str | None, library: Int8Library = Int8Library.ONEDNN
) -> frozenset[str] | None:
    """Return the CPU features a cap allows; None for no cap (or one the library ignores)."""
    if cap is None:
        return None
    if library is Int8Library.FBGEMM:
        return _FBGEMM_CAP_FEATURES.get(cap)
    if cap in _ABOVE_BF16:
        return _CAP_FEATURES["AVX512_CORE_BF16"] | {"avx_vnni"}
    return _CAP_FEATURES.get(cap)


def int8_isa(
    machine: str,
    flags: Iterable[str] | None,
    cap: str | None,
    library: Int8Library = Int8Library.ONEDNN,
) -> CpuIsa:
    """Return the ISA of a library's int8 kernels for a CPU (platform.machine(), its flags).

    flags None: x86 features unknown. cap: the library's cap value (see `isa_cap`).
    """
    if machine.lower() not in _X86_MACHINES:
        return CpuIsa.NOT_X86
    if flags is None:
        return CpuIsa.X86_UNKNOWN
    usable = frozenset(flags)
    if library is Int8Library.FBGEMM:
        usable -= {"avx_vnni"}  # fbgemm has no AVX-VNNI kernels
    allowed = cap_features(cap, library)
    if allowed is not None:
        usable &= allowed
    if usable >= _AVX512_CORE:
        return CpuIsa.AVX512_CORE_VNNI if "avx512_vnni" in usable else CpuIsa.AVX512_CORE
    if "avx2" in usable:
        return CpuIsa.AVX2_VNNI if "avx_vnni" in usable else CpuIsa.AVX2
    return CpuIsa.SSE41


def detect_cpu_isa(library: Int8Library = Int8Library.ONEDNN) -> CpuIsa:
    """Return the ISA of a library's int8 kernels on this machine, under this process's cap."""
    return int8_isa(platform.machine(), cpu_flags(), isa_cap(library=library), library)


def cpu_flags() -> frozenset[str] | None:
    """Return the x86 feature flags: /proc/cpuinfo on Linux, else torch's CPU probes'."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return _torch_flags()


def _torch_flags() -> frozenset[str] | None:
    """Return the flags torch's own probes see (macOS, Windows); None where it lacks them."""
    probes = {
        "avx2": "_is_avx2_supported",
        "avx512f": "_is_avx512_supported",
        "avx512_vnni": "_is_vnni_supported",
    }
    flags = {"sse4_1"}
    for flag, probe in probes.items():
        function = getattr(torch.cpu, probe, None)
        if function is None:
            return None
        if function():
            flags.add(flag)
    if "avx512f" in flags:
        # torch's AVX-512 probe means avx512_core (F, BW, VL, DQ).
        flags |= _AVX512_CORE
    return frozenset(flags)
