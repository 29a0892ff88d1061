"""A stand-in for the parts of the gpiod 2.x bindings the satellite uses (no GPIO here).

The kernel's gpio-sim would give real chips, but it needs configfs and a module these
machines lack. The real gpiod package is installed (its LineSettings and enums are used as
they are); only what touches /dev is replaced: is_gpiochip_device, Chip and request_lines.
A request's fd is a real pipe, so the event loop's add_reader sees presses as on a Pi.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gpiod
from gpiod import EdgeEvent
from gpiod.line import Direction, Edge, Value


@dataclass
class FakeRequest:
    """A line request: edge events through a pipe, output values in a dict."""

    chip: str
    consumer: str
    settings: dict[int, gpiod.LineSettings]
    values: dict[int, Value] = field(default_factory=dict)
    history: list[tuple[int, Value]] = field(default_factory=list)
    released: bool = False

    def __post_init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        self._pending: list[EdgeEvent] = []
        self._seqno = 0

    @property
    def fd(self) -> int:
        """The file descriptor that becomes readable when events wait."""
        return self._read

    def press(self, offset: int) -> None:
        """The button on offset goes down: a falling edge (when edge detection asks for it)."""
        settings = self.settings[offset]
        assert settings.direction == Direction.INPUT
        if settings.edge_detection in (Edge.FALLING, Edge.BOTH):
            self._seqno += 1
            falling = EdgeEvent.Type.FALLING_EDGE.value
            self._pending.append(EdgeEvent(falling, 0, offset, self._seqno, self._seqno))
            os.write(self._write, b"e")

    def read_edge_events(self, max_events: int | None = None) -> list[EdgeEvent]:
        """Every pending event."""
        del max_events
        with contextlib.suppress(BlockingIOError):
            os.read(self._read, 1024)
        events, self._pending = self._pending, []
        return events

    def set_value(self, line: int, value: Value) -> None:
        """Drive an output line."""
        assert self.settings[line].direction == Direction.OUTPUT
        self.values[line] = value
        self.history.append((line, value))

    def release(self) -> None:
        """Give the lines back."""
        assert not self.released, "released twice"
        self.released = True
        os.close(self._read)
        os.close(self._write)


@dataclass
class FakeChips:
    """gpiochip devices by path and label; install() puts them in place of the real ones."""

    dev: Path
    labels: dict[str, str]
    requests: list[FakeRequest] = field(default_factory=list)
    busy: set[int] = field(default_factory=set)

    def install(self, monkeypatch: Any) -> None:
        """Point gpiod_lines at the fake /dev and patch gpiod's device functions."""
        from dalle_frame_satellite import gpiod_lines

        for name in self.labels:
            (self.dev / name).touch()
        monkeypatch.setattr(gpiod_lines, "DEV", self.dev)
        monkeypatch.setattr(
            gpiod, "is_gpiochip_device", lambda path: Path(path).name in self.labels
        )
        monkeypatch.setattr(gpiod, "Chip", self._chip)
        monkeypatch.setattr(gpiod, "request_lines", self._request_lines)

    def _chip(self, path: str) -> Any:
        labels = self.labels

        class Chip:
            def __enter__(self) -> Chip:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def get_info(self) -> Any:
                return type("ChipInfo", (), {"label": labels[Path(path).name]})()

        return Chip()

    def _request_lines(self, path: str, config: dict, consumer: str | None = None) -> FakeRequest:
        settings: dict[int, gpiod.LineSettings] = {}
        for lines, line_settings in config.items():
            for offset in lines if isinstance(lines, tuple) else (lines,):
                if offset in self.busy:
                    raise OSError(16, "Device or resource busy")
                settings[offset] = line_settings
        request = FakeRequest(path, consumer or "", settings)
        self.requests.append(request)
        return request

    def request_for(self, offset: int) -> FakeRequest:
        """The live request that holds offset."""
        return next(r for r in self.requests if offset in r.settings and not r.released)
