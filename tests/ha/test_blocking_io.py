"""The blocking I/O detector used by the HA tests catches what it is meant to catch."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.dalle_frame.prompts import load_builtin_prompts

from .conftest import BlockingIoDetector


async def test_detector_sees_file_reads_in_the_loop(
    hass: HomeAssistant, blocking_io: BlockingIoDetector
) -> None:
    """Reading the prompt file inside the event loop is recorded; in the executor it is not."""
    await hass.async_add_executor_job(load_builtin_prompts)
    assert blocking_io.calls == []
    load_builtin_prompts()  # the mistake the detector exists for
    assert any("prompts.py" in call for call in blocking_io.calls)
    blocking_io.calls.clear()  # do not fail this test for the deliberate mistake
