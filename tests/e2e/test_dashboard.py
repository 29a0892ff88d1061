"""A real browser: headless Chromium opens a dashboard with the Art and Frame images."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from .checks import press_and_wait
from .chromium import open_page
from .conftest import ARTIFACTS, Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

DASHBOARD = "dalle-frame"


async def ws_command(stack: Stack, command: dict[str, Any]) -> Any:
    """Run one command on HA's WebSocket API as the demo user and return its result."""
    async with stack.session.ws_connect(f"{stack.ha.url}/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": stack.ha.access_token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, **command})
        reply = await ws.receive_json()
    assert reply.get("success"), reply
    return reply.get("result")


async def make_dashboard(stack: Stack) -> None:
    """Create a dashboard with picture cards of the Art and Frame image entities."""
    await ws_command(
        stack,
        {
            "type": "lovelace/dashboards/create",
            "url_path": DASHBOARD,
            "title": "Frame",
            "mode": "storage",
            "show_in_sidebar": True,
            "require_admin": False,
        },
    )
    cards = [
        {"type": "picture-entity", "entity": entity, "show_state": False}
        for entity in ("image.frame_art", "image.frame_frame")
    ]
    await ws_command(
        stack,
        {
            "type": "lovelace/config/save",
            "url_path": DASHBOARD,
            "config": {"views": [{"title": "Frame", "path": "frame", "cards": cards}]},
        },
    )


def login_script(stack: Stack) -> str:
    """JavaScript that puts the demo user's tokens where HA's frontend looks for them."""
    tokens = {
        "hassUrl": stack.ha.url,
        "clientId": f"{stack.ha.url}/",
        "access_token": stack.ha.tokens["access_token"],
        "refresh_token": stack.ha.tokens["refresh_token"],
        "token_type": "Bearer",
        "expires_in": stack.ha.tokens["expires_in"],
        "expires": int(time.time() * 1000) + 1000 * int(stack.ha.tokens["expires_in"]),
    }
    return f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"


async def test_dashboard_shows_art_and_frame(stack: Stack) -> None:
    """The dashboard loads both images (HTTP 200 from image_proxy); a screenshot is kept."""
    if (await stack.state("image.frame_art"))["state"] in ("unknown", "unavailable"):
        await press_and_wait(stack, "B")
    await make_dashboard(stack)
    async with open_page(stack.session) as page:
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=login_script(stack))
        await page.send("Page.navigate", url=f"{stack.ha.url}/{DASHBOARD}/frame")
        found = await page.wait_for_responses(
            ["/api/image_proxy/image.frame_art", "/api/image_proxy/image.frame_frame"], limit=90
        )
        await asyncio.sleep(3)  # let the cards paint the images before the screenshot
        screenshot = await page.screenshot()
    (ARTIFACTS / "dashboard.png").write_bytes(screenshot)
    for fragment, response in found.items():
        assert response.status == 200, f"{fragment}: HTTP {response.status}"
