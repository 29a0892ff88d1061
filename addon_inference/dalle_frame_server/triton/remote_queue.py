"""The front's generation queue: the same bounded FIFO, served by Triton nodes.

It keeps `GenerationQueue`'s contract (submit, 429 when `max_waiting` wait, progress on the
event loop, abandon, close) but runs no model: each job goes, in arrival order, to the least
loaded node that is up (`NodePool.acquire`), as one gRPC stream of the node's decoupled model.
A node that fails before it streamed anything for the job is marked down and the job tries the
next node; one that fails after the first progress event fails the job with a clear error
(the picture cannot be resumed elsewhere). No event for `stall_seconds` counts as a failure,
so a job never hangs. Each job carries a name (`job`); when its client leaves (the job is
abandoned) the front stops relaying at once and calls the node's `dalle_frame_cancel` with
that name, so the node stops painting the picture at its next step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import tritonclient.grpc.aio as triton_grpc

from ..api.generation_queue import (
    GenerationJob,
    GenerationQueue,
    GenerationResult,
    _gone,
    _settle,
)
from ..errors import ApiError, ModelFailedError, ModelLoadingError
from ..generation.text_to_image import TextToImage
from .nodes import NodePool, TritonNode, _reason
from .protocol import (
    CANCEL_MODEL,
    CANCEL_STATE_OUTPUT,
    EVENT_OUTPUT,
    GENERATOR_MODEL,
    JOB_INPUT,
    PNG_OUTPUT,
    REQUEST_INPUT,
    encode_request,
)

_LOGGER = logging.getLogger(__name__)

NO_NODE_RETRY_SECONDS = 10
"""Retry-After when no Triton node is up."""
CANCEL_TIMEOUT_SECONDS = 5.0
"""How long the front waits for a node to take a cancel (it goes on either way)."""
DRAIN_SECONDS = 60.0
"""How long the front reads an ended job's stream for its end before closing it."""


class NodeFailure(Exception):
    """The node stopped answering a job (down, stream broken, or silent too long)."""

    def __init__(self, reason: str, *, last_step: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.last_step = last_step
        """The last progress step the client got; None when nothing was streamed yet."""


class RemoteGenerationQueue(GenerationQueue):
    """A bounded FIFO of generation jobs served by Triton nodes."""

    def __init__(self, max_waiting: int, pool: NodePool, *, stall_seconds: float) -> None:
        super().__init__(max_waiting)
        self._pool = pool
        self._stall_seconds = stall_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, get_generator: Callable[[], TextToImage]) -> None:
        """Hand jobs to nodes in arrival order, forever (cancel the task to stop)."""
        try:
            while True:
                job, self._next = self._next or await self._waiting.get(), None
                if _gone(job):
                    continue
                self._next = job  # still waiting (and settled by close) until a node is free
                node = await self._pool.acquire()
                self._next = None
                if node is None:
                    self.failed += 1
                    _settle(job, error=_no_node(self._pool))
                    continue
                self.running.append(job)
                task = asyncio.create_task(self._run_job(job, node), name="triton generation")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()

    async def _run_job(self, job: GenerationJob, node: TritonNode) -> None:
        """Run one job on `node`, on another node when this one fails before streaming."""
        tried: list[TritonNode] = []
        try:
            while True:
                try:
                    outcome = await self._stream(job, node)
                except asyncio.CancelledError:
                    self._pool.release(node)
                    _settle(job, error=ModelFailedError("the server is shutting down", status=503))
                    raise
                except NodeFailure as failure:
                    node.failed += 1
                    node.mark_down(failure.reason)
                    self._pool.release(node)
                    tried.append(node)
                    if failure.last_step is not None or job.abandoned:
                        self.failed += 1
                        _settle(job, error=_failed_midway(node, failure))
                        return
                    _LOGGER.warning(
                        "Triton node %s failed before the job started (%s); trying another",
                        node.target,
                        failure.reason,
                    )
                    next_node = await self._pool.acquire(exclude=tried)
                    if next_node is None:
                        self.failed += 1
                        _settle(job, error=_no_node(self._pool))
                        return
                    node = next_node
                    continue
                self._pool.release(node)
                if isinstance(outcome, asyncio.CancelledError):  # the client left
                    node.cancelled += 1
                    _settle(job, error=outcome)
                    return
                node.completed += 1
                if isinstance(outcome, BaseException):
                    self.failed += 1
                    _settle(job, error=outcome)
                else:
                    self.completed += 1
                    _settle(job, result=outcome)
                return
        finally:
            self.running.remove(job)

    async def _stream(
        self, job: GenerationJob, node: TritonNode
    ) -> GenerationResult | BaseException:
        """Send the job to the node and relay its events; NodeFailure when the node fails.

        Returns CancelledError as soon as the job is abandoned (after asking the node to stop).
        """
        job_id = uuid.uuid4().hex
        request = triton_grpc.InferInput(REQUEST_INPUT, [1, 1], "BYTES")
        request.set_data_from_numpy(np.array([[encode_request(job.request)]], dtype=object))
        name = triton_grpc.InferInput(JOB_INPUT, [1, 1], "BYTES")
        name.set_data_from_numpy(np.array([[job_id.encode()]], dtype=object))

        async def requests() -> AsyncIterator[dict[str, Any]]:
            yield {"model_name": GENERATOR_MODEL, "inputs": [request, name]}

        left = asyncio.Event()
        job.on_abandon = left.set
        if job.abandoned:
            return asyncio.CancelledError()
        last_step: int | None = None
        try:
            stream = node.client.stream_infer(requests())
        except Exception as error:
            raise NodeFailure(_reason(error), last_step=None) from error
        client_left = asyncio.ensure_future(left.wait())
        next_answer: asyncio.Future[Any] | None = None
        ended = False  # the node ended the job (picture, error, or stopped for a leaver)
        try:
            while True:
                next_answer = asyncio.ensure_future(anext(stream))
                await asyncio.wait(
                    (next_answer, client_left),
                    timeout=self._stall_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if client_left.done():
                    await _cancel_on_node(node, job_id, last_step)
                    ended = True
                    return asyncio.CancelledError()
                if not next_answer.done():
                    raise NodeFailure(
                        f"no answer for {self._stall_seconds:.0f} s", last_step=last_step
                    )
                try:
                    answer, triton_error = next_answer.result()
                except StopAsyncIteration:
                    raise NodeFailure(
                        "the node closed the stream before the picture", last_step=last_step
                    ) from None
                except Exception as failure:  # grpc raises AioRpcError when the node dies
                    raise NodeFailure(_reason(failure), last_step=last_step) from failure
                if triton_error is not None:
                    raise NodeFailure(f"Triton: {triton_error}", last_step=last_step)
                event = json.loads(bytes(answer.as_numpy(EVENT_OUTPUT).reshape(-1)[0]))
                kind = event.get("type")
                if kind == "progress":
                    last_step = int(event["step"])
                    if job.on_progress is not None:
                        job.on_progress(last_step, int(event["total"]))
                elif kind == "result":
                    ended = True
                    return GenerationResult(
                        png=bytes(answer.as_numpy(PNG_OUTPUT).reshape(-1)[0]),
                        seed=job.request.seed,
                        seconds=float(event["seconds"]),
                        width=int(event["width"]),
                        height=int(event["height"]),
                        upscale_seconds=event.get("upscale_seconds"),
                    )
                elif kind == "error":
                    ended = True
                    return ApiError(
                        str(event["message"]), code=str(event["code"]), status=int(event["status"])
                    )
        finally:
            job.on_abandon = None
            _discard(client_left)
            if ended:
                drain = asyncio.create_task(_drain(stream, next_answer), name="triton stream end")
                self._tasks.add(drain)
                drain.add_done_callback(self._tasks.discard)
            else:
                if next_answer is not None:
                    _discard(next_answer)
                stream.cancel()

    def close(self) -> None:
        """Fail the waiting jobs and stop the running streams."""
        super().close()
        for task in list(self._tasks):
            task.cancel()


async def _drain(stream: Any, pending: asyncio.Future[Any] | None) -> None:
    """Read an ended job's stream to its end (at most `DRAIN_SECONDS`), then close it.

    Cancelling a decoupled model's stream before Triton (2.51) has sent its end leaves the
    model unable to unload: the node then cannot stop (SIGTERM waits out Triton's 30 s
    grace). The end follows the job's last event at once, unless the node's batch has
    other turns to run; the client has its answer already either way.
    """
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            if pending is not None and not pending.done():
                await pending
            async for _ in stream:
                pass
    except Exception:  # the end, a node gone, or the limit: nothing more to read
        pass
    finally:
        if pending is not None:
            _discard(pending)
        stream.cancel()


def _discard(task: asyncio.Future[Any]) -> None:
    """Stop waiting for `task` (an answer that came anyway is dropped, its error too)."""
    if task.done():
        if not task.cancelled():
            task.exception()  # retrieved: nothing logs it as never seen
    else:
        task.cancel()


async def _cancel_on_node(node: TritonNode, job_id: str, last_step: int | None) -> None:
    """Ask the node to stop the job (its client left); a node that cannot is only logged."""
    query = triton_grpc.InferInput(JOB_INPUT, [1], "BYTES")
    query.set_data_from_numpy(np.array([job_id.encode()], dtype=object))
    try:
        result = await node.client.infer(
            CANCEL_MODEL, [query], client_timeout=CANCEL_TIMEOUT_SECONDS
        )
    except Exception as error:  # an older node without the model, or a node going down
        _LOGGER.warning(
            "Could not cancel job %s on Triton node %s (%s); it paints the picture to the end",
            job_id,
            node.target,
            _reason(error),
        )
        return
    state = bytes(result.as_numpy(CANCEL_STATE_OUTPUT).reshape(-1)[0]).decode()
    _LOGGER.info(
        "Cancelled job %s on Triton node %s after step %s: its client left (%s)",
        job_id,
        node.target,
        last_step,
        state,
    )


def _no_node(pool: NodePool) -> ModelLoadingError:
    """Return the 503 a job gets when no Triton node can take it."""
    return ModelLoadingError(
        f"no Triton node can take the generation now ({pool.summary()}); try again in "
        f"{NO_NODE_RETRY_SECONDS} s",
        retry_after=NO_NODE_RETRY_SECONDS,
    )


def _failed_midway(node: TritonNode, failure: NodeFailure) -> ModelFailedError:
    """Return the 500 a job gets when its node failed after the generation had started."""
    where = "" if failure.last_step is None else f" after step {failure.last_step}"
    return ModelFailedError(
        f"the Triton node grpc://{node.target} failed during the generation{where} "
        f"({failure.reason}); the picture is lost: try again"
    )
