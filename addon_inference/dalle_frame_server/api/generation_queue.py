"""One generation at a time on the device, behind a bounded first-in-first-out queue.

Handlers `submit` a job and await its future. A single worker task takes jobs in arrival
order and runs each turn in one dedicated thread (`TextToImage.generate_pngs`), so the
device never runs two generations at once. Jobs waiting right behind the one taken join it as
one batch while the generator says they may (`TextToImage.can_batch`: the fast backends decode
several requests together, exact ones only where a probe proved that keeps every pixel); the
first that may not waits for the next turn, so the order is kept. Progress goes from that
thread back to the event loop with `loop.call_soon_threadsafe`. A job whose client went away
is skipped if it has not started and stopped at its next decoder step if it has. A failing
job (a model error) fails only its own future; one that fails a whole batch (out of memory)
fails that batch's jobs; the worker goes on with the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import ModelFailedError, QueueFullError
from ..generation.text_to_image import GenerationRequest, TextToImage

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
    """Time on the device (not counting the wait in the queue), upscaling included."""
    width: int
    height: int
    upscale_seconds: float | None = None
    """Time the upscaler took; None when the picture was not upscaled."""


@dataclass(eq=False)
class GenerationJob:
    """One queued request and how to reach its client."""

    request: GenerationRequest
    future: asyncio.Future[GenerationResult]
    on_progress: LoopProgress | None = None
    abandoned: bool = False
    """Set on the event loop when the client is gone; read by the worker thread."""
    queued_at: float = field(default_factory=time.monotonic)
    on_abandon: Callable[[], None] | None = None
    """Called on the event loop when the job is first abandoned (Triton mode: stop the node)."""

    def abandon(self) -> None:
        """Stop caring about this job: skip it, or stop it at its next step."""
        if self.abandoned:
            return
        self.abandoned = True
        if self.on_abandon is not None:
            self.on_abandon()


class GenerationQueue:
    """A bounded FIFO of generation jobs served by one worker thread."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._waiting: asyncio.Queue[GenerationJob] = asyncio.Queue()
        self._next: GenerationJob | None = None
        """Taken from the queue but left for the next turn (it could not join the batch)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation")
        self.running: list[GenerationJob] = []
        self.completed = 0
        self.failed = 0

    @property
    def waiting(self) -> int:
        """Jobs waiting behind the running ones."""
        return self._waiting.qsize() + (self._next is not None)

    def submit(
        self, request: GenerationRequest, on_progress: LoopProgress | None = None
    ) -> GenerationJob:
        """Queue a request; raise QueueFullError (429) when `max_waiting` jobs already wait."""
        job = GenerationJob(
            request, asyncio.get_running_loop().create_future(), on_progress=on_progress
        )
        if self.waiting >= self.max_waiting:
            raise QueueFullError(
                f"the generation queue is full ({self.max_waiting} requests wait behind the "
                "running one); try again when one has finished"
            )
        self._waiting.put_nowait(job)
        return job

    async def serve(self, get_generator: Callable[[], TextToImage]) -> None:
        """Run jobs one turn after another, forever (cancel the task to stop)."""
        loop = asyncio.get_running_loop()
        while True:
            job, self._next = self._next or await self._waiting.get(), None
            if _gone(job):
                continue
            generator = get_generator()
            self.running = batch = [job]
            await self._add_joiners(batch, generator)
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self._run, generator, batch, loop
                )
            except Exception as error:  # the whole turn failed (e.g. out of memory)
                outcomes = [error] * len(batch)
            finally:
                self.running = []
            for member, outcome in zip(batch, outcomes, strict=True):
                self._finish(member, outcome)

    async def _add_joiners(self, batch: list[GenerationJob], generator: TextToImage) -> None:
        """Add to `batch` the jobs right behind it that may decode with it as one batch.

        `can_batch` may run a probe on the device the first time it sees a combination of
        sizes, so it runs in the worker thread (idle between turns), not in the event loop.
        """
        loop = asyncio.get_running_loop()
        while self._next is None and not self._waiting.empty():
            job = self._waiting.get_nowait()
            if _gone(job):
                continue
            self._next = job  # still counted as waiting (and settled by close) while checked
            requests = [member.request for member in [*batch, job]]
            if await loop.run_in_executor(self._executor, generator.can_batch, requests):
                self._next = None
                if not _gone(job):
                    batch.append(job)
        if len(batch) > 1:
            _LOGGER.info("Generating %d queued requests as one batch", len(batch))

    def _finish(self, job: GenerationJob, outcome: GenerationResult | BaseException) -> None:
        """Settle a job with its result or error, and count it."""
        if isinstance(outcome, GenerationAbandoned):
            _LOGGER.info("Stopped a generation whose client left (seed %d)", job.request.seed)
            _settle(job, error=asyncio.CancelledError())
        elif isinstance(outcome, BaseException):
            self.failed += 1
            _settle(job, error=_model_failure(outcome))
        else:
            self.completed += 1
            _settle(job, result=outcome)

    def close(self) -> None:
        """Fail the jobs still waiting and let the worker thread end after its current turn."""
        waiting = [self._next] if self._next is not None else []
        self._next = None
        while not self._waiting.empty():
            waiting.append(self._waiting.get_nowait())
        for job in waiting:
            _settle(job, error=ModelFailedError("the server is shutting down", status=503))
        for job in self.running:
            job.abandon()
        self._executor.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _run(
        generator: TextToImage, jobs: list[GenerationJob], loop: asyncio.AbstractEventLoop
    ) -> list[GenerationResult | BaseException]:
        """Generate the turn's images as PNG; runs in the worker thread."""

        def reporter(job: GenerationJob) -> Callable[[int, int], None]:
            def progress(step: int, total: int) -> None:
                if job.abandoned:
                    raise GenerationAbandoned
                if job.on_progress is not None:
                    loop.call_soon_threadsafe(job.on_progress, step, total)

            return progress

        started = time.monotonic()
        pictures = generator.generate_pngs(
            [job.request for job in jobs], [reporter(job) for job in jobs]
        )
        seconds = time.monotonic() - started
        return [
            picture
            if isinstance(picture, Exception)
            else GenerationResult(
                png=picture.png,
                seed=job.request.seed,
                seconds=seconds,
                width=picture.width,
                height=picture.height,
                upscale_seconds=picture.upscale_seconds,
            )
            for job, picture in zip(jobs, pictures, strict=True)
        ]


def _gone(job: GenerationJob) -> bool:
    """Whether a job's client left before its turn (the job is then cancelled)."""
    if job.abandoned or job.future.done():
        _LOGGER.info("Skipping a queued generation whose client left")
        job.future.cancel()
        return True
    return False


def _model_failure(error: BaseException) -> ModelFailedError:
    """Return the 500 the client gets: the generator's own error, or one for anything else."""
    if isinstance(error, ModelFailedError):
        return error
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
