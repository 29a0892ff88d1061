"""Brand images: the sizes Home Assistant's brands rules and the add-on store want.

Integration (`custom_components/dalle_frame/brand/`, served by HA 2026.3+): PNG, icon square
256x256 with icon@2x 512x512, logo landscape with its shortest side 128 (@2x: 256, exactly
twice the 1x), transparent background, trimmed (no empty border). Add-on: icon.png 128x128,
logo.png 250x100. All drawn by scripts/brand_images.py, which must still draw them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
BRAND = ROOT / "custom_components" / "dalle_frame" / "brand"
# HA's brand file names (developers.home-assistant.io, brand images; blog 2026-02-24).
ALLOWED = {
    f"{dark}{kind}{scale}.png"
    for dark in ("", "dark_")
    for kind in ("icon", "logo")
    for scale in ("", "@2x")
}


def _open(path: Path) -> Image.Image:
    image = Image.open(path)
    assert image.format == "PNG", path.name
    return image


def test_brand_folder_holds_only_known_images() -> None:
    """Only names HA serves; the icon and the logo at both sizes are there."""
    names = {path.name for path in BRAND.iterdir()}
    assert names <= ALLOWED
    assert {"icon.png", "icon@2x.png", "logo.png", "logo@2x.png"} <= names


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_icons(name: str, size: int) -> None:
    """Square, 256 or 512 pixels, transparent outside the art, trimmed."""
    image = _open(BRAND / name)
    assert image.size == (size, size)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # rounded corner: transparent
    assert image.getbbox() == (0, 0, size, size)  # trimmed: the art reaches every edge


@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_logos(prefix: str) -> None:
    """Landscape, shortest side 128 (@2x 256, twice the 1x), transparent, trimmed."""
    if not (BRAND / f"{prefix}logo.png").exists():
        pytest.skip("no dark logo")
    small, large = _open(BRAND / f"{prefix}logo.png"), _open(BRAND / f"{prefix}logo@2x.png")
    assert small.height == 128 and small.width > small.height
    assert large.size == (2 * small.width, 2 * small.height)
    for image in (small, large):
        assert image.mode == "RGBA"
        alpha = image.getchannel("A")
        assert alpha.getextrema()[0] == 0  # a transparent background
        bbox = alpha.getbbox()
        assert bbox and bbox[0] == 0 and bbox[2] >= image.width - 4  # trimmed left and right


def test_dark_logo_text_is_light() -> None:
    """The dark-mode logo's name is light, the light-mode one's dark (the icon is shared)."""
    light, dark = _open(BRAND / "logo.png"), _open(BRAND / "dark_logo.png")
    box = (light.height + 20, 0, light.width, light.height)  # the name, right of the icon
    light_text = np.asarray(light.crop(box)).reshape(-1, 4)
    dark_text = np.asarray(dark.crop(box)).reshape(-1, 4)
    assert light_text[light_text[:, 3] > 200, :3].sum(axis=1).max() < 200
    assert dark_text[dark_text[:, 3] > 200, :3].sum(axis=1).min() > 600


def test_addon_images() -> None:
    """The add-on store's icon (128x128) and logo (250x100)."""
    assert _open(ROOT / "addon_inference" / "icon.png").size == (128, 128)
    assert _open(ROOT / "addon_inference" / "logo.png").size == (250, 100)


def test_images_are_the_scripts_drawing() -> None:
    """scripts/brand_images.py --check: every committed image is what the script draws."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "brand_images.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
