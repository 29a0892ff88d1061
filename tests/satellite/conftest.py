"""Fixtures: a local Home Assistant stand-in, token files, settings and a running satellite."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from dalle_frame_satellite.config import parse_config
from dalle_frame_satellite.satellite import Satellite
from dalle_frame_satellite.settings import SatelliteSettings
from tests.satellite.fake_ha import FakeHomeAssistant

TOKEN = "eyJhbGciOiJIUzI1NiJ9.satellite-test-token.c2VjcmV0LXNpZ25hdHVyZQ"
TIMEOUT = 10.0


async def wait_until(predicate: Callable[[], Any], seconds: float = TIMEOUT) -> None:
    """Poll predicate until it is true; fail the test after the given seconds."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def mock_pins() -> Any:
    """gpiozero on mock pins, released after each test."""
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    if Device.pin_factory is not None:
        Device.pin_factory.reset()
        Device.pin_factory.close()
    Device.pin_factory = None


@pytest.fixture
async def fake_ha() -> AsyncIterator[FakeHomeAssistant]:
    """A running Home Assistant stand-in on 127.0.0.1."""
    ha = FakeHomeAssistant(token=TOKEN)
    await ha.start()
    yield ha
    await ha.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """The token in a file with mode 0600."""
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def make_settings(tmp_path: Path, token_file: Path) -> Callable[..., SatelliteSettings]:
    """Build validated settings for a file display, with fast reconnects; sections override."""

    def make(url: str, **sections: Any) -> SatelliteSettings:
        raw: dict[str, Any] = {
            "home_assistant": {
                "url": url,
                "token_file": str(token_file),
                "reconnect_min_seconds": 0.05,
                "reconnect_max_seconds": 0.2,
                "heartbeat_seconds": 1.0,
                "request_timeout_seconds": 5,
                "service_timeout_seconds": 10,
            },
            "display": {"type": "file", "path": str(tmp_path / "frame.png")},
            "gpio": {"pin_factory": "mock", "debounce_seconds": 0.2},
        }
        for name, section in sections.items():
            if isinstance(section, dict) and isinstance(raw.get(name), dict):
                raw[name] = {**raw[name], **section}
            else:
                raw[name] = section
        return parse_config(raw, tmp_path)

    return make


@contextlib.asynccontextmanager
async def running(satellite: Satellite) -> AsyncIterator[Satellite]:
    """Run the satellite in a task; stop it (and surface its errors) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(satellite.run(stop))
    await wait_until(lambda: satellite.link is not None or task.done())
    if task.done():
        task.result()
    try:
        yield satellite
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)


async def wait_connected(satellite: Satellite) -> None:
    """Wait until the satellite holds a live Home Assistant connection."""
    await wait_until(lambda: satellite.link is not None and satellite.link.connection is not None)


async def wait_shown(satellite: Satellite, digest_before: str | None) -> None:
    """Wait until the panel shows something other than digest_before and the follower is idle."""
    await wait_until(
        lambda: (
            satellite.follower is not None
            and satellite.follower.shown_digest != digest_before
            and satellite.follower.idle.is_set()
        )
    )
