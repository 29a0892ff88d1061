"""A stand-in for the sounddevice module: devices with the inputs and rates a Pi shows.

Only the part the satellite uses: query_devices, default.device, check_input_settings, rec
and PortAudioError. rec returns a 1 kHz tone at the asked rate, or fails like PortAudio.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class PortAudioError(Exception):
    """sounddevice.PortAudioError."""


@dataclass
class FakeDevice:
    """One PortAudio device."""

    name: str
    inputs: int
    rates: tuple[int, ...] = ()
    records: bool = True


@dataclass
class FakeSoundDevice:
    """The module: pass it to monkeypatch.setitem(sys.modules, "sounddevice", fake)."""

    devices: list[FakeDevice]
    default_input: int = -1
    recordings: list[dict[str, Any]] = field(default_factory=list)
    PortAudioError: type[Exception] = PortAudioError

    @property
    def default(self) -> types.SimpleNamespace:
        """sounddevice.default: (input, output) device numbers."""
        return types.SimpleNamespace(device=[self.default_input, -1])

    def query_devices(self) -> list[dict[str, Any]]:
        """Every device, as PortAudio lists them."""
        return [
            {"name": d.name, "max_input_channels": d.inputs, "max_output_channels": 2}
            for d in self.devices
        ]

    def check_input_settings(self, *, device: int, samplerate: int, channels: int, dtype: str):
        """Refuse what the device cannot do, as PortAudio does."""
        info = self.devices[device]
        if channels > info.inputs or samplerate not in info.rates:
            raise PortAudioError(f"Invalid sample rate [PaErrorCode -9997] ({samplerate})")

    def rec(self, frames, *, samplerate, channels, dtype, device, blocking):
        """Record a 1 kHz tone (amplitude 8000) on every channel."""
        self.recordings.append({"device": device, "samplerate": samplerate, "channels": channels})
        info = self.devices[device]
        if not info.records:
            raise PortAudioError("Device unavailable [PaErrorCode -9985]")
        t = np.arange(frames) / samplerate
        tone = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
        return np.repeat(tone[:, None], channels, axis=1)


def pi_with_usb_mic() -> FakeSoundDevice:
    """HDMI (no inputs), the ALSA default (refuses), and a USB mic that refuses 16 kHz."""
    return FakeSoundDevice(
        devices=[
            FakeDevice("vc4-hdmi-0: MAI PCM i2s-hifi-0 (hw:0,0)", inputs=0),
            FakeDevice("default", inputs=32, rates=(16000, 48000), records=False),
            FakeDevice("USB PnP Sound Device: Audio (hw:2,0)", inputs=1, rates=(44100, 48000)),
        ],
        default_input=1,
    )
