"""The file display: each picture is written as a palette PNG (demos, tests, no panel)."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from .display import Display
from .errors import DisplayError
from .image_prep import PanelImage
from .panels import DEFAULT_FILE_PANEL, panel_by_name
from .settings import DisplaySettings

_LOGGER = logging.getLogger(__name__)


class FileDisplay(Display):
    """Writes what the panel would show to a PNG file, replacing it atomically each time."""

    def __init__(self, settings: DisplaySettings) -> None:
        if settings.path is None:
            raise DisplayError("the file display needs display.path (the PNG file to write)")
        self._settings = settings
        self._path: Path = settings.path
        model = DEFAULT_FILE_PANEL if settings.model == "auto" else settings.model
        self.panel = panel_by_name(model)

    async def open(self) -> None:
        """Check that the output folder exists and is writable."""
        folder = self._path.parent
        if not folder.is_dir():
            raise DisplayError(f"the file display's folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise DisplayError(f"the file display cannot write to {folder}")

    async def show(self, image: PanelImage) -> None:
        """Write the picture in the panel's colours and log "showing <path>"."""
        await asyncio.to_thread(self._write, image)
        _LOGGER.info("showing %s", self._path)

    def _write(self, image: PanelImage) -> None:
        """Encode and atomically replace the output file."""
        picture = image.to_pil(self.panel.blended_palette(self._settings.saturation))
        handle, temporary = tempfile.mkstemp(
            prefix=f".{self._path.name}.", suffix=".tmp", dir=self._path.parent
        )
        try:
            with os.fdopen(handle, "wb") as output:
                picture.save(output, format="PNG")
            Path(temporary).chmod(0o644)
            Path(temporary).replace(self._path)
        except OSError as err:
            Path(temporary).unlink(missing_ok=True)
            raise DisplayError(f"cannot write {self._path}: {err.strerror or err}") from err

    def describe(self) -> str:
        """Return "file <path> (<panel>)"."""
        return f"file {self._path} ({self.panel.title})"
