"""Button C: record a prompt, send it to HA's STT API, generate art from the text."""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import logging
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from gpiozero import Device

from dalle_frame_satellite.audio import MicrophoneRecorder, WavFileRecorder, to_pcm16_mono
from dalle_frame_satellite.errors import AudioError
from dalle_frame_satellite.led import LedMode
from dalle_frame_satellite.satellite import Satellite
from dalle_frame_satellite.settings import AudioSettings
from tests.satellite.conftest import running, wait_connected, wait_until
from tests.satellite.fake_ha import ENTRY_ID
from tests.satellite.fake_sounddevice import FakeDevice, FakeSoundDevice

SPEECH_HEADER = "format=wav; codec=pcm; sample_rate=16000; bit_rate=16; channel=1; language=en"


def write_wav(path: Path, *, rate: int, channels: int, seconds: float, hz: float) -> Path:
    """Write a 16-bit PCM WAV holding a sine tone in every channel."""
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.5 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.repeat(tone[:, None], channels, axis=1).tobytes())
    return path


def dominant_hz(pcm: bytes, rate: int = 16000) -> float:
    """Frequency of the strongest component of 16-bit mono PCM."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


def press_c() -> None:
    """Press and release button C (GPIO 16)."""
    pin = Device.pin_factory.pin(16)
    pin.drive_low()
    pin.drive_high()


async def test_spoken_prompt_from_a_wav_file(fake_ha, make_settings, tmp_path, caplog) -> None:
    """A 44.1 kHz stereo WAV becomes 16 kHz mono PCM for STT, and its text the prompt."""
    caplog.set_level(logging.INFO)
    wav = write_wav(tmp_path / "prompt.wav", rate=44100, channels=2, seconds=1.5, hz=440)
    satellite = Satellite(make_settings(fake_ha.url, audio={"wav_file": str(wav)}))
    async with running(satellite):
        await wait_connected(satellite)
        press_c()
        await wait_until(lambda: fake_ha.calls)
        await satellite.wait_action()
    headers, body = fake_ha.stt_requests[0]
    assert headers["X-Speech-Content"] == SPEECH_HEADER
    assert headers["Authorization"].startswith("Bearer ")
    assert len(body) == 2 * 16000 * 1.5
    assert abs(dominant_hz(body) - 440) < 2
    call = fake_ha.calls[0]
    assert (call.domain, call.service, call.return_response) == ("dalle_frame", "generate", True)
    assert call.data == {"prompt": "a lighthouse in a storm", "config_entry_id": ENTRY_ID}
    assert "Heard: 'a lighthouse in a storm'" in caplog.text


class ScriptedRecorder:
    """An injected recorder: returns given PCM and notes the LED while "listening"."""

    def __init__(self, satellite_led_mode) -> None:
        self._led_mode = satellite_led_mode
        self.seconds: list[float] = []
        self.led_modes: list[LedMode] = []

    async def record(self, seconds: float) -> bytes:
        self.seconds.append(seconds)
        self.led_modes.append(self._led_mode())
        await asyncio.sleep(0.01)
        return b"\0\0" * 1600


async def test_nothing_heard_generates_nothing(fake_ha, make_settings, caplog) -> None:
    """Empty text: "nothing heard", no service call; the LED blinked fast while listening."""
    caplog.set_level(logging.INFO)
    fake_ha.stt_text = "  "
    settings = make_settings(fake_ha.url, audio={"seconds": 2.5}, led={"pin": 13})
    satellite = Satellite(settings)
    recorder = ScriptedRecorder(lambda: satellite.led.mode)
    satellite._recorder = recorder
    async with running(satellite):
        await wait_connected(satellite)
        press_c()
        await wait_until(lambda: "Nothing heard; no new art" in caplog.text)
        await satellite.wait_action()
    assert recorder.seconds == [2.5]
    assert recorder.led_modes == [LedMode.LISTENING]
    assert fake_ha.calls == []


async def test_stt_failure_is_logged(fake_ha, make_settings, caplog) -> None:
    """HA's STT answers "error", or the STT entity does not exist: a clear log line."""
    caplog.set_level(logging.INFO)
    fake_ha.stt_result = "error"
    satellite = Satellite(make_settings(fake_ha.url), recorder=ScriptedRecorder(lambda: None))
    async with running(satellite):
        await wait_connected(satellite)
        press_c()
        await wait_until(lambda: "Speak failed: stt.frame_speech_to_text could not" in caplog.text)
        await satellite.wait_action()
    missing = make_settings(fake_ha.url, home_assistant={"stt_entity": "stt.nope"})
    satellite = Satellite(missing, recorder=ScriptedRecorder(lambda: None))
    async with running(satellite):
        await wait_connected(satellite)
        press_c()
        await wait_until(lambda: "Home Assistant has no STT entity stt.nope" in caplog.text)
        await satellite.wait_action()
    assert fake_ha.calls == []


async def test_microphone_recorder_uses_sounddevice(monkeypatch) -> None:
    """The microphone path asks sounddevice for int16 frames and converts them for HA."""
    fake = FakeSoundDevice([FakeDevice("USB mic (hw:1,0)", inputs=2, rates=(48000,))])
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    settings = AudioSettings(seconds=1.0, device="USB mic", capture_rate=48000, channels=2)
    pcm = await MicrophoneRecorder(settings).record(1.0)
    assert fake.recordings[-1] == {"device": 0, "samplerate": 48000, "channels": 2}
    assert len(pcm) == 2 * 16000
    assert abs(dominant_hz(pcm) - 1000) < 2


class _NoPortAudio(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes "import sounddevice" fail the way it does without libportaudio2."""

    def find_spec(self, name, path, target=None):
        if name == "sounddevice":
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise OSError("PortAudio library not found")


async def test_missing_portaudio_gives_an_actionable_error(monkeypatch) -> None:
    """Without PortAudio the error says which package to install."""
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoPortAudio(), *sys.meta_path])
    with pytest.raises(AudioError, match="sudo apt install libportaudio2"):
        await MicrophoneRecorder(AudioSettings()).record(0.1)


async def test_no_microphone_gives_an_actionable_error() -> None:
    """Real sounddevice and PortAudio on a machine without input devices: a clear AudioError."""
    try:
        import sounddevice
    except OSError:
        pytest.skip("PortAudio is not installed here (scripts/setup.sh debian installs it)")
    if any(device["max_input_channels"] > 0 for device in sounddevice.query_devices()):
        pytest.skip("this machine has a microphone; the error path cannot be reached")
    with pytest.raises(AudioError, match=r"no microphone records \(no input devices\)"):
        await MicrophoneRecorder(AudioSettings()).record(0.1)


async def test_wav_file_errors(tmp_path) -> None:
    """8-bit or missing WAV files are refused with the reason."""
    eight_bit = tmp_path / "eight.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(b"\x80" * 800)
    with pytest.raises(AudioError, match="must be 16-bit PCM WAV"):
        await WavFileRecorder(eight_bit).record(3)
    with pytest.raises(AudioError, match="cannot read"):
        await WavFileRecorder(tmp_path / "missing.wav").record(3)
    (tmp_path / "junk.wav").write_bytes(b"RIFF1234WAVEjunk")
    with pytest.raises(AudioError, match="cannot read"):
        await WavFileRecorder(tmp_path / "junk.wav").record(3)


def test_pcm_conversion() -> None:
    """Mono mix and resampling keep the length and clip safely (no wrap-around)."""
    loud = np.full((8000, 2), 32767, dtype=np.int16)
    samples = np.frombuffer(to_pcm16_mono(loud, 8000), "<i2")
    assert len(samples) == 16000
    assert samples.min() >= 0  # a filter's overshoot is clipped, never wrapped to negative
    assert set(samples[1000:-1000].tolist()) == {32767}
    assert to_pcm16_mono(np.zeros((0, 1), np.int16), 44100) == b""
