"""The node's cancel board and cancel model, without processes."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from dalle_frame_server.api.generation_queue import GenerationJob
from dalle_frame_server.generation.text_to_image import GenerationRequest
from dalle_frame_server.triton.node_cancel import CancelBoard, CancelModel, job_id_of
from dalle_frame_server.triton.protocol import cancelled_event


def test_board_remembers_cancelled_jobs_and_counts() -> None:
    """A cancel is remembered; the answer says whether the job is on the node now."""
    board = CancelBoard()
    board.arrived(["a", None])
    assert board.cancel("a") is True  # running here: it stops at its next step
    assert board.cancel("b") is False  # not seen yet: skipped if it comes
    assert board.is_cancelled("a") and board.is_cancelled("b")
    assert not board.is_cancelled("c") and not board.is_cancelled(None)
    assert board.on_node() == 1
    board.left(["a", None])
    assert board.on_node() == 0
    assert board.cancel("a") is False
    board.count_stopped("a", 12)
    board.count_skipped("b")
    assert board.as_json() == {"received": 3, "stopped": 1, "skipped": 1}


def test_board_forgets_the_oldest_and_the_stale() -> None:
    """At most `max_remembered` names, none older than `keep_seconds`."""
    board = CancelBoard(max_remembered=2)
    for name in ("a", "b", "c"):
        board.cancel(name)
    assert not board.is_cancelled("a")
    assert board.is_cancelled("b") and board.is_cancelled("c")
    stale = CancelBoard(keep_seconds=-1.0)  # every name is stale at once
    stale.cancel("a")
    stale.cancel("b")
    assert not stale.is_cancelled("a") and not stale.is_cancelled("b")
    assert stale.received == 2


def test_cancel_model_answers_each_request() -> None:
    """`dalle_frame_cancel` marks every job it gets and answers stopping or noted."""
    board = CancelBoard()
    board.arrived(["running"])
    requests = [{"job": np.array([name.encode()], dtype=object)} for name in ("running", "later")]
    answers = asyncio.run(CancelModel(board)(requests))
    states = [bytes(answer["cancel_state"].reshape(-1)[0]) for answer in answers]
    assert states == [b"stopping", b"noted"]
    assert board.is_cancelled("running") and board.is_cancelled("later")


def test_job_id_of_a_request() -> None:
    """The optional `job` input: its text, or None when absent or empty."""
    named: dict[str, Any] = {"job": np.array([[b"abc"]], dtype=object)}
    assert job_id_of(named) == "abc"
    assert job_id_of({}) is None
    assert job_id_of({"job": np.array([[b""]], dtype=object)}) is None


def test_cancelled_event_says_where() -> None:
    """The last event of a cancelled request names the job and the step."""
    event = cancelled_event("abc", 7)
    assert (event["type"], event["code"], event["status"]) == ("error", "cancelled", 499)
    assert "abc" in event["message"] and "step 7" in event["message"]
    assert "before its first step" in cancelled_event("abc", None)["message"]


def test_abandon_calls_the_hook_once() -> None:
    """`GenerationJob.abandon` tells its hook (the Triton front's cancel) the first time only."""
    calls: list[str] = []

    async def run() -> None:
        job = GenerationJob(
            GenerationRequest(prompt="x", seed=1), asyncio.get_running_loop().create_future()
        )
        job.on_abandon = lambda: calls.append("cancel")
        job.abandon()
        job.abandon()
        assert job.abandoned

    asyncio.run(run())
    assert calls == ["cancel"]
