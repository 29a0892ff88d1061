"""Choosing the microphone: the first capture device that records, at a rate it accepts.

On a Pi the ALSA default is often HDMI or the headphone jack, which cannot record, and USB
microphones often refuse 16 kHz on their hw: device; so each input device is tried in turn
(the configured one only, when audio.device is set) at 16 kHz, then at the rates USB
microphones have. The recording is resampled to 16 kHz afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from .errors import AudioError
from .settings import AudioSettings

_LOGGER = logging.getLogger(__name__)

RATES: Final = (16000, 48000, 44100, 32000, 22050, 96000)
"""Sample rates tried, in order, when audio.capture_rate is auto."""

PROBE_SECONDS: Final = 0.1
"""Length of the test recording that proves a device records."""


@dataclass(frozen=True)
class InputChoice:
    """A device and the format it records in."""

    index: int
    name: str
    rate: int
    channels: int

    def describe(self) -> str:
        """One line for the log."""
        return f"#{self.index} {self.name!r} at {self.rate} Hz, {self.channels} channel(s)"


def input_devices(sounddevice: Any, device: str | int | None = None) -> list[dict[str, Any]]:
    """Devices that have inputs (PortAudio's default first), or the configured one."""
    try:
        listed = sounddevice.query_devices()
    except sounddevice.PortAudioError as err:
        raise AudioError(f"PortAudio cannot list the sound devices ({err})") from err
    devices = [
        {**dict(info), "index": index}
        for index, info in enumerate(listed)
        if info["max_input_channels"] > 0
    ]
    if device is not None:
        wanted = [d for d in devices if _matches(d, device)]
        if not wanted:
            names = ", ".join(f"#{d['index']} {d['name']!r}" for d in devices) or "none"
            raise AudioError(
                f"audio.device {device!r} is not an input device (inputs: {names}); see "
                f"python -m dalle_frame_satellite --list-devices"
            )
        return wanted[:1]
    default = _default_input(sounddevice)
    return sorted(devices, key=lambda d: d["index"] != default)


def _matches(info: dict[str, Any], device: str | int) -> bool:
    """Tell whether the configured device names this one (its number, or part of its name)."""
    if isinstance(device, int):
        return info["index"] == device
    return device in info["name"]


def _default_input(sounddevice: Any) -> int | None:
    """PortAudio's default input device index, if any."""
    try:
        value = sounddevice.default.device[0]
    except (AttributeError, IndexError, TypeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None


def accepted_rates(sounddevice: Any, device: dict[str, Any], channels: int) -> list[int]:
    """Return the rates of RATES the device accepts for int16 input (PortAudio's own check)."""
    rates = []
    for rate in RATES:
        try:
            sounddevice.check_input_settings(
                device=device["index"], samplerate=rate, channels=channels, dtype="int16"
            )
        except (sounddevice.PortAudioError, ValueError):
            continue
        rates.append(rate)
    return rates


def pick_input(sounddevice: Any, settings: AudioSettings) -> InputChoice:
    """Return the first device that records; raise AudioError naming what was tried."""
    tried = []
    for device in input_devices(sounddevice, settings.device):
        channels = min(settings.channels, device["max_input_channels"])
        rates = accepted_rates(sounddevice, device, channels)
        if settings.capture_rate is not None:
            rates = [settings.capture_rate] if settings.capture_rate in rates else []
        if not rates:
            tried.append(f"#{device['index']} {device['name']!r}: no usable sample rate")
            continue
        choice = InputChoice(device["index"], device["name"], rates[0], channels)
        try:
            sounddevice.rec(
                round(PROBE_SECONDS * choice.rate),
                samplerate=choice.rate,
                channels=choice.channels,
                dtype="int16",
                device=choice.index,
                blocking=True,
            )
        except (sounddevice.PortAudioError, ValueError) as err:
            tried.append(f"#{device['index']} {device['name']!r}: {err}")
            continue
        _LOGGER.info("Microphone: %s, resampled to 16 kHz", choice.describe())
        return choice
    detail = "; ".join(tried) or "no input devices"
    raise AudioError(
        f"no microphone records ({detail}); plug in a USB microphone (arecord -l lists them) "
        f"or set audio.device"
    )


def describe_inputs(sounddevice: Any, settings: AudioSettings) -> str:
    """Return the --list-devices table: each input device, the rates it accepts, and the choice."""
    lines = []
    for device in input_devices(sounddevice):
        channels = min(settings.channels, device["max_input_channels"])
        rates = accepted_rates(sounddevice, device, channels)
        shown = ", ".join(str(rate) for rate in rates) or "none"
        lines.append(
            f"#{device['index']} {device['name']!r}: {device['max_input_channels']} input "
            f"channel(s); rates {shown}"
        )
    if not lines:
        lines.append("no input devices (plug in a USB microphone; arecord -l lists them)")
    try:
        lines.append(f"chosen: {pick_input(sounddevice, settings).describe()}")
    except AudioError as err:
        lines.append(f"chosen: none ({err})")
    return "\n".join(lines)
