"""A frame button on the satellite -> Home Assistant -> GPU server -> a new picture on the panel."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.stack import wait_for

from .checks import GENERATION_LIMIT, assert_panel_picture, press_and_wait
from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_new_prompt_button_paints_a_new_picture(stack: Stack) -> None:
    """Button B: a new prompt from the list, new art, a panel-ready picture on the frame."""
    png = await press_and_wait(stack, "B")
    assert_panel_picture(png)
    prompt = await stack.state("text.frame_prompt")
    assert prompt["state"] not in ("", "unknown", "unavailable")
    status = await stack.state("sensor.frame_status")
    assert status["state"] == "idle"
    art = await stack.state("image.frame_art")
    assert art["state"] not in ("unknown", "unavailable")


async def test_regenerate_button_keeps_the_prompt(stack: Stack) -> None:
    """Button A: the same prompt with a new seed gives a different picture."""
    prompt_before = (await stack.state("text.frame_prompt"))["state"]
    picture_before = stack.satellite.output.read_bytes()
    png = await press_and_wait(stack, "A")
    assert_panel_picture(png)
    assert (await stack.state("text.frame_prompt"))["state"] == prompt_before
    assert hashlib.sha256(png).digest() != hashlib.sha256(picture_before).digest()


async def test_speak_button_paints_what_was_heard(stack: Stack) -> None:
    """Button C: the WAV goes to HA's STT entity, then generate runs with exactly that text.

    The `test` ASR model has random weights, so the text is noise: the test follows the path,
    not the words. Empty text must be logged as "nothing heard" and generate nothing.
    """
    transcriptions_before = stack.server_log().count("Transcribed ")
    heard_before = len(stack.satellite.log_lines("Heard: "))
    nothing_before = len(stack.satellite.log_lines("Nothing heard"))
    refreshes_before = stack.satellite.refresh_count()
    await stack.satellite.press("C")

    async def outcome() -> str | None:
        if len(stack.satellite.log_lines("Heard: ")) > heard_before:
            return "heard"
        if len(stack.satellite.log_lines("Nothing heard")) > nothing_before:
            return "nothing"
        return None

    result = await wait_for(outcome, "the satellite to hear the spoken prompt", 120)
    assert stack.server_log().count("Transcribed ") > transcriptions_before, (
        "HA's STT entity did not call the GPU server"
    )
    if result == "nothing":
        assert stack.satellite.refresh_count() == refreshes_before
        return
    line = stack.satellite.log_lines("Heard: ")[-1]
    heard = eval_repr(line.split("Heard: ", 1)[1])
    await stack.satellite.wait_for_refresh(after=refreshes_before, limit=GENERATION_LIMIT)
    assert_panel_picture(stack.satellite.output.read_bytes())
    assert (await stack.state("text.frame_prompt"))["state"] == heard[:255]


def eval_repr(text: str) -> str:
    """Read back a string the satellite logged with %r (only plain quoted strings)."""
    match = re.fullmatch(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text.strip())
    assert match, f"not a quoted string: {text!r}"
    body = match.group(1) if match.group(1) is not None else match.group(2)
    return body.encode().decode("unicode_escape")
