"""A real browser: the frame's options dialog opens from the integration's page."""

from __future__ import annotations

import asyncio

import pytest

from .chromium import open_page
from .conftest import Stack
from .screenshots import keep_screenshot, login_script

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_options_dialog(stack: Stack) -> None:
    """Configure on Settings > Devices & services > AI Art Frame opens the options form,
    with the integration's own texts; a screenshot is kept (the user guide's)."""
    async with open_page(stack.session) as page:
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=login_script(stack))
        await page.send(
            "Page.navigate", url=f"{stack.ha.url}/config/integrations/integration/dalle_frame"
        )
        await page.wait_for_text("AI Art Frame", limit=90)
        await page.click_labelled("Configure", limit=60)
        await page.wait_for_text("Frame options", limit=60)
        await page.wait_for_text("Pictures to keep", limit=30)
        await asyncio.sleep(2)  # let the dialog's opening animation finish
        keep_screenshot("options_dialog.png", await page.screenshot())
