"""Choosing the int8 arithmetic this CPU gets right, and falling back to `fast` where none."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dalle_frame_server.api.app import create_app
from dalle_frame_server.generation.min_dalle.backends import make_backend
from dalle_frame_server.generation.min_dalle.kernels import int8_path as int8_path_module
from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import CpuIsa, detect_cpu_isa
from dalle_frame_server.generation.min_dalle.kernels.int8 import Int8Projection
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
    ISA is CpuIsa.NOT_X86, reason=f"oneDNN's int8 kernels are x86 only; this CPU is {ISA}"
)
needs_vnni = pytest.mark.skipif(
    not ISA.has_vnni,
    reason=f"this CPU (oneDNN ISA {ISA}, cap included) has no VNNI: the full-range int8 path "
    "cannot run here; test_int8_isas.py runs the 7-bit path under every cap",
)

REFUSED = choose_int8_path(CpuIsa.NOT_X86)


@needs_x86
def test_seven_bit_activations_are_exact_on_every_x86_cpu() -> None:
    """At -64..64 a pair of u8 x s8 products fits in 16 bits: exact with and without VNNI."""
    assert arithmetic_is_exact(SEVEN_BIT)


@needs_x86
def test_full_range_activations_are_exact_exactly_where_the_isa_has_vnni() -> None:
    """The overflow this module avoids: without VNNI, full-range pairs saturate 16 bits."""
    assert arithmetic_is_exact(FULL_RANGE) is ISA.has_vnni


@needs_x86
def test_this_process_uses_the_arithmetic_its_isa_needs() -> None:
    path = int8_path()
    assert path.isa is ISA
    assert path.arithmetic is (FULL_RANGE if ISA.has_vnni else SEVEN_BIT)
    assert path.label == ("vnni" if ISA.has_vnni else "7-bit")


@needs_vnni
def test_vnni_runs_full_range_activations() -> None:
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
