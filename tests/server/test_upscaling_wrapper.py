"""UpscalingTextToImage around a small painter: which pictures it upscales, timing, failures."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dalle_frame_server.generation.interface import ProgressCallback
from dalle_frame_server.generation.png import encode_png
from dalle_frame_server.generation.text_to_image import (
    Capabilities,
    GenerationRequest,
    Picture,
    TextToImage,
)
from dalle_frame_server.upscaling.onnx_upscaler import OnnxUpscaler
from dalle_frame_server.upscaling.tiny_model import ensure_test_upscaler
from dalle_frame_server.upscaling.wrapper import UpscalingTextToImage


class GradientPainter(TextToImage):
    """Paints a 64x64 gradient per request; a prompt "fail" gets an exception in its place."""

    model_name = "gradient"
    device = "cpu"
    dtype = "float32"
    capabilities = Capabilities(
        family="min-dalle", default_size=(64, 64), min_side=64, max_side=64, multiple=64,
        max_pixels=64 * 64,
    )  # fmt: skip

    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Picture | Exception]:
        """Return one gradient picture per request."""
        ramp = np.linspace(0, 255, 64, dtype=np.uint8)
        pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], ramp[None, :]), -1)
        png = encode_png(Image.fromarray(np.ascontiguousarray(pixels), mode="RGB"))
        return [
            RuntimeError("client left") if request.prompt == "fail" else Picture(
                png=png, width=64, height=64
            )
            for request in requests
        ]  # fmt: skip

    def describe(self) -> dict[str, object]:
        """Say something the wrapper must pass on."""
        return {"backend": "gradient"}

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """Batch up to two."""
        return len(requests) <= 2


@pytest.fixture(scope="module")
def upscaler(models_dir: Path) -> OnnxUpscaler:
    """The test upscaler on one thread."""
    return OnnxUpscaler(ensure_test_upscaler(models_dir), model_name="test", threads=1)


def _request(prompt: str = "sea", **size: object) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, seed=1, **size)  # type: ignore[arg-type]


def test_delegates_what_it_does_not_change(upscaler: OnnxUpscaler) -> None:
    """Capabilities, batching and the description are the inner model's, plus the upscaler."""
    inner = GradientPainter()
    model = UpscalingTextToImage(inner, upscaler, upscaler_name="test")
    assert model.capabilities is inner.capabilities and model.model_name == "gradient"
    assert model.can_batch([_request(), _request()]) and not model.can_batch([_request()] * 3)
    assert model.describe() == {
        "backend": "gradient",
        "upscaler": {"model": "test", "scale": 4, "ready": True, "error": None},
    }


def test_upscales_only_what_asks_for_a_larger_picture(
    upscaler: OnnxUpscaler, caplog: pytest.LogCaptureFixture
) -> None:
    """Larger: upscaled, timed and logged; no size, not larger, or upscale false: as painted."""
    model = UpscalingTextToImage(GradientPainter(), upscaler, upscaler_name="test")
    requests = [
        _request(width=300, height=100),
        _request(),
        _request(width=64, height=32),
        _request(width=300, height=100, upscale=False),
        _request("fail", width=300, height=100),
    ]
    with caplog.at_level(logging.INFO, logger="dalle_frame_server.upscaling.wrapper"):
        results = model.generate_pngs(requests, [None] * len(requests))
    upscaled, *unchanged, failed = results
    assert isinstance(upscaled, Picture) and (upscaled.width, upscaled.height) == (300, 100)
    assert upscaled.upscale_seconds is not None and upscaled.upscale_seconds >= 0
    with Image.open(io.BytesIO(upscaled.png)) as picture:
        assert picture.size == (300, 100)
    for picture in unchanged:
        assert isinstance(picture, Picture)
        assert (picture.width, picture.height, picture.upscale_seconds) == (64, 64, None)
    assert isinstance(failed, RuntimeError)  # the inner model's exception passes through
    assert "Upscaled 64x64 to 300x100 with test in" in caplog.text


def test_without_an_upscaler_pictures_come_as_painted() -> None:
    """A failed upscaler: pictures unchanged, health says why."""
    model = UpscalingTextToImage(
        GradientPainter(), None, upscaler_name="realesr-general-x4v3", upscaler_error="HTTP 404"
    )
    (picture,) = model.generate_pngs([_request(width=300, height=100)], [None])
    assert isinstance(picture, Picture) and picture.width == 64
    upscaler_health = model.describe()["upscaler"]
    assert upscaler_health == {
        "model": "realesr-general-x4v3", "scale": 4, "ready": False, "error": "HTTP 404",
    }  # fmt: skip


def test_an_upscaling_failure_sends_the_painted_picture(
    upscaler: OnnxUpscaler, caplog: pytest.LogCaptureFixture
) -> None:
    """A width beyond the upscaler's limit fails that step only: logged, picture as painted."""
    model = UpscalingTextToImage(GradientPainter(), upscaler, upscaler_name="test")
    (picture,) = model.generate_pngs([_request(width=9000, height=100)], [None])
    assert isinstance(picture, Picture) and (picture.width, picture.upscale_seconds) == (64, None)
    assert "sending it as painted" in caplog.text
