"""The aiohttp application: routes, middlewares, and the models loading in the background."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..asr.wav_audio import MAX_WAV_BYTES
from ..loading import (
    ASR_DISABLED,
    GeneratorLoader,
    TranscriberLoader,
    keep_loading,
    load_generator,
    load_transcriber,
)
from ..model_slot import ModelSlot
from ..settings import ServerSettings
from .generate_view import handle_generate
from .generation_queue import GenerationQueue
from .health_view import handle_health, handle_openapi
from .middleware import auth_middleware, error_middleware
from .state import STATE, ServerState
from .transcribe_view import handle_transcribe

_LOGGER = logging.getLogger(__name__)


def create_app(
    settings: ServerSettings,
    *,
    generator_loader: GeneratorLoader = load_generator,
    transcriber_loader: TranscriberLoader = load_transcriber,
) -> web.Application:
    """Return the application; the models start loading when it starts serving."""
    middlewares: list[Middleware] = [error_middleware]
    if settings.token:
        middlewares.append(auth_middleware(settings.token))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_WAV_BYTES)
    queue = GenerationQueue(settings.queue_size)
    if settings.triton_urls:
        # Triton mode: the models run on Triton nodes (tritonclient is imported only here).
        from ..triton.front import TritonFront

        front = TritonFront(settings)
        generator_loader, transcriber_loader = front.generator_loader, front.transcriber_loader
        queue = front.queue
        app.cleanup_ctx.append(front.running)
    app[STATE] = ServerState(
        settings=settings,
        generator=ModelSlot("generator", settings.model, retry_after=_retry_after(settings)),
        transcriber=ModelSlot("asr", settings.asr_model, retry_after=5),
        queue=queue,
    )
    app.router.add_get("/v1/health", handle_health)
    app.router.add_post("/v1/generate", handle_generate)
    app.router.add_post("/v1/transcribe", handle_transcribe)
    app.router.add_get("/v1/openapi.json", handle_openapi)

    async def background(app: web.Application) -> AsyncIterator[None]:
        """Load both models and serve the queue; stop it all on shutdown."""
        state = app[STATE]
        tasks = [
            asyncio.create_task(
                keep_loading(
                    state.generator,
                    lambda: generator_loader(settings, state.generator),
                    retry_seconds=settings.load_retry_seconds,
                ),
                name="load generator",
            ),
            asyncio.create_task(state.queue.serve(state.generator.require), name="generation"),
        ]
        if settings.asr_model == ASR_DISABLED:
            state.transcriber.set_disabled()
        else:
            tasks.append(
                asyncio.create_task(
                    keep_loading(
                        state.transcriber,
                        lambda: transcriber_loader(settings, state.transcriber),
                        retry_seconds=settings.load_retry_seconds,
                    ),
                    name="load asr",
                )
            )
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        state.queue.close()

    app.cleanup_ctx.append(background)
    return app


def _retry_after(settings: ServerSettings) -> int:
    """Seconds a client should wait while the generator loads: short for the test model."""
    return 5 if settings.model == "test" else 30
