"""Remembers which picture the panel shows and when it last refreshed, across restarts."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class LastRefresh:
    """When the panel last finished a refresh, and how long the refresh took."""

    finished: datetime
    """The moment the refresh finished (time zone aware)."""

    seconds: float
    """How long the panel took to show the picture."""


class StateStore:
    """A small JSON file: the content hash of the picture on the panel and its last refresh."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def _load(self) -> dict[str, Any]:
        """Return the file's mapping, or {} (no file, unreadable: logged, not fatal)."""
        if self._path is None:
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            _LOGGER.warning("Ignoring the state file %s: %s", self._path, err)
            return {}
        return data if isinstance(data, dict) else {}

    def load_shown_digest(self) -> str | None:
        """Return the remembered hash, or None."""
        digest = self._load().get("shown_digest")
        return digest if isinstance(digest, str) else None

    def load_last_refresh(self) -> LastRefresh | None:
        """Return the remembered last refresh, or None."""
        data = self._load()
        finished, seconds = data.get("refreshed"), data.get("refresh_seconds")
        if not isinstance(finished, str) or not isinstance(seconds, int | float):
            return None
        try:
            moment = datetime.fromisoformat(finished)
        except ValueError:
            return None
        return LastRefresh(moment, float(seconds)) if moment.tzinfo is not None else None

    def save_shown_digest(self, digest: str, refresh: LastRefresh | None = None) -> None:
        """Remember the hash (and the refresh) atomically; a failure is logged, not raised."""
        if self._path is None:
            return
        data: dict[str, Any] = {"shown_digest": digest}
        if refresh is not None:
            data["refreshed"] = refresh.finished.isoformat()
            data["refresh_seconds"] = round(refresh.seconds, 3)
        temporary: str | None = None
        try:
            handle, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                json.dump(data, output)
            Path(temporary).replace(self._path)
        except OSError as err:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            _LOGGER.warning("Cannot write the state file %s: %s", self._path, err)
