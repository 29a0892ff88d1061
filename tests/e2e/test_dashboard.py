"""A real browser: headless Chromium opens a dashboard with the Art and Frame images."""

from __future__ import annotations

import asyncio

import pytest

from .checks import press_and_wait
from .chromium import open_page
from .conftest import Stack
from .screenshots import keep_screenshot, login_script

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_dashboard_shows_art_and_frame(stack: Stack) -> None:
    """The dashboard loads both images (HTTP 200 from image_proxy); a screenshot is kept
    (screenshots.py: also the user guide's, on request)."""
    if (await stack.state("image.frame_art"))["state"] in ("unknown", "unavailable"):
        await press_and_wait(stack, "B")
    dashboard = await stack.ha.add_dashboard(stack.session)
    async with open_page(stack.session) as page:
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=login_script(stack))
        await page.send("Page.navigate", url=f"{stack.ha.url}{dashboard}")
        found = await page.wait_for_responses(
            ["/api/image_proxy/image.frame_art", "/api/image_proxy/image.frame_frame"], limit=90
        )
        await page.set_viewport(1280, 1150)  # tall enough for both images
        await asyncio.sleep(3)  # let the cards paint the images before the screenshot
        screenshot = await page.screenshot()
    keep_screenshot("dashboard.png", screenshot)
    for fragment, response in found.items():
        assert response.status == 200, f"{fragment}: HTTP {response.status}"
