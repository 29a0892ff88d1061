"""The satellite follows the Frame image entity and refreshes the panel only for new pictures."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from dalle_frame_satellite.satellite import Satellite
from tests.satellite.conftest import running, wait_connected, wait_shown, wait_until
from tests.satellite.fake_ha import palette_png


def indices_of(png: bytes | Path) -> np.ndarray:
    """Pixel indices of a palette PNG (bytes or file)."""
    source = png if isinstance(png, Path) else io.BytesIO(png)
    with Image.open(source) as image:
        assert image.mode == "P"
        return np.array(image)


class CountingDisplayWrites:
    """Counts how often the file display rewrote its PNG."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: list[int] = []

    def changed(self) -> int:
        """Number of distinct modification times seen so far (call after each step)."""
        if self.path.exists():
            stamp = self.path.stat().st_mtime_ns
            if not self.seen or self.seen[-1] != stamp:
                self.seen.append(stamp)
        return len(self.seen)


async def test_initial_picture_is_shown_as_is(fake_ha, make_settings, tmp_path, caplog) -> None:
    """HA's palette image reaches the file display with identical indices."""
    caplog.set_level(logging.INFO)
    png = palette_png(seed=1)
    await fake_ha.set_frame(png)
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_shown(satellite, None)
    assert (indices_of(tmp_path / "frame.png") == indices_of(png)).all()
    assert f"showing {tmp_path / 'frame.png'}" in caplog.text
    assert f"Connected to Home Assistant 2025.4.4 at {fake_ha.url}" in caplog.text


async def test_new_picture_replaces_the_old_one(fake_ha, make_settings, tmp_path) -> None:
    """A state change of the Frame entity fetches and shows the new picture."""
    await fake_ha.set_frame(palette_png(seed=1))
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_shown(satellite, None)
        first = satellite.follower.shown_digest
        second_png = palette_png(seed=2)
        await fake_ha.set_frame(second_png)
        await wait_shown(satellite, first)
    assert (indices_of(tmp_path / "frame.png") == indices_of(second_png)).all()


async def test_same_picture_is_never_refreshed_twice(fake_ha, make_settings, tmp_path, caplog):
    """A new state with the same picture, attribute-only changes and reconnects refresh nothing."""
    caplog.set_level(logging.INFO)
    png = palette_png(seed=3)
    await fake_ha.set_frame(png)
    satellite = Satellite(make_settings(fake_ha.url))
    writes = CountingDisplayWrites(tmp_path / "frame.png")
    async with running(satellite):
        await wait_shown(satellite, None)
        assert writes.changed() == 1
        requests = fake_ha.image_requests

        # Same picture under a new state (HA re-rendered it): fetched, compared, skipped.
        await fake_ha.set_frame(png)
        await wait_until(lambda: fake_ha.image_requests == requests + 1)
        await wait_until(satellite.follower.idle.is_set)

        # The same picture encoded differently (other palette order): skipped by content hash.
        await fake_ha.set_frame(reencoded(png))
        await wait_until(lambda: fake_ha.image_requests == requests + 2)
        await wait_until(satellite.follower.idle.is_set)
        assert "already shows this picture" in caplog.text

        # The image entity's access_token rotates every few minutes: not even a fetch.
        await fake_ha.rotate_access_token()
        await fake_ha.rotate_access_token()

        # Home Assistant drops the connection; the satellite reconnects and checks again.
        await fake_ha.drop_connections()
        await wait_until(
            lambda: fake_ha.connected.is_set() and fake_ha.image_requests > requests + 2
        )
        await wait_until(satellite.follower.idle.is_set)
        assert fake_ha.image_requests == requests + 3
    assert writes.changed() == 1


def reencoded(png: bytes) -> bytes:
    """The same picture with its palette entries shuffled (different bytes, same colours)."""
    image = Image.open(io.BytesIO(png))
    order = [3, 0, 6, 1, 5, 2, 4]  # new index -> old index
    old = np.array(image)
    remap = np.zeros(256, dtype=np.uint8)
    for new_index, old_index in enumerate(order):
        remap[old_index] = new_index
    palette = image.getpalette()[: 3 * 7]
    shuffled = Image.frombytes("P", image.size, remap[old].tobytes())
    shuffled.putpalette([palette[3 * o + c] for o in order for c in range(3)])
    out = io.BytesIO()
    shuffled.save(out, format="PNG")
    assert out.getvalue() != png
    return out.getvalue()


async def test_changes_during_a_refresh_show_only_the_newest(fake_ha, make_settings, tmp_path):
    """Pictures arriving while the panel refreshes are folded into one refresh of the newest."""
    await fake_ha.set_frame(palette_png(seed=1))
    satellite = Satellite(make_settings(fake_ha.url))
    shown: list[str] = []
    original_show = satellite.display.show

    async def slow_show(image):
        shown.append(image.digest)
        await asyncio.sleep(0.3)  # a (much shortened) e-paper refresh
        await original_show(image)

    satellite.display.show = slow_show
    async with running(satellite):
        await wait_until(lambda: len(shown) == 1)
        await fake_ha.set_frame(palette_png(seed=2))
        await fake_ha.set_frame(palette_png(seed=3))
        newest = palette_png(seed=4)
        await fake_ha.set_frame(newest)
        await wait_until(lambda: len(shown) == 2)
        await wait_until(satellite.follower.idle.is_set)
    assert len(shown) == 2
    assert (indices_of(tmp_path / "frame.png") == indices_of(newest)).all()


async def test_broken_picture_keeps_the_previous_one(fake_ha, make_settings, tmp_path, caplog):
    """Truncated PNG, HTML instead of an image, HTTP 500: logged, the panel keeps its picture."""
    caplog.set_level(logging.INFO)
    good = palette_png(seed=5)
    await fake_ha.set_frame(good)
    satellite = Satellite(make_settings(fake_ha.url))
    writes = CountingDisplayWrites(tmp_path / "frame.png")
    async with running(satellite):
        await wait_shown(satellite, None)
        writes.changed()
        cases = [
            (200, "image/png", palette_png(seed=6)[:300], "broken picture"),
            (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "broken picture"),
            (200, "text/html", b"<html>login</html>", "not an image"),
            (500, "text/plain", b"Internal Server Error", "HTTP 500"),
        ]
        for status, content_type, body, reason in cases:
            requests = fake_ha.image_requests
            caplog.clear()
            fake_ha.image_status, fake_ha.image_content_type, fake_ha.image_body = (
                status,
                content_type,
                body,
            )
            await fake_ha.set_frame(palette_png(seed=7))
            await wait_until(lambda r=requests: fake_ha.image_requests == r + 1)
            await wait_until(satellite.follower.idle.is_set)
            assert reason in caplog.text
            assert "keeping the current one" in caplog.text
            assert writes.changed() == 1
        # HA recovers: the next picture is shown.
        fake_ha.image_status, fake_ha.image_body = 200, None
        before = satellite.follower.shown_digest
        await fake_ha.set_frame(palette_png(seed=8))
        await wait_shown(satellite, before)
    assert (indices_of(tmp_path / "frame.png") == indices_of(palette_png(seed=8))).all()


async def test_frame_without_picture_and_missing_entity(fake_ha, make_settings, caplog) -> None:
    """An unknown state fetches nothing; a missing entity is reported with what to check."""
    caplog.set_level(logging.INFO)
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_connected(satellite)
        await wait_until(lambda: "has no picture yet (unknown)" in caplog.text)
        assert fake_ha.image_requests == 0
    caplog.clear()
    satellite = Satellite(make_settings(fake_ha.url, home_assistant={"frame_entity": "image.x"}))
    async with running(satellite):
        await wait_connected(satellite)
        await wait_until(lambda: "Home Assistant has no entity image.x" in caplog.text)


async def test_state_file_prevents_refresh_after_restart(fake_ha, make_settings, tmp_path):
    """A restarted satellite does not refresh the panel for the picture it already shows."""
    await fake_ha.set_frame(palette_png(seed=9))
    settings = make_settings(fake_ha.url, state_file=str(tmp_path / "state.json"))
    satellite = Satellite(settings)
    async with running(satellite):
        await wait_shown(satellite, None)
    writes = CountingDisplayWrites(tmp_path / "frame.png")
    writes.changed()
    requests = fake_ha.image_requests
    restarted = Satellite(settings)
    async with running(restarted):
        await wait_until(lambda: fake_ha.image_requests == requests + 1)
        await wait_until(restarted.follower.idle.is_set)
    assert writes.changed() == 1
    assert restarted.follower.shown_digest == satellite.follower.shown_digest
