"""Remembers which picture the panel shows, so a restart does not refresh it again."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


class StateStore:
    """A small JSON file holding the content hash of the picture on the panel."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def load_shown_digest(self) -> str | None:
        """Return the remembered hash, or None (no file, unreadable: logged, not fatal)."""
        if self._path is None:
            return None
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            _LOGGER.warning("Ignoring the state file %s: %s", self._path, err)
            return None
        digest = data.get("shown_digest") if isinstance(data, dict) else None
        return digest if isinstance(digest, str) else None

    def save_shown_digest(self, digest: str) -> None:
        """Remember the hash atomically (a failure is logged; the picture is shown anyway)."""
        if self._path is None:
            return
        temporary: str | None = None
        try:
            handle, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                json.dump({"shown_digest": digest}, output)
            Path(temporary).replace(self._path)
        except OSError as err:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            _LOGGER.warning("Cannot write the state file %s: %s", self._path, err)
