"""Command-line options shared by the server and a Triton node: the models and how they run.

Both `python -m dalle_frame_server` and `python -m dalle_frame_server.triton.serve` load the
same models the same way, so they take the same options (and environment variables) for
which models, where their files come from and how they compute. `--device` differs (a node
takes several) and stays with each command.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from .asr.model_folder import DEFAULT_ASR_MODEL, LARGE_ASR_CHECKPOINT, LARGE_ASR_MODEL
from .asr.pretrained import HUGGING_FACE_URL
from .generation.diffusion.presets import DIFFUSION_PRESETS
from .generation.diffusion.tiny_vae import DEFAULT_VAE_DECODER, VAE_DECODERS, check_vae_decoder
from .generation.min_dalle.backends import BACKEND_NAMES
from .generation.models.devices import DTYPES
from .generation.models.files import MIN_DALLE_BASE_URL
from .settings import GENERATOR_MODELS
from .upscaling.loading import UPSCALER_CHOICES
from .upscaling.pretrained import GITHUB_URL

_LOGGER = logging.getLogger(__name__)

DOWNLOAD_URL_OPTIONS = (
    "download_url",
    "asr_download_url",
    "diffusion_download_url",
    "upscaler_download_url",
)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model options (defaults from environment variables) to `parser`."""
    env = os.environ.get
    parser.add_argument(
        "--model",
        choices=GENERATOR_MODELS,
        default=env("DALLE_FRAME_MODEL", "mini"),
        help="test: tiny random weights that paint noise (for tests and demos); mini/mega: "
        "min-dalle's real weights, downloaded once; diffusion presets, downloaded once from the "
        "hub: sd-turbo (CPU-friendly, 1 step at 512 px, ~4 GB RAM, non-commercial licence), "
        "sdxl-turbo (GPU, 8 GB VRAM, non-commercial), sdxl-lightning (GPU, 1024 px, 10 GB VRAM, "
        "openrail++); test-diffusion/test-sdxl: tiny random pipelines that paint noise "
        "(env DALLE_FRAME_MODEL, default mini)",
    )
    parser.add_argument(
        "--asr-model",
        default=env("DALLE_FRAME_ASR_MODEL", DEFAULT_ASR_MODEL),
        help=f"{DEFAULT_ASR_MODEL} (English, downloaded already in ONNX on first start, 95 MB), "
        "whisper-base (99 languages, MIT, int8 ONNX downloaded once, 77 MB, about 0.5 GB), "
        "test-multilingual (random Whisper-shaped, gibberish in en/de/fr/es/nl), "
        f"{LARGE_ASR_MODEL} (more accurate, exported from {LARGE_ASR_CHECKPOINT} on first "
        "start: needs about 7 GB of memory once), the folder name or path of a model exported with "
        "python -m dalle_frame_server.asr.export, test (random weights, transcribes gibberish) "
        f"or none (env DALLE_FRAME_ASR_MODEL, default {DEFAULT_ASR_MODEL})",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=Path(env("DALLE_FRAME_MODELS_DIR", "models")),
        help="where model files are kept (env DALLE_FRAME_MODELS_DIR, default ./models)",
    )
    parser.add_argument(
        "--download-url",
        default=env("MIN_DALLE_BASE_URL", MIN_DALLE_BASE_URL),
        help="where min-dalle's files are downloaded from (env MIN_DALLE_BASE_URL)",
    )
    parser.add_argument(
        "--asr-download-url",
        default=env("DALLE_FRAME_ASR_DOWNLOAD_URL", HUGGING_FACE_URL),
        help="the hub pre-exported ASR models come from (env DALLE_FRAME_ASR_DOWNLOAD_URL)",
    )
    parser.add_argument(
        "--diffusion-download-url",
        default=env("DALLE_FRAME_DIFFUSION_DOWNLOAD_URL", HUGGING_FACE_URL),
        help="the hub diffusion presets are downloaded from (env "
        "DALLE_FRAME_DIFFUSION_DOWNLOAD_URL)",
    )
    parser.add_argument(
        "--vae-decoder",
        choices=VAE_DECODERS,
        default=env("DALLE_FRAME_VAE_DECODER", DEFAULT_VAE_DECODER),
        help="diffusion models only: full (the model's own VAE decoder, the stock pixels) or "
        "tiny (TAESD, MIT, 10 MB downloaded once: decodes several times faster on a CPU, "
        "pictures approximate) (env DALLE_FRAME_VAE_DECODER, default full)",
    )
    parser.add_argument(
        "--upscaler",
        choices=UPSCALER_CHOICES,
        default=env("DALLE_FRAME_UPSCALER", "none"),
        help="super-resolution of pictures smaller than the size a request asks for: none, "
        "test (random weights, paints noise-ish detail) or realesr-general-x4v3 (Real-ESRGAN's "
        "compact 4x model, BSD-3-Clause, 4.9 MB, downloaded once) (env DALLE_FRAME_UPSCALER, "
        "default none)",
    )
    parser.add_argument(
        "--upscaler-download-url",
        default=env("DALLE_FRAME_UPSCALER_DOWNLOAD_URL", GITHUB_URL),
        help="where the upscaler's checkpoint is downloaded from, a GitHub-like host "
        "(<url>/<repo>/releases/download/...) (env DALLE_FRAME_UPSCALER_DOWNLOAD_URL)",
    )
    parser.add_argument(
        "--dtype",
        choices=tuple(DTYPES),
        default=env("DALLE_FRAME_DTYPE") or None,
        help="default float16 on CUDA, float32 on CPU (env DALLE_FRAME_DTYPE)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        default=env("DALLE_FRAME_BACKEND", "fast"),
        help="min-dalle's generation backend (env DALLE_FRAME_BACKEND, default fast)",
    )
    threads = env("DALLE_FRAME_THREADS")
    parser.add_argument(
        "--threads",
        type=int,
        default=int(threads) if threads else None,
        help="CPU threads for torch and ONNX Runtime (env DALLE_FRAME_THREADS, default all)",
    )


def model_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Check the model options; return them as ServerSettings fields (ValueError: what is wrong).

    Environment values are not checked by argparse, so the choices are checked again here.
    """
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, not {args.threads}")
    for name in DOWNLOAD_URL_OPTIONS:
        url = getattr(args, name)
        if not url.startswith(("http://", "https://")):
            option = "--" + name.replace("_", "-")
            raise ValueError(f"{option} must be an http(s) URL, not {url!r}")
    check_vae_decoder(args.vae_decoder)
    if args.vae_decoder != DEFAULT_VAE_DECODER and args.model not in DIFFUSION_PRESETS:
        _LOGGER.warning(
            "--vae-decoder %s applies to diffusion models only; %s keeps its own decoder",
            args.vae_decoder,
            args.model,
        )
    return {
        "models_dir": args.models_dir.resolve(),
        "model": args.model,
        "asr_model": args.asr_model,
        "dtype": args.dtype,
        "backend": args.backend,
        "threads": args.threads,
        "download_url": args.download_url,
        "asr_download_url": args.asr_download_url,
        "diffusion_download_url": args.diffusion_download_url,
        "vae_decoder": args.vae_decoder,
        "upscaler": args.upscaler,
        "upscaler_download_url": args.upscaler_download_url,
    }
