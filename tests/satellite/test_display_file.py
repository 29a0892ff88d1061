"""The file display: each picture becomes a palette PNG, written atomically."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dalle_frame_satellite.display import create_display
from dalle_frame_satellite.errors import DisplayError
from dalle_frame_satellite.image_prep import PanelImage
from dalle_frame_satellite.panels import panel_by_name
from dalle_frame_satellite.settings import DisplaySettings, DisplayType


async def test_writes_the_panel_picture(tmp_path) -> None:
    """The PNG has the panel's size, the indices shown and the panel's colours; no temp files."""
    path = tmp_path / "frame.png"
    settings = DisplaySettings(type=DisplayType.FILE, model="inky_impression_7_3", path=path)
    display = create_display(settings)
    await display.open()
    panel = panel_by_name("inky_impression_7_3")
    indices = np.random.default_rng(1).integers(0, 7, (480, 800), np.uint8)
    await display.show(PanelImage(panel, indices, converted=False))
    with Image.open(path) as image:
        assert image.mode == "P" and image.size == (800, 480)
        assert (np.array(image) == indices).all()
        palette = image.getpalette()[:21]
    assert palette == [c for rgb in panel.blended_palette(0.5) for c in rgb]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.png"]
    assert display.describe() == f'file {path} (Inky Impression 7.3" (7 colours, 800x480))'


async def test_folder_problems_are_reported(tmp_path) -> None:
    """A missing folder, an unwritable target or no path at all: DisplayError with the reason."""
    missing = DisplaySettings(type=DisplayType.FILE, path=tmp_path / "nope" / "frame.png")
    with pytest.raises(DisplayError, match="does not exist"):
        await create_display(missing).open()
    with pytest.raises(DisplayError, match=r"needs display\.path"):
        create_display(DisplaySettings(type=DisplayType.FILE))
    blocked = tmp_path / "frame.png"
    blocked.mkdir()  # a folder where the file should go: os.replace fails
    display = create_display(DisplaySettings(type=DisplayType.FILE, path=blocked))
    await display.open()
    panel = panel_by_name("inky_impression_5_7")
    with pytest.raises(DisplayError, match="cannot write"):
        await display.show(PanelImage(panel, np.zeros((448, 600), np.uint8), converted=False))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.png"]
