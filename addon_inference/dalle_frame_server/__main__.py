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
from .generation.models.devices import choose_device_and_dtype
from .model_options import add_model_arguments, model_settings
from .settings import DEFAULT_PORT, DEFAULT_QUEUE_SIZE, ServerSettings
from .token_file import read_or_create_token
from .torch_setup import configure_torch
from .triton.urls import check_triton_urls

_LOGGER = logging.getLogger("dalle_frame_server")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (defaults come from environment variables)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m dalle_frame_server",
        description="dalle_frame GPU server: min-dalle text-to-image and wav2vec2 ASR over HTTP.",
    )
    add_model_arguments(parser)
    # Device and queue
    parser.add_argument(
        "--device",
        default=env("DALLE_FRAME_DEVICE") or None,
        help="cpu, cuda or cuda:N (env DALLE_FRAME_DEVICE, default: cuda if present)",
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
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be 1..65535, not {args.port}")
    fields = model_settings(args)
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
        **fields,
        host=args.host,
        port=args.port,
        token=token,
        device=args.device,
        queue_size=args.queue_size,
        triton_urls=triton_urls,
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


def _path_or_none(text: str | None) -> Path | None:
    """Parse an optional path environment variable."""
    return Path(text) if text else None


if __name__ == "__main__":
    run()
