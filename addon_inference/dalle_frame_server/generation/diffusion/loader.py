"""Loading a diffusion preset: build (test) or download its files, then load them on the device."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from ...downloads import DownloadProgress
from ..models.devices import choose_device_and_dtype
from .components import load_parts
from .generator import DiffusionGenerator
from .hub_download import HUGGING_FACE_HUB, ensure_preset_files
from .presets import DIFFUSION_PRESETS, DIFFUSION_TEST_NOTICE, DiffusionPreset
from .tiny_vae import (
    DEFAULT_VAE_DECODER,
    TINY_VAE_LICENCE,
    check_vae_decoder,
    ensure_tiny_vae_files,
)

_LOGGER = logging.getLogger(__name__)


def is_diffusion_model(name: str) -> bool:
    """Whether --model names a diffusion preset."""
    return name in DIFFUSION_PRESETS


def uses_half_storage(preset: DiffusionPreset, device: torch.device, dtype: torch.dtype) -> bool:
    """Whether weights stay float16 and are upcast per layer: CPU float32 from fp16 files."""
    return device.type == "cpu" and dtype == torch.float32 and preset.variant == "fp16"


def batches_on(device: torch.device) -> bool:
    """Whether waiting requests run as one batch: on CUDA, not on CPU.

    Measured on 2 shared CPU cores with SD-Turbo-shaped weights at 512x512, 1 step
    (`python -m bench.diffusion_speed --batch 2`): a batch of two took 111.6 s against 98.4 s
    for the two as single calls, the UNet and VAE being compute bound; a GPU has the parallel
    width to spare. Batched arithmetic may also round a float differently from single calls.
    """
    return device.type == "cuda"


async def load_diffusion_generator(
    name: str,
    models_dir: Path,
    *,
    device_name: str | None,
    dtype_name: str | None,
    set_detail: Callable[[str], None],
    progress: DownloadProgress | None = None,
    endpoint: str = HUGGING_FACE_HUB,
    vae_decoder: str = DEFAULT_VAE_DECODER,
) -> DiffusionGenerator:
    """Build or download the preset `name`, then load it (in a worker thread).

    `vae_decoder`: "full" (the model's own VAE decoder) or "tiny" (TAESD, `tiny_vae.py`).
    """
    from .test_pipelines import ensure_test_pipeline, ensure_test_tiny_vae

    check_vae_decoder(vae_decoder)
    preset = DIFFUSION_PRESETS[name]
    device, dtype = choose_device_and_dtype(device_name, dtype_name)
    unet_weights = None
    if preset.test:
        _LOGGER.warning("Generator: %s (%s)", DIFFUSION_TEST_NOTICE, name)
        set_detail(f"building the {name} pipeline")
        folder = await asyncio.to_thread(ensure_test_pipeline, preset, models_dir)
    else:
        set_detail("checking the model files")
        files = await ensure_preset_files(preset, models_dir, endpoint=endpoint, progress=progress)
        folder, unet_weights = files.folder, files.unet_weights
    tiny_vae = None
    if vae_decoder == "tiny":
        _LOGGER.info("VAE decoder: tiny (TAESD, approximate pictures; %s)", TINY_VAE_LICENCE)
        if preset.test:
            tiny_vae = await asyncio.to_thread(ensure_test_tiny_vae, preset, models_dir)
        else:
            set_detail("checking the tiny VAE decoder's files")
            tiny_vae = await ensure_tiny_vae_files(
                preset, models_dir, endpoint=endpoint, progress=progress
            )
    half = uses_half_storage(preset, device, dtype)
    set_detail(f"loading the weights on {device}")
    parts = await asyncio.to_thread(
        load_parts,
        folder,
        preset,
        device,
        dtype,
        unet_weights=unet_weights,
        half_storage=half,
        tiny_vae=tiny_vae,
    )
    return DiffusionGenerator(
        parts,
        preset,
        device=device,
        batching=batches_on(device),
        weights="float16, upcast per layer" if half else str(dtype).removeprefix("torch."),
    )
