"""Loading the upscaler chosen by `--upscaler` and putting it behind the loaded generator.

The upscaler is optional: when it cannot be downloaded or opened, the generator is served
without it (pictures come as painted), the log says why and /v1/health shows it in
`generator.upscaler.error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from ..downloads import DownloadError, DownloadProgress
from ..generation.text_to_image import TextToImage
from ..settings import ServerSettings
from .network import TEST_SHAPE
from .onnx_upscaler import OnnxUpscaler
from .pretrained import PRETRAINED_UPSCALERS, ensure_pretrained_upscaler
from .tiny_model import TEST_UPSCALER_NAME, TEST_UPSCALER_NOTICE, ensure_test_upscaler
from .wrapper import UpscalingTextToImage

_LOGGER = logging.getLogger(__name__)

UPSCALER_DISABLED: Final = "none"
UPSCALER_CHOICES: Final = (UPSCALER_DISABLED, TEST_UPSCALER_NAME, *PRETRAINED_UPSCALERS)


async def with_upscaler(
    settings: ServerSettings,
    generator: TextToImage,
    *,
    use_cuda: bool,
    set_detail: Callable[[str], None],
    progress: DownloadProgress | None = None,
) -> TextToImage:
    """Return `generator` behind the configured upscaler (itself when the option is "none")."""
    name = settings.upscaler
    if name == UPSCALER_DISABLED:
        return generator
    try:
        upscaler = await load_upscaler(
            settings, use_cuda=use_cuda, set_detail=set_detail, progress=progress
        )
    except (DownloadError, ValueError, OSError, ImportError) as error:
        # ImportError: the test upscaler is exported with onnx, which a Triton node lacks.
        _LOGGER.error(
            "The upscaler %r cannot be loaded (%s); pictures are sent as painted, without "
            "upscaling",
            name,
            error,
        )
        spec = PRETRAINED_UPSCALERS.get(name)
        return UpscalingTextToImage(
            generator,
            None,
            upscaler_name=name,
            upscaler_error=str(error),
            upscaler_scale=spec.shape.scale if spec is not None else TEST_SHAPE.scale,
        )
    _LOGGER.info(
        "Upscaler %s ready: %dx, tiles of %dx%d, on %s",
        name,
        upscaler.scale,
        upscaler.tile_width,
        upscaler.tile_height,
        upscaler.providers[0],
    )
    return UpscalingTextToImage(generator, upscaler, upscaler_name=name)


async def load_upscaler(
    settings: ServerSettings,
    *,
    use_cuda: bool,
    set_detail: Callable[[str], None],
    progress: DownloadProgress | None = None,
) -> OnnxUpscaler:
    """Build (test) or download (a pretrained one) the upscaler, then open it.

    Raises ValueError for an unknown name or a graph that is no upscaler, DownloadError when
    the download fails.
    """
    name = settings.upscaler
    if name == TEST_UPSCALER_NAME:
        _LOGGER.warning("Upscaler: %s", TEST_UPSCALER_NOTICE)
        set_detail("building the test upscaler")
        graph = await asyncio.to_thread(ensure_test_upscaler, settings.models_dir)
    elif name in PRETRAINED_UPSCALERS:
        set_detail(f"checking the upscaler {name}")
        graph = await ensure_pretrained_upscaler(
            PRETRAINED_UPSCALERS[name],
            settings.models_dir,
            base_url=settings.upscaler_download_url,
            progress=progress,
        )
    else:
        raise ValueError(f"unknown upscaler {name!r}; choose one of {', '.join(UPSCALER_CHOICES)}")
    set_detail(f"opening the upscaler {name}")
    return await asyncio.to_thread(
        OnnxUpscaler,
        graph,
        model_name=name,
        use_cuda=use_cuda,
        threads=settings.threads,
    )
