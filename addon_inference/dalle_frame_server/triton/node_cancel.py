"""Stopping a generation on the node when the front says its client left.

The front names every generation request (the `job` input) and, when that request's client
goes away, calls the node's `dalle_frame_cancel` model with the name. `CancelBoard` remembers
the names (thread-safe: the cancel model runs on PyTriton's event loop, the progress callbacks
in the generation worker thread). A running request's progress callback then raises
`JobCancelled`, so the generator drops that request at its next step (as the single-process
queue drops a request whose client left; the other requests of its batch go on); a request
cancelled before its turn is skipped. The counts show in the node's info (`cancellations`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from .protocol import CANCEL_STATE_OUTPUT, JOB_INPUT

_LOGGER = logging.getLogger(__name__)

KEEP_SECONDS: Final = 3600.0
"""How long a cancelled name is remembered (a request may still wait in Triton's queue)."""
MAX_REMEMBERED: Final = 10_000
"""At most this many cancelled names are kept (the oldest go first)."""


class JobCancelled(Exception):
    """Raised by a cancelled request's progress callback: the generator drops the request."""

    def __init__(self, job_id: str, step: int) -> None:
        super().__init__(f"job {job_id} was cancelled at step {step}")
        self.job_id = job_id
        self.step = step


class CancelBoard:
    """The names of cancelled requests, the requests on the node now, and the counts."""

    def __init__(
        self, *, keep_seconds: float = KEEP_SECONDS, max_remembered: int = MAX_REMEMBERED
    ) -> None:
        self._keep_seconds = keep_seconds
        self._max_remembered = max_remembered
        self._lock = threading.Lock()
        self._cancelled: OrderedDict[str, float] = OrderedDict()
        self._on_node: set[str] = set()
        self.received = 0
        """Cancel calls received."""
        self.stopped = 0
        """Requests stopped mid-generation (dropped from their turn at a step)."""
        self.skipped = 0
        """Requests cancelled before their turn began (never run)."""

    def cancel(self, job_id: str) -> bool:
        """Remember that `job_id` must stop; True when the request is on the node now."""
        now = time.monotonic()
        with self._lock:
            self.received += 1
            self._cancelled[job_id] = now
            self._cancelled.move_to_end(job_id)
            while self._cancelled and (
                len(self._cancelled) > self._max_remembered
                or next(iter(self._cancelled.values())) < now - self._keep_seconds
            ):
                self._cancelled.popitem(last=False)
            return job_id in self._on_node

    def is_cancelled(self, job_id: str | None) -> bool:
        """Whether the front cancelled this request (a request without a name: never)."""
        if job_id is None:
            return False
        with self._lock:
            return job_id in self._cancelled

    def arrived(self, job_ids: Sequence[str | None]) -> None:
        """Note requests the node holds now (until `left`)."""
        with self._lock:
            self._on_node.update(job_id for job_id in job_ids if job_id is not None)

    def left(self, job_ids: Sequence[str | None]) -> None:
        """Note requests whose last response went out."""
        with self._lock:
            self._on_node.difference_update(job_ids)

    def count_stopped(self, job_id: str, step: int) -> None:
        """Count (and log) a request dropped at `step` of its generation."""
        with self._lock:
            self.stopped += 1
        _LOGGER.info(
            "Stopped job %s at step %d: its client left (the front cancelled it)", job_id, step
        )

    def count_skipped(self, job_id: str) -> None:
        """Count (and log) a request cancelled before its turn began."""
        with self._lock:
            self.skipped += 1
        _LOGGER.info(
            "Skipped job %s before its turn: its client left (the front cancelled it)", job_id
        )

    def on_node(self) -> int:
        """How many named requests the generation model holds now (running or waiting)."""
        with self._lock:
            return len(self._on_node)

    def as_json(self) -> dict[str, int]:
        """Return the counts the node's info shows."""
        with self._lock:
            return {"received": self.received, "stopped": self.stopped, "skipped": self.skipped}


class CancelModel:
    """`dalle_frame_cancel`: marks each request's job as cancelled."""

    def __init__(self, board: CancelBoard) -> None:
        self._board = board

    async def __call__(self, requests: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """Cancel the named jobs; answer "stopping" for those on the node, else "noted"."""
        answers = []
        for request in requests:
            job_id = bytes(request[JOB_INPUT].reshape(-1)[0]).decode()
            on_node = self._board.cancel(job_id)
            _LOGGER.info(
                "The front cancelled job %s (%s)",
                job_id,
                "on the node" if on_node else "not seen yet",
            )
            state = b"stopping" if on_node else b"noted"
            answers.append({CANCEL_STATE_OUTPUT: np.array([state], dtype=object)})
        return answers


def job_id_of(request: Any) -> str | None:
    """Return the name the front gave a generation request (None: the request has none)."""
    try:
        column = request[JOB_INPUT]
    except KeyError:
        return None
    if column.size != 1:
        return None
    return bytes(column.reshape(-1)[0]).decode() or None
