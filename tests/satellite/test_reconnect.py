"""The satellite survives Home Assistant being down, restarting, and the network dropping."""

from __future__ import annotations

import logging

from dalle_frame_satellite.satellite import Satellite
from tests.satellite.conftest import running, wait_connected, wait_shown, wait_until
from tests.satellite.fake_ha import FakeHomeAssistant, palette_png
from tests.satellite.net_proxy import CuttableProxy

from .conftest import TOKEN


async def test_home_assistant_down_at_start(make_settings, caplog) -> None:
    """Nothing listens yet: the satellite retries with backoff and connects once HA is up."""
    caplog.set_level(logging.INFO)
    ha = FakeHomeAssistant(token=TOKEN)
    await ha.start()
    port = ha.port
    await ha.stop()  # the port is known, nothing listens on it
    satellite = Satellite(make_settings(f"http://127.0.0.1:{port}"))
    async with running(satellite):
        await wait_until(lambda: caplog.text.count("Cannot reach Home Assistant") >= 3)
        assert satellite.link.connection is None
        await ha.set_frame(palette_png(seed=1))
        await ha.start()
        await wait_connected(satellite)
        await wait_shown(satellite, None)
    await ha.stop()
    assert "Retrying in" in caplog.text


async def test_home_assistant_restart(fake_ha, make_settings, caplog) -> None:
    """HA goes away and comes back with a new picture: reconnect, resubscribe, show it."""
    caplog.set_level(logging.INFO)
    await fake_ha.set_frame(palette_png(seed=1))
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_shown(satellite, None)
        first = satellite.follower.shown_digest
        await fake_ha.stop()
        await wait_until(lambda: satellite.link.connection is None)
        await wait_until(lambda: "Cannot reach Home Assistant" in caplog.text)
        # While HA was down, the picture changed (e.g. auto mode ran right after the restart).
        fake_ha.frame_png, fake_ha.frame_state = palette_png(seed=2), "2026-01-02T00:00:00+00:00"
        await fake_ha.start()
        await wait_connected(satellite)
        await wait_shown(satellite, first)
        subscriptions = [c for c in fake_ha.commands if c["type"] == "subscribe_entities"]
        assert len(subscriptions) == 2
    assert "Disconnected from Home Assistant" in caplog.text


async def test_network_cut_and_restored(fake_ha, make_settings, caplog) -> None:
    """Packets vanish (no FIN): the heartbeat notices, the satellite reconnects when it returns."""
    caplog.set_level(logging.INFO)
    proxy = CuttableProxy(fake_ha.port)
    await proxy.start()
    await fake_ha.set_frame(palette_png(seed=1))
    satellite = Satellite(make_settings(proxy.url, home_assistant={"heartbeat_seconds": 0.4}))
    try:
        async with running(satellite):
            await wait_shown(satellite, None)
            first = satellite.follower.shown_digest
            proxy.cut()
            await fake_ha.set_frame(palette_png(seed=2))  # lost: the network is down
            await wait_until(lambda: satellite.link.connection is None)
            assert satellite.follower.shown_digest == first
            await proxy.restore()
            await wait_connected(satellite)
            await wait_shown(satellite, first)  # the picture that changed meanwhile
    finally:
        await proxy.close()
    assert "Disconnected from Home Assistant" in caplog.text


async def test_rejected_token_is_reported_and_reread(fake_ha, make_settings, token_file, caplog):
    """A wrong token: a clear error naming the token file; a fixed file is used next attempt."""
    caplog.set_level(logging.INFO)
    token_file.write_text("wrong-token-value-123456\n")
    satellite = Satellite(make_settings(fake_ha.url))
    async with running(satellite):
        await wait_until(lambda: "rejected the access token" in caplog.text)
        assert str(token_file) in caplog.text
        token_file.write_text(TOKEN)
        await wait_connected(satellite)
    assert "wrong-token-value-123456" not in caplog.text
