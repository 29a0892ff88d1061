"""One generation at a time on the device, behind a bounded first-in-first-out queue.

Handlers `submit` a job and await its future. A single worker task takes jobs in arrival
order and runs each in one dedicated thread (under `torch.inference_mode()`), so the device
never runs two generations at once. Progress goes from that thread back to the event loop with
`loop.call_soon_threadsafe`. A job whose client went away is skipped if it has not started and
stopped at its next decoder step if it has. A failing job (out of memory, a model error) fails
only its own future; the worker goes on with the next.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from PIL import Image

from ..errors import ModelFailedError, QueueFullError
from ..generation.base import GenerationRequest, TextToImage

_LOGGER = logging.getLogger(__name__)

LoopProgress = Callable[[int, int], None]
"""Called as progress(step, total) on the event loop."""


class GenerationAbandoned(Exception):
    """Raised inside the worker thread to stop a generation nobody waits for any more."""


@dataclass(frozen=True)
class GenerationResult:
    """A finished generation."""

    png: bytes
    seed: int
    seconds: float
    """Time on the device (not counting the wait in the queue)."""


@dataclass(eq=False)
class GenerationJob:
    """One queued request and how to reach its client."""

    request: GenerationRequest
    future: asyncio.Future[GenerationResult]
    on_progress: LoopProgress | None = None
    abandoned: bool = False
    """Set on the event loop when the client is gone; read by the worker thread."""
    queued_at: float = field(default_factory=time.monotonic)

    def abandon(self) -> None:
        """Stop caring about this job: skip it, or stop it at its next step."""
        self.abandoned = True


class GenerationQueue:
    """A bounded FIFO of generation jobs served by one worker thread."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._waiting: asyncio.Queue[GenerationJob] = asyncio.Queue(maxsize=max_waiting)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation")
        self.running: GenerationJob | None = None
        self.completed = 0
        self.failed = 0

    @property
    def waiting(self) -> int:
        """Jobs waiting behind the running one."""
        return self._waiting.qsize()

    def submit(
        self, request: GenerationRequest, on_progress: LoopProgress | None = None
    ) -> GenerationJob:
        """Queue a request; raise QueueFullError (429) when `max_waiting` jobs already wait."""
        job = GenerationJob(
            request, asyncio.get_running_loop().create_future(), on_progress=on_progress
        )
        try:
            self._waiting.put_nowait(job)
        except asyncio.QueueFull:
            raise QueueFullError(
                f"the generation queue is full ({self.max_waiting} requests wait behind the "
                "running one); try again when one has finished"
            ) from None
        return job

    async def serve(self, get_generator: Callable[[], TextToImage]) -> None:
        """Run jobs one after another, forever (cancel the task to stop)."""
        loop = asyncio.get_running_loop()
        while True:
            job = await self._waiting.get()
            if job.abandoned or job.future.done():
                _LOGGER.info("Skipping a queued generation whose client left")
                job.future.cancel()
                continue
            self.running = job
            try:
                result = await loop.run_in_executor(
                    self._executor, self._run, get_generator(), job, loop
                )
            except GenerationAbandoned:
                _LOGGER.info("Stopped a generation whose client left (seed %d)", job.request.seed)
                _settle(job, error=asyncio.CancelledError())
            except Exception as error:
                self.failed += 1
                _settle(job, error=_model_failure(error))
            else:
                self.completed += 1
                _settle(job, result=result)
            finally:
                self.running = None

    def close(self) -> None:
        """Fail the jobs still waiting and let the worker thread end after its current job."""
        while not self._waiting.empty():
            job = self._waiting.get_nowait()
            _settle(job, error=ModelFailedError("the server is shutting down", status=503))
        if self.running is not None:
            self.running.abandon()
        self._executor.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _run(
        generator: TextToImage, job: GenerationJob, loop: asyncio.AbstractEventLoop
    ) -> GenerationResult:
        """Generate and encode one image; runs in the worker thread."""

        def progress(step: int, total: int) -> None:
            if job.abandoned:
                raise GenerationAbandoned
            if job.on_progress is not None:
                loop.call_soon_threadsafe(job.on_progress, step, total)

        started = time.monotonic()
        with torch.inference_mode():
            image = generator.generate(job.request, progress)
        png = encode_png(image)
        return GenerationResult(png=png, seed=job.request.seed, seconds=time.monotonic() - started)


def encode_png(image: Image.Image) -> bytes:
    """Return the image as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _model_failure(error: Exception) -> ModelFailedError:
    """Turn an exception from the model into the 500 the client gets (and log it)."""
    if isinstance(error, torch.OutOfMemoryError):
        _LOGGER.error("Generation ran out of device memory: %s", error)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return ModelFailedError(
            "the device ran out of memory for this generation; try a smaller grid_size, "
            "or run the server with a smaller model or --dtype float16",
            code="out_of_memory",
        )
    _LOGGER.exception("Generation failed", exc_info=error)
    return ModelFailedError(f"the model failed on this request ({type(error).__name__}: {error})")


def _settle(
    job: GenerationJob,
    *,
    result: GenerationResult | None = None,
    error: BaseException | None = None,
) -> None:
    """Complete a job's future unless its handler already gave up on it."""
    if job.future.done():
        return
    if job.abandoned:
        # Nobody awaits it: a stored exception would only be reported as never retrieved.
        job.future.cancel()
        return
    if error is not None:
        if isinstance(error, asyncio.CancelledError):
            job.future.cancel()
        else:
            job.future.set_exception(error)
    else:
        job.future.set_result(result)  # type: ignore[arg-type]
