"""A real Home Assistant serves the integration's own brand images (HA 2026.3+)."""

from __future__ import annotations

import pytest

from tests.stack import ROOT

from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

BRAND = ROOT / "custom_components" / "dalle_frame" / "brand"


@pytest.mark.parametrize("image", sorted(path.name for path in BRAND.glob("*.png")))
async def test_brand_image_is_served(stack: Stack, image: str) -> None:
    """/api/brands/integration/dalle_frame/<image> answers the file from brand/, not the CDN's."""
    async with stack.session.get(
        f"{stack.ha.url}/api/brands/integration/dalle_frame/{image}",
        headers=stack.ha.headers,
        params={"placeholder": "no"},
    ) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "image/png"
        assert await response.read() == (BRAND / image).read_bytes()
