"""Command line: `python -m dalle_frame_server.triton.serve --model test|mini|mega [options]`.

Runs one Triton node (PyTriton's bundled tritonserver): loads the text-to-image model (one
instance per `--device`, each its own copy of the weights, behind the `--upscaler` as on the
single-process server) and the ASR model, binds them as Triton models (`protocol.py`, with
the cancel model the front calls when a client leaves) and serves until interrupted.
Triton's own endpoints answer on the HTTP port (`/v2/health/live`, `/v2/health/ready`,
`/v2/models/...`), the front talks gRPC, Prometheus metrics are on the metrics port
(`/metrics`). Runs in the `.venvs/triton` environment (requirements/triton.txt: PyTriton
pins numpy below 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

import numpy as np

from ..asr.base import Transcriber
from ..generation.models.devices import choose_device_and_dtype
from ..generation.text_to_image import GenerationRequest, TextToImage
from ..loading import ASR_DISABLED, load_generator, load_transcriber
from ..model_options import add_model_arguments, model_settings
from ..model_slot import ModelSlot
from ..settings import ServerSettings
from ..torch_setup import configure_torch
from .node_cancel import CancelBoard, CancelModel
from .node_generation import GenerationModel
from .node_models import InfoModel, TranscriptionModel, node_info
from .protocol import (
    ASR_MODEL,
    CANCEL_MODEL,
    CANCEL_STATE_OUTPUT,
    EVENT_OUTPUT,
    GENERATOR_MODEL,
    INFO_MODEL,
    INFO_OUTPUT,
    JOB_INPUT,
    LANGUAGE_INPUT,
    LANGUAGE_OUTPUT,
    PNG_OUTPUT,
    QUERY_INPUT,
    REQUEST_INPUT,
    SAMPLES_INPUT,
    TEXT_OUTPUT,
)

_LOGGER = logging.getLogger("dalle_frame_server.triton")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (defaults come from environment variables)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m dalle_frame_server.triton.serve",
        description="One Triton node of dalle_frame: the generator and the ASR as Triton models.",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--device",
        action="append",
        default=None,
        help="cpu, cuda or cuda:N; repeat for one model instance per device (one instance per "
        "GPU: --device cuda:0 --device cuda:1); env DALLE_FRAME_DEVICE, comma-separated",
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=int(env("DALLE_FRAME_TRITON_MAX_BATCH", "8")),
        help="at most this many requests in one turn of Triton's dynamic batcher; the node "
        "takes fewer where the model cannot join that many (probed at start; default 8)",
    )
    parser.add_argument(
        "--max-queue-delay-ms",
        type=float,
        default=float(env("DALLE_FRAME_TRITON_QUEUE_DELAY_MS", "50")),
        help="how long the batcher waits for more requests to join a turn (default 50 ms)",
    )
    parser.add_argument("--host", default=env("DALLE_FRAME_TRITON_HOST", "127.0.0.1"))
    parser.add_argument(
        "--http-port", type=int, default=int(env("DALLE_FRAME_TRITON_HTTP_PORT", "8000"))
    )
    parser.add_argument(
        "--grpc-port", type=int, default=int(env("DALLE_FRAME_TRITON_GRPC_PORT", "8001"))
    )
    parser.add_argument(
        "--metrics-port", type=int, default=int(env("DALLE_FRAME_TRITON_METRICS_PORT", "8002"))
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Load the models, bind them into Triton and serve until interrupted."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    devices = args.device or (os.environ.get("DALLE_FRAME_DEVICE") or "").split(",")
    devices = [device.strip() or None for device in devices] or [None]
    try:
        if args.max_batch_size < 1:
            raise ValueError(f"--max-batch-size must be at least 1, not {args.max_batch_size}")
        fields = model_settings(args)
        for device in devices:
            choose_device_and_dtype(device, args.dtype)
    except ValueError as error:
        _LOGGER.error("Cannot start: %s", error)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _interrupt)
    configure_torch(args.threads)
    base = ServerSettings(**fields)
    try:
        generators = [_load_generator(base, device) for device in devices]
        transcriber, asr_error = _load_transcriber(base)
        max_batch_size = _batch_size(generators[0], args.max_batch_size)
        info = node_info(
            generators, transcriber, max_batch_size=max_batch_size, asr_error=asr_error
        )
        _LOGGER.info("Serving %s", json.dumps(info))
        _serve(args, generators, transcriber, info, CancelBoard())
    except KeyboardInterrupt:  # before serving (PyTriton's serve loop takes it itself)
        _LOGGER.info("Stopped before the node was serving")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Stop the node on SIGTERM (docker stop, systemd) as on Ctrl+C.

    PyTriton's serve loop stops tritonserver on KeyboardInterrupt; a container's PID 1 would
    ignore SIGTERM without a handler.
    """
    raise KeyboardInterrupt


def _load_generator(base: ServerSettings, device: str | None) -> TextToImage:
    """Load one instance of the text-to-image model (as the single-process server does)."""
    settings = ServerSettings(**{**vars(base), "device": device})
    slot: ModelSlot[TextToImage] = ModelSlot("generator", settings.model)
    return asyncio.run(load_generator(settings, slot))


def _load_transcriber(base: ServerSettings) -> tuple[Transcriber | None, str | None]:
    """Load the ASR model, or say why there is none (the node serves generation anyway)."""
    if base.asr_model == ASR_DISABLED:
        return None, "the ASR model is disabled on the Triton node (--asr-model none)"
    slot: ModelSlot[Transcriber] = ModelSlot("asr", base.asr_model)
    try:
        return asyncio.run(load_transcriber(base, slot)), None
    except Exception as error:  # a missing or broken model: report it, serve generation
        _LOGGER.error("The ASR model cannot be loaded: %s", error)
        return None, f"{type(error).__name__}: {error}"


def _batch_size(generator: TextToImage, limit: int) -> int:
    """Return the dynamic batcher's size: how many requests may share a turn (1: none).

    1-image requests (the usual ones) set it: the most of them `can_batch` joins, up to
    `limit`. Where only larger grids join, `limit` (the turns are split by `can_batch` then).
    """
    best = 1
    for count in range(2, limit + 1):
        if not generator.can_batch(
            [GenerationRequest(prompt="probe", seed=seed) for seed in range(count)]
        ):
            break
        best = count
    if best == 1 and any(
        generator.can_batch(
            [GenerationRequest(prompt="probe", seed=seed, grid_size=grid) for seed in (0, 1)]
        )
        for grid in generator.capabilities.grid_sizes[1:]
    ):
        return limit
    return best


def _serve(
    args: argparse.Namespace,
    generators: list[TextToImage],
    transcriber: Transcriber | None,
    info: dict[str, Any],
    board: CancelBoard,
) -> None:
    """Bind the models and block in Triton's serve loop."""
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    config = TritonConfig(
        http_address=args.host,
        http_port=args.http_port,
        grpc_address=args.host,
        grpc_port=args.grpc_port,
        metrics_address=args.host,
        metrics_port=args.metrics_port,
        allow_metrics=True,
        allow_cpu_metrics=True,
        exit_on_error=True,
    )
    batching = info["max_batch_size"] > 1
    with Triton(config=config) as triton:
        triton.bind(
            model_name=GENERATOR_MODEL,
            infer_func=[GenerationModel(generator, board) for generator in generators],
            inputs=[
                Tensor(name=REQUEST_INPUT, dtype=bytes, shape=(1,)),
                Tensor(name=JOB_INPUT, dtype=bytes, shape=(1,), optional=True),
            ],
            outputs=[
                Tensor(name=EVENT_OUTPUT, dtype=bytes, shape=(1,)),
                Tensor(name=PNG_OUTPUT, dtype=bytes, shape=(1,)),
            ],
            config=ModelConfig(
                max_batch_size=info["max_batch_size"],
                decoupled=True,
                batcher=DynamicBatcher(
                    max_queue_delay_microseconds=int(args.max_queue_delay_ms * 1000)
                    if batching
                    else 0
                ),
            ),
            strict=False,
        )
        triton.bind(
            model_name=INFO_MODEL,
            infer_func=InfoModel(
                info,
                live=lambda: {
                    "cancellations": board.as_json(),
                    "requests_on_node": board.on_node(),
                },
            ),
            inputs=[Tensor(name=QUERY_INPUT, dtype=bytes, shape=(1,))],
            outputs=[Tensor(name=INFO_OUTPUT, dtype=bytes, shape=(1,))],
            config=ModelConfig(batching=False),
        )
        triton.bind(
            model_name=CANCEL_MODEL,
            infer_func=CancelModel(board),
            inputs=[Tensor(name=JOB_INPUT, dtype=bytes, shape=(1,))],
            outputs=[Tensor(name=CANCEL_STATE_OUTPUT, dtype=bytes, shape=(1,))],
            config=ModelConfig(batching=False),
        )
        if transcriber is not None:
            triton.bind(
                model_name=ASR_MODEL,
                infer_func=TranscriptionModel(transcriber),
                inputs=[
                    Tensor(name=SAMPLES_INPUT, dtype=np.float32, shape=(-1,)),
                    Tensor(name=LANGUAGE_INPUT, dtype=bytes, shape=(1,)),
                ],
                outputs=[
                    Tensor(name=TEXT_OUTPUT, dtype=bytes, shape=(1,)),
                    Tensor(name=LANGUAGE_OUTPUT, dtype=bytes, shape=(1,)),
                ],
                config=ModelConfig(batching=False),
            )
        _LOGGER.info(
            "Triton node ready: gRPC %s:%d, HTTP (health) %s:%d, metrics %s:%d",
            args.host,
            args.grpc_port,
            args.host,
            args.http_port,
            args.host,
            args.metrics_port,
        )
        triton.serve()


if __name__ == "__main__":
    main()
