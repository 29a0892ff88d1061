"""Reading the ISA oneDNN's int8 kernels use: CPU flags, capped by ONEDNN_MAX_CPU_ISA."""

from __future__ import annotations

import pytest

from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import (
    CpuIsa,
    Int8Library,
    detect_cpu_isa,
    int8_isa,
    isa_cap,
)

AVX2 = {"sse4_1", "avx", "avx2"}
AVX512 = AVX2 | {"avx512f", "avx512bw", "avx512vl", "avx512dq"}
ZEN4 = AVX512 | {"avx512_vnni", "avx512_bf16"}
"""The test machine's kind: AVX-512 with VNNI, no AVX-VNNI."""
ALDER_LAKE = AVX2 | {"avx_vnni"}


@pytest.mark.parametrize(
    ("flags", "cap", "isa"),
    [
        (ZEN4, None, CpuIsa.AVX512_CORE_VNNI),
        (ZEN4, "AVX2", CpuIsa.AVX2),
        (ZEN4, "AVX512_CORE", CpuIsa.AVX512_CORE),
        (ZEN4, "AVX512_CORE_VNNI", CpuIsa.AVX512_CORE_VNNI),
        (ZEN4, "AVX2_VNNI", CpuIsa.AVX2),  # the cap allows AVX-VNNI, the CPU has none
        (ZEN4, "AVX10_1_512", CpuIsa.AVX512_CORE_VNNI),
        (ZEN4, "SSE41", CpuIsa.SSE41),
        (AVX2, None, CpuIsa.AVX2),  # Zen 2/3
        (AVX2, "AVX512_CORE_VNNI", CpuIsa.AVX2),  # a cap never adds what the CPU lacks
        (AVX512, None, CpuIsa.AVX512_CORE),  # Skylake-X
        (ALDER_LAKE, None, CpuIsa.AVX2_VNNI),
        (ALDER_LAKE, "AVX2", CpuIsa.AVX2),
        (ALDER_LAKE, "AVX512_CORE_VNNI", CpuIsa.AVX2),  # oneDNN: not a part of that level
        (ZEN4 | {"avx_vnni"}, "AVX512_CORE_VNNI", CpuIsa.AVX512_CORE_VNNI),
        ({"sse4_1"}, None, CpuIsa.SSE41),
        (ZEN4, "NOT_AN_ISA", CpuIsa.AVX512_CORE_VNNI),  # oneDNN ignores names it lacks
    ],
)
def test_isa_of_flags_and_cap(flags: set[str], cap: str | None, isa: CpuIsa) -> None:
    assert int8_isa("x86_64", flags, cap) is isa


@pytest.mark.parametrize(
    ("flags", "cap", "isa"),
    [
        (ZEN4, None, CpuIsa.AVX512_CORE_VNNI),
        (ZEN4, "AVX2", CpuIsa.AVX2),
        (ZEN4, "avx512", CpuIsa.AVX512_CORE),
        (ZEN4, "AVX512_256", CpuIsa.AVX512_CORE),  # measured: saturates as AVX2 does
        (ZEN4, "AVX512_E1", CpuIsa.AVX512_CORE_VNNI),
        (ZEN4, "AVX512_CORE", CpuIsa.AVX512_CORE_VNNI),  # oneDNN's name: fbgemm ignores it
        (AVX2, "AVX512_E1", CpuIsa.AVX2),
        (ALDER_LAKE, None, CpuIsa.AVX2),  # fbgemm has no AVX-VNNI kernels
    ],
)
def test_fbgemm_isa_of_flags_and_cap(flags: set[str], cap: str | None, isa: CpuIsa) -> None:
    assert int8_isa("x86_64", flags, cap and cap.upper(), Int8Library.FBGEMM) is isa


def test_only_vnni_isas_add_in_32_bits() -> None:
    assert {isa for isa in CpuIsa if isa.has_vnni} == {CpuIsa.AVX512_CORE_VNNI, CpuIsa.AVX2_VNNI}


def test_other_machines_and_unknown_flags() -> None:
    assert int8_isa("aarch64", None, None) is CpuIsa.NOT_X86
    assert int8_isa("arm64", ZEN4, None) is CpuIsa.NOT_X86
    assert int8_isa("AMD64", None, None) is CpuIsa.X86_UNKNOWN


def test_cap_comes_from_onednn_variables_first() -> None:
    assert isa_cap({}) is None
    assert isa_cap({"ONEDNN_MAX_CPU_ISA": "avx2"}) == "AVX2"
    assert isa_cap({"DNNL_MAX_CPU_ISA": "AVX512_CORE"}) == "AVX512_CORE"
    assert isa_cap({"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "SSE41"}) == "AVX2"
    assert isa_cap({"ONEDNN_MAX_CPU_ISA": "ALL"}) is None
    assert isa_cap({"ONEDNN_MAX_CPU_ISA": " "}) is None
    assert isa_cap({"FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}) is None


def test_fbgemm_cap_comes_from_its_own_variable() -> None:
    caps = {"ONEDNN_MAX_CPU_ISA": "AVX2", "FBGEMM_ENABLE_INSTRUCTIONS": "avx512"}
    assert isa_cap(caps, Int8Library.FBGEMM) == "AVX512"
    assert isa_cap({"ONEDNN_MAX_CPU_ISA": "AVX2"}, Int8Library.FBGEMM) is None


def test_detection_honours_the_cap_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever this CPU has, a cap at AVX2 takes VNNI away (the tests' non-VNNI path)."""
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.setenv("FBGEMM_ENABLE_INSTRUCTIONS", "AVX2")
    for library in Int8Library:
        isa = detect_cpu_isa(library)
        assert isa in (CpuIsa.AVX2, CpuIsa.SSE41, CpuIsa.X86_UNKNOWN, CpuIsa.NOT_X86)
