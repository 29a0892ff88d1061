"""The opt-in tiny VAE decoder (`--vae-decoder tiny`): TAESD in place of the model's own decoder.

TAESD ("Tiny AutoEncoder for Stable Diffusion", by Ollin Boer Bohan, MIT licence) is a small
network distilled from the Stable Diffusion VAEs: about 1.2 M decoder parameters against the
AutoencoderKL decoder's 49 M, so decoding a 512x512 picture costs a fraction of the time on
a CPU. Its pictures are an approximation of the full decoder's (softer fine detail, slightly
different colours), so it is never the default: `full` keeps stock diffusers' pixels.

diffusers runs it as `AutoencoderTiny`. Its scaling conventions differ from AutoencoderKL's:
it decodes the UNet's latents as they are (config `scaling_factor` 1.0, no shift, where
AutoencoderKL divides by 0.18215 or 0.13025 first) and its `decode` output is in [-1, 1] like
AutoencoderKL's (DecoderTiny maps its [0, 1] output with `x * 2 - 1`), so the generator's
`latents / scaling_factor` and `(pixels / 2 + 0.5).clamp(0, 1)` stay right for both;
`load_tiny_decoder` refuses a config that would break this.

SD 1.x/2.x latents (sd-turbo) take `madebyollin/taesd`, SDXL latents (sdxl-turbo,
sdxl-lightning) `madebyollin/taesdxl`: the two latent spaces are incompatible.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ...downloads import DownloadProgress
from .hub_download import HUB_CACHE_FOLDER, HUGGING_FACE_HUB, fetch_files
from .presets import DiffusionPreset, HubFiles

if TYPE_CHECKING:
    import torch

VAE_DECODERS: Final = ("full", "tiny")
"""The choices of --vae-decoder: the model's own VAE decoder (exact), or TAESD (approximate)."""
DEFAULT_VAE_DECODER: Final = "full"
TINY_VAE_LICENCE: Final = "MIT (TAESD by Ollin Boer Bohan, madebyollin)"

TINY_VAE_FILES: Final = ("config.json", "diffusion_pytorch_model.safetensors")
"""The diffusers-format files of a TAESD repository (the whole autoencoder, 9.8 MB in float32;
only its decoder is kept in memory)."""

# The commits below are the repositories' own "Upload 4 files / TAESD 1.2 'Chocolate-Dipped
# Shortbread' edition" commits, read from the hub's public commit pages (no public code pinning
# taesdxl was found; for taesd, public code pins a later commit, 614f76814bbe30edbe2e627ace1c
# 2234c81a2c0e). taesd 931366cc: its tree lists config.json and
# diffusion_pytorch_model.safetensors (9.79 MB, LFS sha256 d7956d56...6ee5). taesdxl b581b405:
# on main's history, changing diffusion_pytorch_model.safetensors (9,793,292 bytes, sha256
# 0070e0bf...27e6). Nothing was downloaded here to check them (no network on the development
# machines): the first real download is their check, and a wrong commit answers 404, final.
TAESD: Final = HubFiles(
    repo="madebyollin/taesd",
    revision="931366cc24b8bc15d6f682fa2e0352f1deec397b",
    files=TINY_VAE_FILES,
)
"""TAESD for SD 1.x / 2.x latents (sd-turbo)."""
TAESDXL: Final = HubFiles(
    repo="madebyollin/taesdxl",
    revision="b581b405a4be617b15c80368c62b65c2fea5495d",
    files=TINY_VAE_FILES,
)
"""TAESDXL for SDXL latents (sdxl-turbo, sdxl-lightning)."""


def check_vae_decoder(name: str) -> str:
    """Return `name` when it is a --vae-decoder choice; ValueError that lists them otherwise."""
    if name not in VAE_DECODERS:
        raise ValueError(
            f"--vae-decoder must be one of {', '.join(VAE_DECODERS)}, not {name!r} (full: the "
            "model's own decoder, exact; tiny: TAESD, faster and approximate)"
        )
    return name


def describe_vae_decoder(name: str) -> str:
    """Return the decoder as /v1/health shows it: "full" or "tiny (approximate)"."""
    return "tiny (approximate)" if check_vae_decoder(name) == "tiny" else "full"


def tiny_vae_files(preset: DiffusionPreset) -> HubFiles:
    """Return the TAESD repository whose latent space is the preset's (SD or SDXL)."""
    return TAESDXL if preset.pipeline == "sdxl" else TAESD


async def ensure_tiny_vae_files(
    preset: DiffusionPreset,
    models_dir: Path,
    *,
    endpoint: str = HUGGING_FACE_HUB,
    progress: DownloadProgress | None = None,
) -> Path:
    """Return the folder of the preset's TAESD files, downloading what is missing first.

    The same machinery as the preset's own files: huggingface_hub at the pinned commit into
    `<models-dir>/huggingface/`, resumable, checked against the hub's etag; errors are
    `DownloadError`s (retryable or final).
    """
    if preset.test:
        raise ValueError(f"{preset.name} builds its tiny decoder locally, it is not downloaded")
    loop = asyncio.get_running_loop()

    def report(name: str, done: int, total: int | None) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, name, done, total)

    cache = models_dir / HUB_CACHE_FOLDER
    return await asyncio.to_thread(fetch_files, tiny_vae_files(preset), cache, endpoint, report)


def load_tiny_decoder(folder: Path, dtype: torch.dtype) -> Any:
    """Load the AutoencoderTiny in `folder` in `dtype`, keeping only its decoder side.

    Raises ValueError when the folder cannot be loaded or its config would decode the UNet's
    latents wrongly (a scaling factor other than 1.0, a shift, or no 4-channel latents).
    """
    from diffusers import AutoencoderTiny

    try:
        vae = AutoencoderTiny.from_pretrained(folder, torch_dtype=dtype)
    except (OSError, KeyError, RuntimeError, ValueError) as error:
        raise ValueError(
            f"the tiny VAE decoder in {folder} cannot be loaded ({type(error).__name__}: {error})"
        ) from error
    config = vae.config
    scaling = float(config.scaling_factor)
    shift = float(getattr(config, "shift_factor", 0.0) or 0.0)
    if scaling != 1.0 or shift != 0.0 or int(config.latent_channels) != 4:
        raise ValueError(
            f"the tiny VAE decoder in {folder} has scaling_factor {scaling}, shift_factor "
            f"{shift} and {config.latent_channels} latent channels; TAESD for SD/SDXL decodes "
            "the UNet's 4-channel latents as they are (1.0, 0.0): the files are not TAESD's"
        )
    vae.encoder = None  # a text-to-image call only decodes
    return vae
