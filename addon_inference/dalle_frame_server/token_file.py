"""The bearer token: given directly, or kept in a file created with a random token on first use."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


def read_or_create_token(path: Path) -> str:
    """Return the token in `path`; create the file (mode 0600) with a random token if absent.

    Raises ValueError when the file exists but holds no token. The token itself is never
    logged.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf8") as file:
            file.write(token + "\n")
        _LOGGER.info("Created a new random token in %s (give it to Home Assistant)", path)
        return token
    token = path.read_text(encoding="utf8").strip()
    if not token:
        raise ValueError(f"the token file {path} is empty; put a token in it or delete it")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        _LOGGER.warning("%s is readable by other users; chmod 600 it", path)
    return token
