"""Fixtures of the HA integration tests: a real HA (phcc), a real stand-in GPU server.

The integration package must be imported before HA loads custom integrations, or setup fails
with "Integration not found" (phcc mounts its own testing_config/custom_components).
"""

from __future__ import annotations

import asyncio
import builtins
import io
import os
import sys
import threading
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant import block_async_io
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

import custom_components.dalle_frame  # first: before HA loads custom integrations
from custom_components.dalle_frame.const import CONF_TOKEN, CONF_URL, DOMAIN

from .fake_server import FakeGpuServer

INTEGRATION_DIR = Path(custom_components.dalle_frame.__file__).parent
_DEBUG_HELPERS = ("linecache.py", "traceback.py")


@pytest.fixture
async def hass(hass: HomeAssistant, tmp_path: Path) -> AsyncGenerator[HomeAssistant]:
    """HA with its own config folder (phcc's is shared, inside site-packages)."""
    config_dir = tmp_path / "config"
    await hass.async_add_executor_job(config_dir.mkdir)
    hass.config.config_dir = str(config_dir)
    # Always loaded in a real HA; conversation (and so ai_task, a frame platform) needs it.
    assert await async_setup_component(hass, "homeassistant", {})
    yield hass


@pytest.fixture(autouse=True)
def no_deprecated_use(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail a test in which HA reports the integration for an API it deprecated.

    HA logs "Detected that custom integration 'dalle_frame' ..." for such a call (an update
    listener with a reloading config flow, a deprecated registry lookup, ...); each one
    stops working in a later release.
    """
    yield
    reported = [
        record.getMessage()
        for record in caplog.get_records("call")
        if "Detected that custom integration 'dalle_frame'" in record.getMessage()
    ]
    assert reported == []


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create the entities an integration leaves disabled by default as enabled (HA core's)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Keep snapshots in tests/ha/snapshots/ like HA core."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
async def server(socket_enabled: None) -> AsyncGenerator[FakeGpuServer]:
    """A running stand-in GPU server with a token (sockets stay limited to 127.0.0.1)."""
    fake = FakeGpuServer(token="test-server-token-4b1d")
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def mock_entry(server: FakeGpuServer) -> MockConfigEntry:
    """A config entry for the frame "Frame" using the stand-in server."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Frame",
        unique_id="frame",
        data={CONF_NAME: "Frame", CONF_URL: server.url, CONF_TOKEN: server.token},
        entry_id="01JFRAMEENTRY0000000000000",
    )


class BlockingIoDetector:
    """Records file-system calls made by the integration's code in the event loop thread.

    HA's own detector (homeassistant.block_async_io) is switched on as well, with the checks it
    skips in tests (open, listdir, scandir) included; its warnings are checked by the fixture.
    This one also sees the calls HA's does not patch (io.open as used by pathlib, os.stat,
    os.mkdir, os.replace, os.unlink).
    """

    _PATCHED = (
        (io, "open"),
        (builtins, "open"),
        (os, "open"),
        (os, "stat"),
        (os, "listdir"),
        (os, "scandir"),
        (os, "mkdir"),
        (os, "replace"),
        (os, "unlink"),
        (os, "rename"),
    )

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._loop_thread = threading.get_ident()
        self._originals: list[tuple[Any, str, Any]] = []

    def _wrap(self, name: str, original: Any) -> Any:
        def checked(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == self._loop_thread and _loop_running():
                frame = sys._getframe(1)
                while frame is not None:
                    if frame.f_code.co_filename.endswith(_DEBUG_HELPERS):
                        break  # tracebacks read source files for asyncio's debug mode
                    if frame.f_code.co_filename.startswith(str(INTEGRATION_DIR)):
                        where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
                        self.calls.append(f"{name}{args[:1]!r} at {where}")
                        break
                    frame = frame.f_back
            return original(*args, **kwargs)

        return checked

    def enable(self) -> None:
        for module, name in self._PATCHED:
            original = getattr(module, name)
            self._originals.append((module, name, original))
            setattr(module, name, self._wrap(f"{module.__name__}.{name}", original))

    def disable(self) -> None:
        for module, name, original in reversed(self._originals):
            setattr(module, name, original)
        self._originals.clear()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def blocking_io(caplog: pytest.LogCaptureFixture) -> Generator[BlockingIoDetector]:
    """Fail the test if the integration does blocking file I/O in the event loop."""
    detector = BlockingIoDetector()
    in_tests = block_async_io._IN_TESTS
    block_async_io._IN_TESTS = False
    block_async_io.enable()
    detector.enable()
    try:
        yield detector
    finally:
        detector.disable()
        for call in block_async_io._BLOCKED_CALLS.calls:
            setattr(call.object, call.function, call.original_func)
        block_async_io._BLOCKED_CALLS.calls.clear()
        block_async_io._IN_TESTS = in_tests
    ha_reports = [
        record.getMessage()
        for record in caplog.records
        if "Detected blocking call" in record.getMessage() and DOMAIN in record.getMessage()
    ]
    assert not ha_reports, ha_reports
    assert not detector.calls, detector.calls


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: BlockingIoDetector,
    mock_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The frame "Frame", set up against the stand-in server."""
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.LOADED
    return mock_entry
