"""The history folder: the newest pictures as PNG + JSON, under <config>/dalle_frame/<entry_id>/.

Every method does file I/O and must run in the executor. A picture is written to a temporary
name and renamed, its JSON last, so a crash never leaves a half-written item behind: an item
exists when its JSON does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from .const import HISTORY_FOLDER
from .models import Art

ITEM_ID_PATTERN: Final = re.compile(r"^\d{8}T\d{12}Z-\d{1,20}$")


@dataclass(frozen=True, kw_only=True)
class HistoryItem:
    """One picture in the history (without its bytes)."""

    item_id: str
    prompt: str
    seed: int
    seconds: float
    created: datetime
    source: str | None = None


def history_folder(config_dir: str, entry_id: str) -> Path:
    """Return the folder that keeps an entry's pictures."""
    return Path(config_dir) / HISTORY_FOLDER / entry_id


def is_item_id(value: str) -> bool:
    """Whether `value` has the shape of an item id (also guards against path tricks)."""
    return bool(ITEM_ID_PATTERN.fullmatch(value))


class FrameHistory:
    """The newest pictures of one frame, kept on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def png_path(self, item_id: str) -> Path:
        """Where an item's PNG lives; raise ValueError for anything that is not an item id."""
        if not is_item_id(item_id):
            raise ValueError(f"not a history item id: {item_id!r}")
        return self.folder / f"{item_id}.png"

    def _json_path(self, item_id: str) -> Path:
        """Where an item's metadata lives."""
        return self.png_path(item_id).with_suffix(".json")

    def save(self, art: Art, keep: int) -> int:
        """Write `art`, then delete all but the newest `keep` items; return how many are left.

        Raises OSError when the folder cannot be written (full disk, permissions).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        item_id = art.item_id
        metadata = {
            "prompt": art.prompt,
            "seed": art.seed,
            "seconds": art.seconds,
            "created": art.created.isoformat(),
        }
        if art.source is not None:
            metadata["source"] = art.source
        _write_atomic(self.png_path(item_id), art.png)
        _write_atomic(self._json_path(item_id), json.dumps(metadata, indent=2).encode())
        self.prune(keep)
        return len(self.items())

    def items(self) -> list[HistoryItem]:
        """Return the items, newest first; unreadable items are skipped."""
        if not self.folder.is_dir():
            return []
        items = []
        for path in self.folder.glob("*.json"):
            if not is_item_id(path.stem) or not path.with_suffix(".png").is_file():
                continue
            try:
                items.append(_item_from_json(path.stem, json.loads(path.read_bytes())))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(items, key=lambda item: item.item_id, reverse=True)

    def read_png(self, item_id: str) -> bytes:
        """Return an item's PNG bytes (raises FileNotFoundError, ValueError)."""
        return self.png_path(item_id).read_bytes()

    def load_art(self, item: HistoryItem) -> Art:
        """Read an item back as Art."""
        return Art(
            png=self.read_png(item.item_id),
            prompt=item.prompt,
            seed=item.seed,
            seconds=item.seconds,
            created=item.created,
            source=item.source,
        )

    def newest_art(self) -> Art | None:
        """Return the newest readable picture, or None when the history is empty."""
        for item in self.items():
            try:
                return self.load_art(item)
            except OSError:
                continue
        return None

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest `keep` items; return the deleted ids."""
        deleted = []
        for item in self.items()[keep:]:
            self._json_path(item.item_id).unlink(missing_ok=True)
            self.png_path(item.item_id).unlink(missing_ok=True)
            deleted.append(item.item_id)
        return deleted

    def remove_all(self) -> None:
        """Delete the whole folder (when its config entry is removed)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _item_from_json(item_id: str, metadata: dict[str, Any]) -> HistoryItem:
    """Build an item from its JSON metadata."""
    return HistoryItem(
        item_id=item_id,
        prompt=str(metadata["prompt"]),
        seed=int(metadata["seed"]),
        seconds=float(metadata["seconds"]),
        created=datetime.fromisoformat(metadata["created"]),
        source=str(metadata["source"]) if metadata.get("source") else None,
    )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
