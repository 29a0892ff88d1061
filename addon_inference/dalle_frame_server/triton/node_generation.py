"""The generation model a Triton node binds: a decoupled, batched PyTriton infer function.

Triton's dynamic batcher hands the function the requests that arrived together (up to the
model's `max_batch_size`, only where the generator batches); the function runs them as one
`generate_pngs` turn in its own worker thread (one turn at a time per instance, as on the
single-process server) and streams, per model step, one progress event to each request, then
each request's result (event and PNG) or error. Requests the generator cannot take as one
batch (`can_batch`) run as consecutive turns of the same call; each turn's results go out as
soon as it ends (the others get a `wait` event, which the front ignores, as it ignores
whatever follows a request's result). A request the front cancels (`node_cancel.py`) is
dropped at its next step, or skipped when its whole turn was cancelled before it began.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import ApiError
from ..generation.text_to_image import GenerationRequest, Picture, TextToImage
from .node_cancel import CancelBoard, JobCancelled, job_id_of
from .protocol import (
    EVENT_OUTPUT,
    PNG_OUTPUT,
    REQUEST_INPUT,
    WAIT_EVENT,
    cancelled_event,
    decode_request,
    error_event,
    progress_event,
    result_event,
)

_LOGGER = logging.getLogger(__name__)

Response = dict[str, np.ndarray]


def response(event: dict[str, Any], png: bytes = b"") -> Response:
    """One Triton response: the event and the PNG (empty but on the result), batch of one."""
    return {
        EVENT_OUTPUT: np.array([[json.dumps(event).encode()]], dtype=object),
        PNG_OUTPUT: np.array([[png]], dtype=object),
    }


class GenerationModel:
    """One instance of the generation model: a loaded `TextToImage` and its worker thread."""

    def __init__(self, generator: TextToImage, board: CancelBoard) -> None:
        self._generator = generator
        self._board = board
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-turn")

    async def __call__(self, requests: Sequence[Any]) -> AsyncIterator[list[Response]]:
        """Stream the events of one batch of Triton requests (one list per yield)."""
        job_ids = [job_id_of(request) for request in requests]
        self._board.arrived(job_ids)
        try:
            async for responses in self._stream(requests, job_ids):
                yield responses
        finally:
            self._board.left(job_ids)

    async def _stream(
        self, requests: Sequence[Any], job_ids: Sequence[str | None]
    ) -> AsyncIterator[list[Response]]:
        """Yield the events of `__call__` for requests the front named `job_ids`."""
        loop = asyncio.get_running_loop()
        parsed = [_parse(request) for request in requests]
        finals = [response(_error_of(item)) for item in parsed]
        valid = [index for index, item in enumerate(parsed) if isinstance(item, GenerationRequest)]
        groups = await loop.run_in_executor(self._executor, self._plan, parsed, valid)
        latest: list[dict[str, Any] | None] = [None] * len(requests)
        news: asyncio.Queue[None] = asyncio.Queue()

        def reporter(index: int) -> Callable[[int, int], None]:
            job_id = job_ids[index]

            def progress(step: int, total: int) -> None:
                if job_id is not None and self._board.is_cancelled(job_id):
                    self._board.count_stopped(job_id, step)
                    raise JobCancelled(job_id, step)  # the generator drops this request

                def publish() -> None:
                    latest[index] = progress_event(step, total)
                    news.put_nowait(None)

                loop.call_soon_threadsafe(publish)

            return progress

        if len(valid) < len(parsed):
            yield [
                finals[index] if index not in valid else response(WAIT_EVENT)
                for index in range(len(parsed))
            ]
        for group in groups:
            if all(self._board.is_cancelled(job_ids[index]) for index in group):
                for index in group:
                    self._board.count_skipped(str(job_ids[index]))
                    finals[index] = response(cancelled_event(str(job_ids[index]), None))
                yield [
                    finals[index] if index in group else response(WAIT_EVENT)
                    for index in range(len(parsed))
                ]
                continue
            started = time.monotonic()
            outcome = loop.run_in_executor(
                self._executor,
                self._generator.generate_pngs,
                [_request(parsed[index]) for index in group],
                [reporter(index) for index in group],
            )
            outcome.add_done_callback(lambda _future: news.put_nowait(None))
            while not outcome.done():
                await news.get()
                if any(event is not None for event in latest):
                    yield [response(event or WAIT_EVENT) for event in latest]
                    latest = [None] * len(requests)
            seconds = time.monotonic() - started
            try:
                pictures: list[Picture | Exception] = outcome.result()
            except Exception as error:  # the whole turn failed (out of memory, a model error)
                _LOGGER.exception("The generation turn failed")
                pictures = [error] * len(group)
            for index, picture in zip(group, pictures, strict=True):
                if isinstance(picture, JobCancelled):
                    finals[index] = response(cancelled_event(picture.job_id, picture.step))
                else:
                    finals[index] = _final(picture, seconds)
            # The group's results go out now; the front stops listening to a request there.
            yield [
                finals[index] if index in group else response(WAIT_EVENT)
                for index in range(len(parsed))
            ]

    def _plan(
        self, parsed: Sequence[GenerationRequest | Exception], valid: Sequence[int]
    ) -> list[list[int]]:
        """Split the batch Triton formed into turns the generator takes (`can_batch`), in order.

        Runs in the worker thread: `can_batch` may probe the device the first time.
        """
        groups: list[list[int]] = []
        for index in valid:
            if groups and self._generator.can_batch(
                [_request(parsed[member]) for member in [*groups[-1], index]]
            ):
                groups[-1].append(index)
            else:
                groups.append([index])
        if len(valid) > 1:
            _LOGGER.info("Triton batched %d requests into %d turn(s)", len(valid), len(groups))
        return groups


def _parse(request: Any) -> GenerationRequest | Exception:
    """Decode one Triton request's JSON, or return why it cannot be served."""
    try:
        column = request[REQUEST_INPUT]
        if column.size != 1:
            return ValueError(f"send one generation request per Triton request, not {column.size}")
        return decode_request(bytes(column.reshape(-1)[0]))
    except (KeyError, ValueError) as error:
        return error


def _request(item: GenerationRequest | Exception) -> GenerationRequest:
    """Return a request `_plan` put in a turn (only decoded requests are)."""
    assert isinstance(item, GenerationRequest)
    return item


def _error_of(item: GenerationRequest | Exception) -> dict[str, Any]:
    """Return the error event of a request that could not be decoded."""
    return error_event(status=400, code="bad_request", message=str(item))


def _final(picture: Picture | Exception, seconds: float) -> Response:
    """Return the last response of one request: its PNG, or the error that stopped it."""
    if isinstance(picture, Picture):
        event = result_event(
            width=picture.width,
            height=picture.height,
            seconds=seconds,
            upscale_seconds=picture.upscale_seconds,
        )
        return response(event, picture.png)
    if isinstance(picture, ApiError):
        return response(
            error_event(status=picture.status, code=picture.code, message=picture.message)
        )
    return response(
        error_event(
            status=500,
            code="model_failed",
            message=f"the model failed on this request ({type(picture).__name__}: {picture})",
        )
    )
