"""Command line: `python -m dalle_frame_server --model test|mini|mega [options]`.

Every option has an environment variable (shown in --help) so containers can be configured
without a command line. The server answers /v1/health at once and loads the models in the
background.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from . import __version__
from .api.app import create_app
from .asr.model_folder import DEFAULT_ASR_MODEL, LARGE_ASR_CHECKPOINT, LARGE_ASR_MODEL
from .asr.pretrained import HUGGING_FACE_URL
from .generation.diffusion.presets import DIFFUSION_PRESETS
from .generation.diffusion.tiny_vae import DEFAULT_VAE_DECODER, VAE_DECODERS, check_vae_decoder
from .generation.min_dalle.backends import BACKEND_NAMES
from .generation.models.devices import DTYPES, choose_device_and_dtype
from .generation.models.files import MIN_DALLE_BASE_URL
from .settings import DEFAULT_PORT, DEFAULT_QUEUE_SIZE, GENERATOR_MODELS, ServerSettings
from .token_file import read_or_create_token
from .torch_setup import configure_torch
from .triton.urls import check_triton_urls
from .upscaling.loading import UPSCALER_CHOICES
from .upscaling.pretrained import GITHUB_URL

_LOGGER = logging.getLogger("dalle_frame_server")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (defaults come from environment variables)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m dalle_frame_server",
        description="dalle_frame GPU server: min-dalle text-to-image and wav2vec2 ASR over HTTP.",
    )
    # Models
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
    # Device
    parser.add_argument(
        "--device",
        default=env("DALLE_FRAME_DEVICE") or None,
        help="cpu, cuda or cuda:N (env DALLE_FRAME_DEVICE, default: cuda if present)",
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
        help="generation backend (env DALLE_FRAME_BACKEND, default fast)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=_int_or_none(env("DALLE_FRAME_THREADS")),
        help="CPU threads for torch and ONNX Runtime (env DALLE_FRAME_THREADS, default all)",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=int(env("DALLE_FRAME_QUEUE_SIZE", str(DEFAULT_QUEUE_SIZE))),
        help="generation requests that may wait behind the running one; more get HTTP 429 "
        f"(env DALLE_FRAME_QUEUE_SIZE, default {DEFAULT_QUEUE_SIZE})",
    )
    parser.add_argument(
        "--triton-url",
        action="append",
        default=None,
        help="a Triton node (python -m dalle_frame_server.triton.serve) that runs the models "
        "instead of this process, as its gRPC address (grpc://host:8001); repeat for several "
        "nodes; needs the triton environment (requirements/triton.txt) "
        "(env DALLE_FRAME_TRITON_URLS, comma-separated)",
    )
    # Network and access
    parser.add_argument(
        "--host",
        default=env("DALLE_FRAME_HOST", "127.0.0.1"),
        help="address to listen on; 0.0.0.0 exposes the server to the network "
        "(env DALLE_FRAME_HOST, default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("DALLE_FRAME_PORT", str(DEFAULT_PORT))),
        help=f"TCP port (env DALLE_FRAME_PORT, default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=_path_or_none(env("DALLE_FRAME_TOKEN_FILE")),
        help="file holding the bearer token; created with a random token if absent "
        "(env DALLE_FRAME_TOKEN_FILE)",
    )
    parser.add_argument(
        "--token",
        default=env("DALLE_FRAME_TOKEN") or None,
        help="the bearer token itself (visible in the process list: prefer --token-file "
        "or env DALLE_FRAME_TOKEN)",
    )
    # Diagnostics
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default=env("DALLE_FRAME_LOG_LEVEL", "info"),
        help="(env DALLE_FRAME_LOG_LEVEL, default info)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Check the arguments and turn them into settings; ValueError says what is wrong."""
    if args.queue_size < 1:
        raise ValueError(f"--queue-size must be at least 1, not {args.queue_size}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, not {args.threads}")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be 1..65535, not {args.port}")
    if not args.download_url.startswith(("http://", "https://")):
        raise ValueError(f"--download-url must be an http(s) URL, not {args.download_url!r}")
    if not args.asr_download_url.startswith(("http://", "https://")):
        raise ValueError(
            f"--asr-download-url must be an http(s) URL, not {args.asr_download_url!r}"
        )
    if not args.diffusion_download_url.startswith(("http://", "https://")):
        raise ValueError(
            f"--diffusion-download-url must be an http(s) URL, not {args.diffusion_download_url!r}"
        )
    check_vae_decoder(args.vae_decoder)  # an environment value is not checked by argparse
    if args.vae_decoder != DEFAULT_VAE_DECODER and args.model not in DIFFUSION_PRESETS:
        _LOGGER.warning(
            "--vae-decoder %s applies to diffusion models only; %s keeps its own decoder",
            args.vae_decoder,
            args.model,
        )
    if not args.upscaler_download_url.startswith(("http://", "https://")):
        raise ValueError(
            f"--upscaler-download-url must be an http(s) URL, not {args.upscaler_download_url!r}"
        )
    triton_urls = tuple(
        url.strip()
        for url in (args.triton_url or os.environ.get("DALLE_FRAME_TRITON_URLS", "").split(","))
        if url.strip()
    )
    if triton_urls:
        check_triton_urls(triton_urls)
    choose_device_and_dtype(args.device, args.dtype)
    token = args.token
    if token is None and args.token_file is not None:
        token = read_or_create_token(args.token_file)
    return ServerSettings(
        models_dir=args.models_dir.resolve(),
        model=args.model,
        asr_model=args.asr_model,
        host=args.host,
        port=args.port,
        token=token,
        device=args.device,
        dtype=args.dtype,
        backend=args.backend,
        queue_size=args.queue_size,
        threads=args.threads,
        download_url=args.download_url,
        asr_download_url=args.asr_download_url,
        diffusion_download_url=args.diffusion_download_url,
        vae_decoder=args.vae_decoder,
        triton_urls=triton_urls,
        upscaler=args.upscaler,
        upscaler_download_url=args.upscaler_download_url,
    )


def run(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.log_level != "debug":
        # One line per request is noise at info level (HA polls /v1/health).
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        settings = settings_from_args(args)
    except (OSError, ValueError) as error:
        _LOGGER.error("Cannot start: %s", error)
        sys.exit(2)
    threads = configure_torch(settings.threads)
    _LOGGER.info(
        "dalle_frame server %s on http://%s:%d (model %s, ASR %s, %d threads, queue %d)",
        __version__,
        settings.host,
        settings.port,
        settings.model,
        settings.asr_model,
        threads,
        settings.queue_size,
    )
    if settings.token is None:
        _LOGGER.warning(
            "No token configured: anyone who can reach %s:%d can generate and transcribe",
            settings.host,
            settings.port,
        )
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)


def _int_or_none(text: str | None) -> int | None:
    """Parse an optional integer environment variable."""
    return int(text) if text else None


def _path_or_none(text: str | None) -> Path | None:
    """Parse an optional path environment variable."""
    return Path(text) if text else None


if __name__ == "__main__":
    run()
