"""DiffusionGenerator on the tiny random pipelines: exact to stock diffusers, seeds, sizes,
progress, cancellation, batching and out-of-memory, on the CPU."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dalle_frame_server.errors import ModelFailedError
from dalle_frame_server.generation.diffusion.components import keep_half_weights, load_parts
from dalle_frame_server.generation.diffusion.generator import DiffusionGenerator
from dalle_frame_server.generation.diffusion.loader import batches_on, uses_half_storage
from dalle_frame_server.generation.diffusion.presets import (
    DIFFUSION_PRESETS,
    SD_TURBO,
    TEST_DIFFUSION,
)
from dalle_frame_server.generation.diffusion.test_pipelines import ensure_test_pipeline
from dalle_frame_server.generation.models.devices import choose_device_and_dtype
from dalle_frame_server.generation.text_to_image import GenerationRequest, painted_size

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")


def _generator(models_dir: Path, name: str, *, batching: bool = False) -> DiffusionGenerator:
    preset = DIFFUSION_PRESETS[name]
    folder = ensure_test_pipeline(preset, models_dir)
    parts = load_parts(folder, preset, CPU, torch.float32)
    return DiffusionGenerator(parts, preset, device=CPU, batching=batching)


@pytest.fixture(scope="module")
def sd(models_dir: Path) -> DiffusionGenerator:
    """test-diffusion on the CPU, batching allowed (to test the batch path here)."""
    return _generator(models_dir, "test-diffusion", batching=True)


def _pixels(image: Image.Image | Exception) -> np.ndarray:
    assert isinstance(image, Image.Image), image
    return np.asarray(image).astype(np.int16)


def _request(seed: int = 5, **fields: object) -> GenerationRequest:
    fields = {"prompt": "a cat and the sea", "width": 96, "height": 64, "steps": 2, **fields}
    return GenerationRequest(seed=seed, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["test-diffusion", "test-sdxl"])
def test_pictures_equal_the_stock_pipeline_call(models_dir: Path, name: str) -> None:
    """Same seed, size and steps: our pixels are stock diffusers' pixels, exactly."""
    from diffusers import DiffusionPipeline, EulerDiscreteScheduler

    generator = _generator(models_dir, name)
    ours = generator.generate_images([_request(seed=11)], [None])[0]
    stock = DiffusionPipeline.from_pretrained(models_dir / name)
    stock.scheduler = EulerDiscreteScheduler.from_config(
        stock.scheduler.config, timestep_spacing="trailing"
    )
    stock.set_progress_bar_config(disable=True)
    theirs = stock(
        "a cat and the sea",
        width=96,
        height=64,
        num_inference_steps=2,
        guidance_scale=0.0,
        generator=torch.Generator().manual_seed(11),
    ).images[0]
    assert np.array_equal(_pixels(ours), _pixels(theirs))
    assert _pixels(ours).std() > 5  # a picture, not a flat field


def test_same_request_same_pixels_other_seed_other_pixels(sd: DiffusionGenerator) -> None:
    first = sd.generate_pngs([_request(seed=3)], [None])[0]
    again = sd.generate_pngs([_request(seed=3)], [None])[0]
    other = sd.generate_pngs([_request(seed=4)], [None])[0]
    assert not isinstance(first, Exception) and not isinstance(other, Exception)
    assert first == again
    assert first.png != other.png
    assert (first.width, first.height) == (96, 64)


def test_panel_sizes_keep_their_aspect_within_the_budget(sd: DiffusionGenerator) -> None:
    """800x480 and its portrait twin: painted at the panel's aspect, in the pixel budget."""
    capabilities = sd.capabilities
    for width, height in ((800, 480), (480, 800)):
        expected = painted_size(capabilities, width, height)
        assert expected[0] * expected[1] <= capabilities.max_pixels
        assert expected[0] % capabilities.multiple == 0 == expected[1] % capabilities.multiple
        assert abs(expected[0] / expected[1] - width / height) < 0.1
        (picture,) = sd.generate_pngs([_request(width=width, height=height, steps=1)], [None])
        assert not isinstance(picture, Exception)
        assert (picture.width, picture.height) == expected
        assert Image.open(__import__("io").BytesIO(picture.png)).size == expected
    default = sd.generate_pngs([_request(width=None, height=None, steps=None)], [None])[0]
    assert not isinstance(default, Exception)
    assert (default.width, default.height) == capabilities.default_size


def test_progress_per_step_and_a_raising_callback_cancels_its_request(
    sd: DiffusionGenerator,
) -> None:
    calls: list[tuple[int, int]] = []
    sd.generate_pngs([_request(steps=3)], [lambda step, total: calls.append((step, total))])
    assert calls == [(1, 3), (2, 3), (3, 3)]

    class ClientLeft(Exception):
        pass

    def leave(step: int, total: int) -> None:
        raise ClientLeft

    (outcome,) = sd.generate_pngs([_request()], [leave])
    assert isinstance(outcome, ClientLeft)


def test_batch_equals_single_calls_and_survives_a_cancelled_member(
    sd: DiffusionGenerator,
) -> None:
    """Two waiting requests run as one batch; each keeps its own seed's picture. Batched
    matrix products may round a float differently, so a pixel may differ by one level."""
    first, second = _request(seed=21, prompt="the cat"), _request(seed=22, prompt="a sea")
    assert sd.can_batch([first, second])
    assert not sd.can_batch([first, _request(width=64)])
    assert not sd.can_batch([first, _request(steps=1)])
    singles = [sd.generate_images([request], [None])[0] for request in (first, second)]
    batch = sd.generate_images([first, second], [None, None])
    for alone, together in zip(singles, batch, strict=True):
        assert np.abs(_pixels(alone) - _pixels(together)).max() <= 1

    def leave(step: int, total: int) -> None:
        raise ConnectionResetError("client left")

    left, kept = sd.generate_images([first, second], [leave, None])
    assert isinstance(left, ConnectionResetError)
    assert np.abs(_pixels(kept) - _pixels(singles[1])).max() <= 1


def test_out_of_memory_fails_that_turn_only(sd: DiffusionGenerator) -> None:
    """A UNet that runs out of memory: ModelFailedError out_of_memory; the next turn works."""

    class OutOfMemory(torch.nn.Module):
        def forward(self, *args: object, **kwargs: object) -> None:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    unet = sd.parts.unet
    real_block = unet.mid_block
    unet.mid_block = OutOfMemory()
    try:
        with pytest.raises(ModelFailedError) as failure:
            sd.generate_pngs([_request()], [None])
        assert failure.value.code == "out_of_memory"
    finally:
        unet.mid_block = real_block
    assert not isinstance(sd.generate_pngs([_request()], [None])[0], Exception)


def test_float16_weights_upcast_per_layer_compute_as_float32(models_dir: Path) -> None:
    """keep_half_weights: float16 storage, float32 arithmetic, bit for bit a float32 model's."""
    from diffusers import UNet2DConditionModel

    folder = ensure_test_pipeline(TEST_DIFFUSION, models_dir)
    half = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=torch.float16)
    full = copy.deepcopy(half).to(torch.float32)
    keep_half_weights(half, torch.float32)
    sample = torch.randn(1, 4, 8, 12, generator=torch.Generator().manual_seed(1))
    text = torch.randn(1, 77, 32, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        upcast = half(sample, 500, encoder_hidden_states=text, return_dict=False)[0]
        expected = full(sample, 500, encoder_hidden_states=text, return_dict=False)[0]
    assert upcast.dtype == torch.float32
    assert torch.equal(upcast, expected)
    assert all(param.dtype == torch.float16 for param in half.parameters())


def test_device_dtype_and_batching_choices_on_this_cpu() -> None:
    """CPU: float32, fp16 files kept in half and upcast, no batching; CUDA would batch."""
    device, dtype = choose_device_and_dtype(None, None)
    assert (device.type, dtype) == ("cpu", torch.float32)
    assert uses_half_storage(SD_TURBO, device, dtype)
    assert not uses_half_storage(TEST_DIFFUSION, device, dtype)  # its file is float32
    assert not uses_half_storage(SD_TURBO, torch.device("cuda"), torch.float16)
    assert not batches_on(device) and batches_on(torch.device("cuda"))
    with pytest.raises(ValueError, match="only on CUDA"):
        choose_device_and_dtype("cpu", "float16")


def test_describe_and_capabilities(sd: DiffusionGenerator) -> None:
    assert sd.capabilities.family == "diffusion"
    assert sd.describe()["pipeline"] == "sd"
    assert (sd.device, sd.dtype, sd.model_name) == ("cpu", "float32", "test-diffusion")
