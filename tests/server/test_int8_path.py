"""Choosing the int8 arithmetic this CPU gets right, and falling back to `fast` where none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
import torch

from dalle_frame_server.api.app import create_app
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.kernels import int8_path as int8_path_module
from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import (
    CpuIsa,
    Int8Library,
    detect_cpu_isa,
)
from dalle_frame_server.generation.min_dalle.kernels.int8 import Int8Projection
from dalle_frame_server.generation.min_dalle.kernels.int8_gemm import (
    FBGEMM,
    KERNELS,
    ONEDNN,
    Int8Gemm,
)
from dalle_frame_server.generation.min_dalle.kernels.int8_path import (
    FULL_RANGE,
    SEVEN_BIT,
    Int8UnavailableError,
    arithmetic_is_exact,
    choose_int8_path,
    int8_path,
)
from dalle_frame_server.generation.models.loading import ModelPaths, load_dalle_modules
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.settings import ServerSettings
from tests.server.helpers import wait_until_ready

ISA = detect_cpu_isa()
needs_x86 = pytest.mark.skipif(
    ISA is CpuIsa.NOT_X86, reason=f"the int8 kernels are x86 only; this CPU is {ISA}"
)
by_kernel = pytest.mark.parametrize("kernel", KERNELS, ids=lambda kernel: kernel.name)

REFUSED = choose_int8_path(lambda library: CpuIsa.NOT_X86)


@dataclass(frozen=True)
class BrokenGemm:
    """A GEMM whose op is missing from torch (as fbgemm's would be in a torch without it)."""

    name: Int8Library = Int8Library.FBGEMM

    def prepack(self, weights: torch.Tensor, scales: torch.Tensor) -> object:
        raise RuntimeError("quantized::linear_prepack is not available")

    def run(self, parts: torch.Tensor, packed: object, zero_point: int) -> torch.Tensor:
        raise AssertionError("never packed")


@dataclass(frozen=True)
class SaturatingGemm:
    """A GEMM that sums pairs of products in 16 bits whatever the ISA says (a wrong guess)."""

    name: Int8Library = Int8Library.ONEDNN

    def prepack(self, weights: torch.Tensor, scales: torch.Tensor) -> object:
        return weights.to(torch.int32), scales

    def run(self, parts: torch.Tensor, packed: object, zero_point: int) -> torch.Tensor:
        weights, scales = cast(tuple[torch.Tensor, torch.Tensor], packed)
        unsigned = parts.to(torch.int32) + zero_point  # the uint8 the kernel multiplies
        products = unsigned[:, None, :] * weights[None, :, :]
        pairs = products.reshape(*products.shape[:2], -1, 2).sum(dim=-1).clamp(-32768, 32767)
        sums = pairs.sum(dim=-1) - zero_point * weights.sum(dim=1)
        return sums.to(torch.float32) * scales


@needs_x86
@by_kernel
def test_seven_bit_activations_are_exact_on_every_x86_cpu(kernel: Int8Gemm) -> None:
    """At -64..64 a pair of u8 x s8 products fits in 16 bits: exact with and without VNNI."""
    assert arithmetic_is_exact(SEVEN_BIT, kernel)


@needs_x86
@by_kernel
def test_full_range_activations_are_exact_exactly_where_the_isa_has_vnni(
    kernel: Int8Gemm,
) -> None:
    """The overflow this module avoids: without VNNI, full-range pairs saturate 16 bits."""
    assert arithmetic_is_exact(FULL_RANGE, kernel) is detect_cpu_isa(kernel.name).has_vnni


@needs_x86
def test_this_process_uses_fbgemm_with_the_arithmetic_its_isa_needs() -> None:
    path = int8_path()
    assert path.kernel is FBGEMM
    assert path.isa is detect_cpu_isa(Int8Library.FBGEMM)
    assert path.arithmetic is (FULL_RANGE if path.isa.has_vnni else SEVEN_BIT)
    assert path.label == ("vnni (fbgemm)" if path.isa.has_vnni else "7-bit (fbgemm)")


@needs_x86
def test_both_kernels_give_the_same_projection() -> None:
    """fbgemm and oneDNN add the same whole numbers: the projections agree to float rounding."""
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(96, 256, generator=generator)
    x = torch.randn(3, 256, generator=generator)
    outputs = [Int8Projection.from_weight(weight, (SEVEN_BIT, kernel))(x) for kernel in KERNELS]
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)


@needs_x86
def test_a_missing_kernel_leaves_the_next_one() -> None:
    path = choose_int8_path(detect_cpu_isa, (BrokenGemm(), ONEDNN))
    assert path.kernel is ONEDNN
    assert path.arithmetic is (
        FULL_RANGE if detect_cpu_isa(Int8Library.ONEDNN).has_vnni else SEVEN_BIT
    )


def test_a_kernel_that_saturates_despite_its_isa_gets_seven_bits() -> None:
    """The probe, not the ISA, decides: a wrong VNNI guess ends at 7-bit activations."""
    path = choose_int8_path(lambda library: CpuIsa.AVX512_CORE_VNNI, (SaturatingGemm(),))
    assert path.arithmetic is SEVEN_BIT
    assert path.label == "7-bit (onednn)"


def test_no_exact_kernel_is_refused_with_each_reason() -> None:
    path = choose_int8_path(lambda library: CpuIsa.AVX2, (BrokenGemm(),))
    assert path.arithmetic is None
    assert "fbgemm's int8 GEMM failed (quantized::linear_prepack is not available)" in path.label
    assert "--backend fast" in path.label


@needs_x86
def test_vnni_runs_full_range_activations() -> None:
    if not int8_path().isa.has_vnni:
        pytest.skip(
            f"this CPU (ISA {int8_path().isa}, cap included) has no VNNI: the full-range int8 "
            "path cannot run here; test_int8_isas.py runs the 7-bit path under every cap"
        )
    weight = torch.randn(64, 256, generator=torch.Generator().manual_seed(1))
    assert Int8Projection.from_weight(weight).arithmetic is FULL_RANGE


def test_other_cpus_are_refused_with_what_to_do() -> None:
    assert REFUSED.arithmetic is None
    assert REFUSED.label.startswith("refused: ")
    assert "x86-64" in REFUSED.label
    assert "--backend fast" in REFUSED.label


def test_refused_int8_projections_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(int8_path_module, "int8_path", lambda: REFUSED)
    with pytest.raises(Int8UnavailableError, match="x86-64"):
        Int8Projection.from_weight(torch.ones(4, 4))


@pytest.mark.parametrize("name", ["int8", "int8-raw"])
def test_refused_int8_backends_fall_back_to_fast(
    monkeypatch: pytest.MonkeyPatch, test_model_paths: ModelPaths, name: str
) -> None:
    monkeypatch.setattr(int8_path_module, "int8_path", lambda: REFUSED)
    modules = load_dalle_modules(
        test_model_paths, TEST_SHAPE, torch.device("cpu"), torch.float32, remedy="-"
    )
    backend = make_backend(name, modules)
    assert backend.name == "fast"
    assert backend.exact is True
    assert backend.int8_path == REFUSED.label


def test_fast_and_reference_use_no_int8(test_model_paths: ModelPaths) -> None:
    for name in ("fast", "reference"):
        modules = load_dalle_modules(
            test_model_paths, TEST_SHAPE, torch.device("cpu"), torch.float32, remedy="-"
        )
        assert make_backend(name, modules).int8_path is None


@needs_x86
async def test_health_reports_the_int8_path(aiohttp_client, models_dir: Path) -> None:
    settings = ServerSettings(
        models_dir=models_dir, model="test", asr_model="none", backend="int8-raw"
    )
    app = create_app(settings)
    health = await wait_until_ready(await aiohttp_client(app))
    assert health["generator"]["backend"] == "int8-raw"
    assert health["generator"]["int8_path"] == int8_path().label


async def test_health_reports_a_refused_int8_backend(
    aiohttp_client, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(int8_path_module, "int8_path", lambda: REFUSED)
    settings = ServerSettings(models_dir=models_dir, model="test", asr_model="none", backend="int8")
    app = create_app(settings)
    health = await wait_until_ready(await aiohttp_client(app))
    assert health["generator"]["backend"] == "fast"
    assert health["generator"]["int8_path"].startswith("refused: ")
