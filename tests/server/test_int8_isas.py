"""The int8 tests again in a child process per forced ISA: the path of a CPU without VNNI.

oneDNN and fbgemm read their caps (ONEDNN_MAX_CPU_ISA, FBGEMM_ENABLE_INSTRUCTIONS) once, when
they first run, so each cap needs its own process. Under a cap below VNNI the int8 GEMMs run
the kernels of an AVX2 (Zen 2/3, Intel N100) or an AVX-512 CPU without VNNI (Skylake-X), which
sum pairs of products in 16 bits: the int8 tests must pass there as they do in this process
(the VNNI path, where the CPU has it).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import (
    CAP_VARIABLES,
    LIBRARY_CAP_VARIABLES,
    CpuIsa,
    Int8Library,
    cpu_flags,
    int8_isa,
)

ROOT = Path(__file__).resolve().parents[2]

INT8_TESTS = (
    "tests/server/test_int8_backend.py",
    "tests/server/test_int8_path.py",
    "tests/server/test_kernels.py::test_int8_projection_is_close_to_float",
    "tests/server/test_int8_drafting.py::test_drafted_tokens_equal_the_exact_path",
)
"""The int8 accuracy tests, the drafts' acceptance and the path's own checks."""

X86 = int8_isa(platform.machine(), frozenset(), None) is not CpuIsa.NOT_X86
FLAGS = cpu_flags() or frozenset()


FBGEMM_CAPS = {"AVX2": "AVX2", "AVX512_CORE": "AVX512"}
"""fbgemm's name for each oneDNN cap tested."""


def _capped_environment(cap: str) -> dict[str, str]:
    """This process's environment with both libraries' ISAs capped at `cap` (no other cap)."""
    environment = {key: value for key, value in os.environ.items() if key not in CAP_VARIABLES}
    environment[LIBRARY_CAP_VARIABLES[Int8Library.ONEDNN][0]] = cap
    environment[LIBRARY_CAP_VARIABLES[Int8Library.FBGEMM][0]] = FBGEMM_CAPS[cap]
    return environment


@pytest.mark.skipif(not X86, reason="the ISA caps are for x86 ISAs only")
@pytest.mark.parametrize(("cap", "needs"), [("AVX2", "avx2"), ("AVX512_CORE", "avx512bw")])
def test_int8_tests_pass_without_vnni(cap: str, needs: str) -> None:
    """Under a non-VNNI cap the child picks 7-bit activations and the int8 tests pass."""
    if needs not in FLAGS:
        pytest.skip(f"this CPU has no {needs}: the {cap} cap would run a lower path again")
    environment = _capped_environment(cap)
    probe = "from dalle_frame_server.generation.min_dalle.kernels.int8_path import int8_path; "
    probe += "print(int8_path().isa, int8_path().label)"
    label = _run_child(["-c", probe], environment, timeout=300)
    assert label.returncode == 0, label.stdout + label.stderr
    assert label.stdout.split() == [cap.lower(), "7-bit", "(fbgemm)"]
    result = _run_child(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", *INT8_TESTS], environment, timeout=900
    )
    assert result.returncode == 0, f"int8 tests under {cap}:\n{result.stdout[-6000:]}"
    assert " passed" in result.stdout


def _run_child(
    args: list[str], environment: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with `args` in the checkout, with `environment`."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
