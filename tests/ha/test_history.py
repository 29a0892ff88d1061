"""The history folder, its media source and HTTP view, and what happens if it is unwritable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from homeassistant.components.media_player import BrowseError
from homeassistant.components.media_source import (
    URI_SCHEME,
    Unresolvable,
    async_browse_media,
    async_resolve_media,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dalle_frame.const import CONF_HISTORY_SIZE, DOMAIN
from custom_components.dalle_frame.history import FrameHistory, history_folder
from custom_components.dalle_frame.models import Art

from .fake_server import FakeGpuServer, make_art_png

T0 = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)


def art(number: int, prompt: str = "a red car") -> Art:
    """A picture made `number` minutes after T0."""
    return Art(
        png=make_art_png(number),
        prompt=f"{prompt} {number}",
        seed=number,
        seconds=1.5,
        created=T0 + timedelta(minutes=number),
    )


def test_save_and_read(tmp_path: Path) -> None:
    """Saved pictures come back newest first, with their metadata and bytes."""
    history = FrameHistory(tmp_path / "frame")
    assert history.items() == []
    assert history.newest_art() is None
    for number in (1, 3, 2):
        assert history.save(art(number), keep=10) == len(history.items())
    items = history.items()
    assert [item.seed for item in items] == [3, 2, 1]
    assert items[0].prompt == "a red car 3"
    assert items[0].created == T0 + timedelta(minutes=3)
    assert history.newest_art() == art(3)
    assert history.read_png(items[-1].item_id) == make_art_png(1)
    assert sorted(path.name for path in (tmp_path / "frame").iterdir()) == sorted(
        f"{item.item_id}.{suffix}" for item in items for suffix in ("png", "json")
    )


def test_keeps_newest(tmp_path: Path) -> None:
    """Only the newest `keep` pictures stay."""
    history = FrameHistory(tmp_path)
    for number in range(6):
        history.save(art(number), keep=4)
    assert [item.seed for item in history.items()] == [5, 4, 3, 2]
    assert history.prune(2) == [art(3).item_id, art(2).item_id]
    assert len(list(tmp_path.iterdir())) == 4


def test_broken_items_are_skipped(tmp_path: Path) -> None:
    """Half-written or foreign files never break the listing."""
    history = FrameHistory(tmp_path)
    history.save(art(1), keep=10)
    history.save(art(2), keep=10)
    (tmp_path / f"{art(2).item_id}.json").write_text("{not json")
    (tmp_path / f"{art(3).item_id}.json").write_text(json.dumps({"prompt": "no png"}))
    (tmp_path / "notes.json").write_text("{}")
    (tmp_path / f".{art(4).item_id}.png.tmp").write_bytes(b"partial")
    assert [item.seed for item in history.items()] == [1]
    (tmp_path / f"{art(1).item_id}.png").unlink()
    assert history.items() == []


def test_item_ids_are_checked(tmp_path: Path) -> None:
    """Only well-formed ids map to files: no path tricks."""
    history = FrameHistory(tmp_path)
    for bad in ("../secrets", "20250401T120000000000Z-1/../../x", "", "a.png"):
        with pytest.raises(ValueError, match="not a history item id"):
            history.png_path(bad)


def test_remove_all(tmp_path: Path) -> None:
    """Removing a frame deletes its folder."""
    history = FrameHistory(tmp_path / "frame")
    history.save(art(1), keep=3)
    history.remove_all()
    assert not (tmp_path / "frame").exists()


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    """A write that fails leaves no temporary file behind."""
    history = FrameHistory(tmp_path)
    (tmp_path / f"{art(1).item_id}.png").mkdir()  # the rename onto a folder fails
    with pytest.raises(OSError):
        history.save(art(1), keep=3)
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{art(1).item_id}.png"]


async def test_generations_are_kept(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Each picture lands in <config>/dalle_frame/<entry_id>/, newest N kept (option)."""
    hass.config_entries.async_update_entry(loaded_entry, options={CONF_HISTORY_SIZE: 2})
    await hass.async_block_till_done()
    for prompt in ("one", "two", "three"):
        await hass.services.async_call(DOMAIN, "generate", {"prompt": prompt}, blocking=True)
    folder = history_folder(hass.config.config_dir, loaded_entry.entry_id)
    assert folder == Path(hass.config.path("dalle_frame", loaded_entry.entry_id))
    items = await hass.async_add_executor_job(FrameHistory(folder).items)
    assert [item.prompt for item in items] == ["three", "two"]
    assert loaded_entry.runtime_data.controller.history.count == 2

    hass.config_entries.async_update_entry(loaded_entry, options={CONF_HISTORY_SIZE: 1})
    await hass.async_block_till_done()
    items = await hass.async_add_executor_job(FrameHistory(folder).items)
    assert [item.prompt for item in items] == ["three"]


async def test_unwritable_history(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A history folder that cannot be written raises a repair issue; the art is still shown."""
    folder = history_folder(hass.config.config_dir, loaded_entry.entry_id)
    # A file where the folder should be: mkdir fails, as on a read-only or full disk.
    await hass.async_add_executor_job(folder.parent.mkdir, 0o755, True, True)
    await hass.async_add_executor_job(folder.write_text, "in the way")
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a red car"
    assert hass.states.get("sensor.frame_status").state == "idle"
    issue = issue_registry.async_get_issue(DOMAIN, f"history_unwritable_{loaded_entry.entry_id}")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders["folder"] == str(folder)
    assert "Cannot keep the new picture in the history folder" in caplog.text

    await hass.async_add_executor_job(folder.unlink)
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a blue car"}, blocking=True)
    assert (
        issue_registry.async_get_issue(DOMAIN, f"history_unwritable_{loaded_entry.entry_id}")
        is None
    )


async def test_media_source(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Frames are folders, pictures are their children; a picture resolves to a PNG URL."""
    assert await async_setup_component(hass, "media_source", {})
    for prompt in ("a red car", "a blue car"):
        await hass.services.async_call(DOMAIN, "generate", {"prompt": prompt}, blocking=True)

    root = await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}")
    assert [child.title for child in root.children] == ["Frame"]
    frame = await async_browse_media(hass, root.children[0].media_content_id)
    assert [child.title.split(" (")[0] for child in frame.children] == ["a blue car", "a red car"]
    picture = frame.children[0]
    assert picture.can_play
    assert picture.media_content_type == "image/png"

    resolved = await async_resolve_media(hass, picture.media_content_id, None)
    assert resolved.mime_type == "image/png"
    assert resolved.url.startswith(f"/api/dalle_frame/history/{loaded_entry.entry_id}/")
    client = await hass_client()
    response = await client.get(resolved.url.split("?")[0])
    assert response.status == HTTPStatus.OK
    assert await response.read() == loaded_entry.runtime_data.controller.art.png
    anonymous = await hass_client(access_token=None)
    assert (await anonymous.get(picture.thumbnail)).status == HTTPStatus.UNAUTHORIZED


async def test_media_source_errors(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """Unknown frames and pictures are errors, never files outside the history."""
    assert await async_setup_component(hass, "media_source", {})
    empty = await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}/{loaded_entry.entry_id}")
    assert empty.children == []
    with pytest.raises(BrowseError):
        await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}/unknown-entry")
    with pytest.raises(BrowseError):
        await async_browse_media(hass, f"{URI_SCHEME}{DOMAIN}/{loaded_entry.entry_id}/x")
    for identifier in (
        f"{loaded_entry.entry_id}/../../secrets",
        "unknown-entry/20250401T120000000000Z-1",
        loaded_entry.entry_id,
    ):
        with pytest.raises(Unresolvable):
            await async_resolve_media(hass, f"{URI_SCHEME}{DOMAIN}/{identifier}", None)

    client = await hass_client()
    for path in (
        f"/api/dalle_frame/history/{loaded_entry.entry_id}/20250401T120000000000Z-1.png",
        "/api/dalle_frame/history/unknown/20250401T120000000000Z-1.png",
        f"/api/dalle_frame/history/{loaded_entry.entry_id}/..%2F..%2Fsecrets.png",
    ):
        # HA's own security filter already answers 400 to the encoded traversal.
        status = (await client.get(path)).status
        assert status in (HTTPStatus.NOT_FOUND, HTTPStatus.BAD_REQUEST), path
