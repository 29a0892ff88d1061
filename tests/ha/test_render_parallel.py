"""Tests of run_in_parallel: results in order, errors raised, no thread left behind."""

from __future__ import annotations

import threading

import pytest

from custom_components.dalle_frame.render.parallel import run_in_parallel


def test_results_come_back_in_task_order_from_separate_threads() -> None:
    """The first task runs on the caller's thread, the others on their own threads."""
    before = set(threading.enumerate())
    barrier = threading.Barrier(3, timeout=10)

    def task(value: int) -> tuple[int, str]:
        barrier.wait()  # all three run at the same time, or this times out
        return value, threading.current_thread().name

    results = run_in_parallel([lambda: task(1), lambda: task(2), lambda: task(3)])
    assert [value for value, _ in results] == [1, 2, 3]
    assert results[0][1] == threading.current_thread().name
    assert len({name for _, name in results}) == 3
    assert set(threading.enumerate()) == before


def test_one_task_runs_on_the_calling_thread() -> None:
    """A single task needs no thread."""
    assert run_in_parallel([threading.current_thread]) == [threading.current_thread()]


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_any_task_is_raised_after_all_tasks_finished(failing: int) -> None:
    """The error reaches the caller; the other task still ran to its end."""
    finished = threading.Event()

    def fail() -> None:
        raise ValueError("bad band")

    def work() -> None:
        finished.set()

    tasks = [work, work]
    tasks[failing] = fail
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match="bad band"):
        run_in_parallel(tasks)
    assert finished.is_set()
    assert set(threading.enumerate()) == before
