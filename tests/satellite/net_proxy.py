"""A TCP proxy on 127.0.0.1 whose "network" can be cut (packets vanish) and restored."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    """Forwards connections to a target port; cut() silently stops all traffic.

    While cut, established connections stay open but carry nothing (like a pulled cable
    or a Wi-Fi drop) and new connections are accepted and then left hanging.
    """

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL through the proxy."""
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Stop forwarding anything."""
        self._flowing.clear()

    async def restore(self) -> None:
        """Forward again; connections that hung during the cut are dropped (their peers gave up)."""
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        self._flowing.set()

    async def close(self) -> None:
        """Stop the proxy."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Connect to the target and pump both ways."""
        self._writers.add(writer)
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy bytes while the network flows; drop them while it is cut."""
        try:
            while data := await source.read(65536):
                if not self._flowing.is_set():
                    continue  # the packet is lost
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()
