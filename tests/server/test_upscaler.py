"""OnnxUpscaler with the test graph in ONNX Runtime: crop, tiles, exact sizes, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from dalle_frame_server.upscaling.network import TEST_SHAPE, export_onnx, random_network
from dalle_frame_server.upscaling.onnx_upscaler import OnnxUpscaler
from dalle_frame_server.upscaling.tiny_model import ensure_test_upscaler


@pytest.fixture(scope="module")
def test_graph(models_dir: Path) -> Path:
    """The test upscaler's graph (built once into the session's models folder)."""
    return ensure_test_upscaler(models_dir)


@pytest.fixture(scope="module")
def upscaler(test_graph: Path) -> OnnxUpscaler:
    """The test upscaler on one thread (the cores are shared with other suites)."""
    return OnnxUpscaler(test_graph, model_name="test", threads=1)


def _picture(width: int, height: int, seed: int = 0) -> Image.Image:
    """A random RGB picture."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, mode="RGB")


@pytest.mark.parametrize(
    ("size", "target"),
    [
        ((256, 256), (800, 480)),
        ((256, 256), (480, 800)),
        ((256, 256), (600, 448)),
        ((256, 256), (400, 400)),
        ((512, 512), (1600, 1200)),
        ((256, 256), (1601, 999)),
    ],
)
def test_output_has_exactly_the_requested_size(
    upscaler: OnnxUpscaler, size: tuple[int, int], target: tuple[int, int]
) -> None:
    """Portrait, landscape and square targets all come back at exactly their size."""
    result = upscaler.upscale(_picture(*size), *target)
    assert result.size == target and result.mode == "RGB"


def test_crop_happens_before_super_resolution(upscaler: OnnxUpscaler) -> None:
    """Only the kept part is super-resolved: the result is SR(crop) resized, not a crop of SR."""
    picture = _picture(256, 256, seed=1)
    result = upscaler.upscale(picture, 800, 480)
    expected = upscaler.super_resolve(picture.crop((0, 51, 256, 205))).resize(
        (800, 480), Image.Resampling.LANCZOS
    )
    assert np.array_equal(np.asarray(result), np.asarray(expected))


def test_large_enough_pictures_are_only_cropped_and_resized(upscaler: OnnxUpscaler) -> None:
    """A crop at least the target's size skips the network: plain crop + Lanczos."""
    picture = _picture(1024, 1024, seed=2)
    result = upscaler.upscale(picture, 800, 480)
    expected = picture.crop((0, 205, 1024, 819)).resize((800, 480), Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(result), np.asarray(expected))
    same_size = upscaler.upscale(picture, 1024, 1024)
    assert np.array_equal(np.asarray(same_size), np.asarray(picture))


def test_super_resolution_adds_detail_to_the_upsampled_picture(upscaler: OnnxUpscaler) -> None:
    """The test network paints noise-ish detail: close to nearest upsampling, not equal."""
    picture = _picture(24, 16, seed=3)
    result = np.asarray(upscaler.super_resolve(picture), dtype=np.int16)
    nearest = np.asarray(picture.resize((96, 64), Image.Resampling.NEAREST), dtype=np.int16)
    difference = np.abs(result - nearest)
    assert difference.max() > 0
    assert difference.mean() < 64


def test_tiles_give_the_untiled_result(test_graph: Path) -> None:
    """Tiles whose context covers the receptive radius reproduce one whole run."""
    whole = OnnxUpscaler(test_graph, model_name="test", threads=1, tile=512)
    tiled = OnnxUpscaler(
        test_graph, model_name="test", threads=1, tile=20, context=TEST_SHAPE.receptive_radius
    )
    chw = np.random.default_rng(4).random((3, 45, 61), dtype=np.float32)
    expected = whole.run_tiled(chw)
    result = tiled.run_tiled(chw)
    assert result.shape == (3, 180, 244)
    np.testing.assert_allclose(result, expected, atol=1e-5)


def test_a_graph_of_fixed_size_runs_in_tiles_of_that_size(tmp_path: Path, test_graph: Path) -> None:
    """A published graph that takes only 32x32 upscales any picture, same as a free graph."""
    fixed_graph = tmp_path / "fixed.onnx"
    network = random_network(TEST_SHAPE, seed=18, detail_gain=0.3)
    export_onnx(network, str(fixed_graph), fixed_size=(32, 32))
    fixed = OnnxUpscaler(fixed_graph, model_name="fixed", threads=1)
    assert (fixed.tile_height, fixed.tile_width) == (32, 32)
    free = OnnxUpscaler(test_graph, model_name="test", threads=1)
    chw = np.random.default_rng(5).random((3, 50, 70), dtype=np.float32)
    np.testing.assert_allclose(fixed.run_tiled(chw), free.run_tiled(chw), atol=1e-5)
    small = fixed.upscale(_picture(20, 20), 100, 60)  # smaller than a tile: padded, then cut
    assert small.size == (100, 60)


@pytest.mark.parametrize(("width", "height"), [(0, 480), (800, -3), (8193, 100)])
def test_bad_target_sizes_are_refused(upscaler: OnnxUpscaler, width: int, height: int) -> None:
    """A target side outside 1..8192 is refused with its name and value."""
    with pytest.raises(ValueError, match=r"must be 1\.\.8192 pixels"):
        upscaler.upscale(_picture(16, 16), width, height)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_graph_that_is_no_rgb_upscaler_is_refused(tmp_path: Path) -> None:
    """A graph taking one channel is refused at opening, with what it takes."""
    graph = tmp_path / "gray.onnx"
    with torch.no_grad():
        torch.onnx.export(
            nn.Conv2d(1, 3, 3, padding=1), (torch.rand(1, 1, 8, 8),), str(graph), dynamo=False
        )
    with pytest.raises(ValueError, match=r"not float32 \(batch, 3, height, width\)"):
        OnnxUpscaler(graph, model_name="gray", threads=1)
    not_onnx = tmp_path / "garbage.onnx"
    not_onnx.write_bytes(b"not a graph")
    with pytest.raises(ValueError, match="ONNX Runtime cannot open"):
        OnnxUpscaler(not_onnx, model_name="garbage", threads=1)
