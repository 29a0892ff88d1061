"""Any text-to-image model with the upscaler behind it (the contract's `upscale` step).

Where a request gives width and height larger than the painted picture and keeps `upscale`
true, each picture is cropped to the requested aspect (centred, cover), super-resolved and
resized to exactly width x height; its time goes into `Picture.upscale_seconds` and the log.
Without a working upscaler (none loaded, or it failed to load) pictures come as painted.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence

from PIL import Image

from ..generation.interface import ProgressCallback
from ..generation.png import encode_png
from ..generation.text_to_image import GenerationRequest, Picture, TextToImage
from .onnx_upscaler import OnnxUpscaler

_LOGGER = logging.getLogger(__name__)


class UpscalingTextToImage(TextToImage):
    """Delegates painting to `inner`, then upscales the pictures that ask for it."""

    def __init__(
        self,
        inner: TextToImage,
        upscaler: OnnxUpscaler | None,
        *,
        upscaler_name: str,
        upscaler_error: str | None = None,
        upscaler_scale: int = 4,
    ) -> None:
        """`upscaler` None with `upscaler_error`: it failed to load (health shows why).

        `upscaler_scale` is the scale health shows while there is no upscaler to ask.
        """
        self.inner = inner
        self.upscaler = upscaler
        self.upscaler_name = upscaler_name
        self.upscaler_error = upscaler_error
        self.upscaler_scale = upscaler.scale if upscaler is not None else upscaler_scale
        self.model_name = inner.model_name
        self.device = inner.device
        self.dtype = inner.dtype
        self.capabilities = inner.capabilities

    def generate_pngs(
        self,
        requests: Sequence[GenerationRequest],
        progress: Sequence[ProgressCallback | None],
    ) -> list[Picture | Exception]:
        """Paint with the inner model, then upscale each picture its request asks to."""
        results = self.inner.generate_pngs(requests, progress)
        return [
            self._finish(request, result) if isinstance(result, Picture) else result
            for request, result in zip(requests, results, strict=True)
        ]

    def describe(self) -> dict[str, object]:
        """Return the inner model's description plus `upscaler` (model, scale, ready, error)."""
        return {
            **self.inner.describe(),
            "upscaler": {
                "model": self.upscaler_name,
                "scale": self.upscaler_scale,
                "ready": self.upscaler is not None,
                "error": self.upscaler_error,
            },
        }

    def can_batch(self, requests: Sequence[GenerationRequest]) -> bool:
        """As the inner model decides (upscaling runs per picture afterwards)."""
        return self.inner.can_batch(requests)

    def _finish(self, request: GenerationRequest, picture: Picture) -> Picture:
        """Return the picture upscaled when the request asks for a larger one, else as is."""
        width, height = request.width, request.height
        if (
            self.upscaler is None
            or not request.upscale
            or width is None
            or height is None
            or (width <= picture.width and height <= picture.height)
        ):
            return picture
        started = time.perf_counter()
        try:
            with Image.open(io.BytesIO(picture.png)) as painted:
                upscaled = self.upscaler.upscale(painted, width, height)
            png = encode_png(upscaled)
        except Exception:  # an optional step: the painted picture is still worth sending
            _LOGGER.exception(
                "Upscaling a %dx%d picture to %dx%d failed; sending it as painted",
                picture.width,
                picture.height,
                width,
                height,
            )
            return picture
        seconds = time.perf_counter() - started
        _LOGGER.info(
            "Upscaled %dx%d to %dx%d with %s in %.2f s",
            picture.width,
            picture.height,
            width,
            height,
            self.upscaler_name,
            seconds,
        )
        return Picture(png=png, width=width, height=height, upscale_seconds=seconds)
