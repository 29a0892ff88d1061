"""The Home Assistant token: read from a 0600 file, hidden from reprs and scrubbed from logs."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Final

from .errors import ConfigError

REDACTED: Final = "**********"
_MAX_TOKEN_BYTES: Final = 4096


class Secret:
    """A string that never shows itself in str(), repr(), f-strings or config dumps."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def read_token_file(path: Path) -> Secret:
    """Read a long-lived access token from a file only its owner may read.

    Raises ConfigError when the file is missing, readable by group or others, empty,
    or not a plausible token.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"token file {path} does not exist: create a long-lived access token in Home "
            f"Assistant (your profile, Security tab) and write it to that file with mode 0600"
        ) from None
    except OSError as err:
        raise ConfigError(f"cannot read token file {path}: {err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"token file {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"token file {path} is readable by other users (mode {mode:04o}); "
            f"restrict it with: chmod 600 {path}"
        )
    try:
        raw = path.read_bytes()[: _MAX_TOKEN_BYTES + 1]
    except OSError as err:
        raise ConfigError(f"cannot read token file {path}: {err.strerror}") from None
    if len(raw) > _MAX_TOKEN_BYTES:
        raise ConfigError(f"token file {path} is larger than a token can be")
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"token file {path} holds non-ASCII bytes, not a token") from None
    if not token:
        raise ConfigError(f"token file {path} is empty: paste the long-lived access token into it")
    if any(char.isspace() for char in token):
        raise ConfigError(f"token file {path} must hold the token alone on one line")
    return Secret(token)


class RedactingFilter(logging.Filter):
    """Replace known secrets in every log record's final message (defence in depth)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: Secret) -> None:
        """Scrub this secret from all later log records."""
        if len(secret.reveal()) >= 8:
            self._secrets.add(secret.reveal())

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without the secrets; never drop a record."""
        if not self._secrets:
            return True
        message = record.getMessage()
        exc_text = record.exc_text or ""
        if record.exc_info and not exc_text:
            exc_text = logging.Formatter().formatException(record.exc_info)
        if any(s in message or s in exc_text for s in self._secrets):
            for value in self._secrets:
                message = message.replace(value, REDACTED)
                exc_text = exc_text.replace(value, REDACTED)
            record.msg, record.args = message, None
            record.exc_text = exc_text or None
            record.exc_info = None if exc_text else record.exc_info
        return True
