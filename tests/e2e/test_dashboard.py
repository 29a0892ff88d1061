"""A real browser: headless Chromium opens a dashboard with the Art and Frame images."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from .checks import press_and_wait
from .chromium import open_page
from .conftest import ARTIFACTS, Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
    dashboard = await stack.ha.add_dashboard(stack.session)
    async with open_page(stack.session) as page:
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=login_script(stack))
        await page.send("Page.navigate", url=f"{stack.ha.url}{dashboard}")
        found = await page.wait_for_responses(
            ["/api/image_proxy/image.frame_art", "/api/image_proxy/image.frame_frame"], limit=90
        )
        await asyncio.sleep(3)  # let the cards paint the images before the screenshot
        screenshot = await page.screenshot()
    (ARTIFACTS / "dashboard.png").write_bytes(screenshot)
    for fragment, response in found.items():
        assert response.status == 200, f"{fragment}: HTTP {response.status}"
