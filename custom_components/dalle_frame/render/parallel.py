"""Run a few C-heavy steps of a render side by side on plain threads.

Pillow's resampling, point tables, Floyd-Steinberg quantizer and zlib's deflate release the
GIL, so two halves of such work run on two CPU cores at once. Threads are started per call
and always joined before returning (no pool outlives a render: Home Assistant's test harness
and shutdown expect no stray threads); starting one costs about 0.1 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_in_parallel(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``tasks`` at once (the first on the calling thread) and return their results.

    Every task is finished before this returns; the first exception raised by any task (in
    task order) is raised again here.
    """
    if len(tasks) == 1:
        return [tasks[0]()]
    results: list[T | None] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)

    def run(position: int) -> None:
        """Run one task, keeping its result or exception."""
        try:
            results[position] = tasks[position]()
        except BaseException as err:  # re-raised on the calling thread
            errors[position] = err

    threads = [
        threading.Thread(target=run, args=(position,), name=f"dalle_frame_render_{position}")
        for position in range(1, len(tasks))
    ]
    for thread in threads:
        thread.start()
    try:
        run(0)
    finally:
        for thread in threads:
            thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results  # type: ignore[return-value]
