"""Fake SPI bus, GPIO lines and I2C EEPROM for inky's real driver classes.

inky 2.x drivers accept gpio=, spi_bus= and i2c_bus= objects. This fake records what the
driver sends as (chip selects, command byte, data bytes), decoded from the data/command line
as the panel's controller would, and answers the busy line like a panel that finishes at once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from gpiod.line import Value

BUSY_PIN = 17
DC_PIN = 22
CHIP_SELECTS = (8, 26, 16)


@dataclass
class EdgeEvent:
    """A gpiod edge event (only the line is read)."""

    line_offset: int


@dataclass
class SentCommand:
    """One command the driver sent, with its data."""

    chip_selects: tuple[int, ...]
    command: int
    data: bytearray = field(default_factory=bytearray)


class FakePanelHardware:
    """Plays gpiod LineRequest and spidev.SpiDev at once, for one panel."""

    no_cs = False
    max_speed_hz = 0

    def __init__(self) -> None:
        self.values: dict[int, Value] = {}
        self.sent: list[SentCommand] = []
        self.opened: tuple[int, int] | None = None
        self._busy_pending = True

    # gpiod LineRequest side
    def set_value(self, pin: int, value: Value) -> None:
        self.values[pin] = value
        self._busy_pending = True

    def get_value(self, pin: int) -> Value:
        if pin == BUSY_PIN:
            # Busy (low) once after each action, then ready (high): a very fast panel.
            if self._busy_pending:
                self._busy_pending = False
                return Value.INACTIVE
            return Value.ACTIVE
        return self.values.get(pin, Value.INACTIVE)

    def wait_edge_events(self, timeout=None) -> bool:
        return True

    def read_edge_events(self) -> list[EdgeEvent]:
        self._busy_pending = False
        return [EdgeEvent(BUSY_PIN)]

    # spidev side
    def open(self, bus: int, device: int) -> None:
        self.opened = (bus, device)

    def _write(self, data) -> None:
        data = bytes(data)
        selected = tuple(pin for pin in CHIP_SELECTS if self.values.get(pin) == Value.INACTIVE)
        if self.values.get(DC_PIN, Value.INACTIVE) == Value.INACTIVE:
            self.sent.extend(SentCommand(selected, byte) for byte in data)
        else:
            self.sent[-1].data.extend(data)

    xfer = xfer2 = xfer3 = writebytes = _write

    def data_of(self, command: int) -> list[SentCommand]:
        """Every sending of one command."""
        return [sent for sent in self.sent if sent.command == command]


class FakeEeprom:
    """An I2C bus with an Inky board's EEPROM at 0x50 (inky.eeprom's layout)."""

    def __init__(self, width: int, height: int, display_variant: int, colour: int = 5) -> None:
        self._data = struct.pack("<HHBBB22p", width, height, colour, 12, display_variant, b"x")

    def write_i2c_block_data(self, address: int, register: int, data: list[int]) -> None:
        assert address == 0x50

    def read_i2c_block_data(self, address: int, register: int, length: int) -> list[int]:
        return list(self._data[:length])


class NoEeprom:
    """An I2C bus with nothing on it."""

    def write_i2c_block_data(self, *args) -> None:
        raise OSError(121, "Remote I/O error")

    read_i2c_block_data = write_i2c_block_data
