"""A testing and automation aid: a UNIX socket that presses buttons ("press A").

Off unless the config sets control_socket. Only the satellite's own user can connect (the
socket is created with mode 0600). One command per line; each gets one answer line:

    press <button>   ->  "ok" or "error: <reason>"
    ping             ->  "pong"
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Final

_LOGGER = logging.getLogger(__name__)
_MAX_LINE: Final = 256


class ControlSocket:
    """Serves press commands on a UNIX socket."""

    def __init__(self, path: Path, press: Callable[[str], str | None]) -> None:
        self._path = path
        self._press = press
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Create the socket (replacing a stale one) with mode 0600."""
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISSOCK(self._path.lstat().st_mode):
                raise FileExistsError(f"{self._path} exists and is not a socket")
            self._path.unlink()
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._handle, path=str(self._path), limit=_MAX_LINE
            )
        finally:
            os.umask(old_umask)
        _LOGGER.info("Control socket (testing aid) listening on %s", self._path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer each line of one client."""
        try:
            while line := await reader.readline():
                writer.write((self.answer(line.decode("utf-8", "replace")) + "\n").encode())
                await writer.drain()
        except (ValueError, ConnectionError):  # over-long line, client gone
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def answer(self, line: str) -> str:
        """Return the answer to one command line."""
        words = line.split()
        if words == ["ping"]:
            return "pong"
        if len(words) == 2 and words[0] == "press":
            problem = self._press(words[1])
            return "ok" if problem is None else f"error: {problem}"
        return "error: unknown command; use 'press <button>' or 'ping'"

    async def close(self) -> None:
        """Stop serving and remove the socket file."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
