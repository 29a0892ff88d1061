"""Recording a spoken prompt: the microphone through sounddevice, or a WAV file stand-in.

Both give 16 kHz 16-bit mono PCM, the format HA's STT API is asked for. sounddevice is
imported only when recording, so the satellite starts without audio hardware or PortAudio. The
microphone is chosen by itself (audio_devices) on the first recording, and again after one fails.
"""

from __future__ import annotations

import asyncio
import logging
import wave
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np

from .audio_devices import InputChoice, pick_input
from .errors import AudioError
from .resample import resample
from .settings import AudioSettings

_LOGGER = logging.getLogger(__name__)

PCM_RATE: Final = 16000
MAX_WAV_SECONDS: Final = 30.0


class Recorder(Protocol):
    """Something that records a spoken prompt."""

    async def record(self, seconds: float) -> bytes:
        """Return seconds of 16 kHz 16-bit mono little-endian PCM; raise AudioError."""


def to_pcm16_mono(samples: np.ndarray, rate: int) -> bytes:
    """Mix int16 samples (frames, channels) to mono and resample them to 16 kHz."""
    if samples.ndim == 1:
        samples = samples[:, np.newaxis]
    mono = resample(samples.astype(np.float64).mean(axis=1), rate, PCM_RATE)
    return np.clip(np.round(mono), -32768, 32767).astype("<i2").tobytes()


class MicrophoneRecorder:
    """Records from a sounddevice input (PortAudio)."""

    def __init__(self, settings: AudioSettings) -> None:
        self._settings = settings
        self._choice: InputChoice | None = None

    async def record(self, seconds: float) -> bytes:
        """Record from the microphone in a worker thread."""
        return await asyncio.to_thread(self._record, seconds)

    def _record(self, seconds: float) -> bytes:
        """Blocking recording."""
        sounddevice = import_sounddevice()
        try:
            choice = self._choice or pick_input(sounddevice, self._settings)
        except sounddevice.PortAudioError as err:
            raise AudioError(f"cannot list the audio devices ({err})") from err
        try:
            samples = sounddevice.rec(
                round(seconds * choice.rate),
                samplerate=choice.rate,
                channels=choice.channels,
                dtype="int16",
                device=choice.index,
                blocking=True,
            )
        except (sounddevice.PortAudioError, ValueError) as err:
            self._choice = None  # unplugged or taken: choose again next time
            raise AudioError(
                f"cannot record from the microphone {choice.describe()} ({err}); check that it "
                f"is plugged in (arecord -l) and audio.device, audio.capture_rate and "
                f"audio.channels"
            ) from err
        self._choice = choice
        return to_pcm16_mono(np.asarray(samples), choice.rate)


def import_sounddevice() -> Any:
    """Import sounddevice, explaining a missing PortAudio library."""
    try:
        import sounddevice
    except OSError as err:
        raise AudioError(
            f"cannot load the audio library ({err}); install it with: "
            f"sudo apt install libportaudio2"
        ) from err
    return sounddevice


class WavFileRecorder:
    """Plays the part of the microphone with a WAV file (demos and tests): the whole file."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def record(self, seconds: float) -> bytes:
        """Return the file's audio as 16 kHz mono PCM (seconds is ignored: the file is the take)."""
        del seconds
        return await asyncio.to_thread(self._read)

    def _read(self) -> bytes:
        """Read and convert the WAV file."""
        try:
            with wave.open(str(self._path), "rb") as wav:
                if wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
                    raise AudioError(f"{self._path} must be 16-bit PCM WAV")
                rate, channels = wav.getframerate(), wav.getnchannels()
                frames = wav.readframes(min(wav.getnframes(), int(MAX_WAV_SECONDS * rate)))
        except (OSError, EOFError, wave.Error) as err:
            raise AudioError(f"cannot read {self._path}: {err}") from err
        samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
        return to_pcm16_mono(samples, rate)


def create_recorder(settings: AudioSettings) -> Recorder:
    """Return the recorder the settings ask for."""
    if settings.wav_file is not None:
        _LOGGER.info("Spoken prompts come from %s instead of a microphone", settings.wav_file)
        return WavFileRecorder(settings.wav_file)
    return MicrophoneRecorder(settings)
