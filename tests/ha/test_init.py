"""Setting up, retrying, unloading and removing a frame."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.history import FrameHistory

from .conftest import BlockingIoDetector
from .fake_server import FakeGpuServer


async def test_setup_retries_until_the_server_answers(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    blocking_io: BlockingIoDetector,
    server: FakeGpuServer,
    mock_entry: MockConfigEntry,
) -> None:
    """A server that is down at start-up makes HA retry; it loads once the server is up."""
    await server.stop()
    mock_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_entry.entry_id)
    assert mock_entry.state is ConfigEntryState.SETUP_RETRY
    assert "Cannot reach the GPU server" in str(mock_entry.reason)
    assert hass.states.get("image.frame_frame") is None

    await server.start()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("image.frame_frame") is not None


async def test_setup_while_models_load(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    server: FakeGpuServer,
    mock_entry: MockConfigEntry,
) -> None:
    """A server still loading its models is reachable: the frame loads."""
    server.health_status = "loading"
    server.generator_ready = False
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    assert mock_entry.runtime_data.coordinator.data.ready is False


async def test_unload_and_remove(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_storage: dict,
) -> None:
    """Unloading keeps the pictures and state; removing the frame deletes them."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    folder = Path(hass.config.path("dalle_frame", loaded_entry.entry_id))
    assert await hass.async_add_executor_job(folder.is_dir)

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert hass_storage[f"{DOMAIN}.{loaded_entry.entry_id}"]["data"]["prompt"] == "a red car"
    assert await hass.async_add_executor_job(folder.is_dir)

    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert not await hass.async_add_executor_job(folder.exists)
    assert f"{DOMAIN}.{loaded_entry.entry_id}" not in hass_storage


async def test_auto_mode_saved_without_next_run(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    server: FakeGpuServer,
    mock_entry: MockConfigEntry,
    hass_storage: dict,
) -> None:
    """Auto mode saved as on without a next run starts a fresh interval."""
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_entry.entry_id}",
        "data": {"auto_enabled": True, "auto_interval_minutes": 10},
    }
    mock_entry.add_to_hass(hass)
    before = dt_util.utcnow()
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    next_run = mock_entry.runtime_data.controller.auto.next_run
    assert before + timedelta(minutes=10) <= next_run <= dt_util.utcnow() + timedelta(minutes=10)


async def test_history_unreadable_at_start(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    server: FakeGpuServer,
    mock_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A history folder that cannot be read (disk error) leaves an empty frame, not a crash."""

    def failing_items(self: FrameHistory) -> list:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(FrameHistory, "items", failing_items)
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    assert mock_entry.runtime_data.controller.art is None
    assert "Cannot read the history folder" in caplog.text


async def test_broken_newest_picture_at_start(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A damaged picture file in the history is not shown after a restart."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    art_id = loaded_entry.runtime_data.controller.art.item_id
    folder = Path(hass.config.path("dalle_frame", loaded_entry.entry_id))
    await hass.async_add_executor_job(
        (folder / f"{art_id}.png").write_bytes, b"\x89PNG\r\n\x1a\nbad"
    )
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    controller = loaded_entry.runtime_data.controller
    assert controller.art is None
    assert controller.frame_png is None
    assert "The newest picture in the history cannot be shown" in caplog.text


async def test_options_after_unload_and_prune_errors(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Pruning that fails is logged; options reaching a stopped frame change nothing."""

    def failing_prune(self: FrameHistory, keep: int) -> list:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(FrameHistory, "prune", failing_prune)
    hass.config_entries.async_update_entry(loaded_entry, options={"history_size": 3})
    await hass.async_block_till_done()
    assert "Cannot prune the history folder" in caplog.text

    controller = loaded_entry.runtime_data.controller
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    await controller.async_apply_options(controller.prompts)
    assert controller.frame_png is None


async def test_saved_state_with_odd_values(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    server: FakeGpuServer,
    mock_entry: MockConfigEntry,
    hass_storage: dict,
) -> None:
    """A saved state from another version or edited by hand falls back to defaults."""
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_entry.entry_id}",
        "data": {
            "prompt": 5,
            "auto_enabled": "yes",
            "auto_interval_minutes": 0,
            "auto_source": "sometimes",
            "next_auto_run": "not a time",
            "frame": {"art_id": "x", "updated": "2025-01-01T00:00:00"},
        },
    }
    mock_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    controller = mock_entry.runtime_data.controller
    assert controller.prompt is None
    assert not controller.auto.enabled
    assert controller.auto.interval_minutes == 60
    assert controller.auto.source == "random_mix"
    assert controller.auto.next_run is None
