"""The microphone picks itself: the first capture device that records, at a rate it accepts."""

from __future__ import annotations

import logging
import sys

import pytest

from dalle_frame_satellite.__main__ import main
from dalle_frame_satellite.audio import MicrophoneRecorder
from dalle_frame_satellite.audio_devices import pick_input
from dalle_frame_satellite.errors import AudioError
from dalle_frame_satellite.settings import AudioSettings
from tests.satellite.fake_sounddevice import FakeDevice, FakeSoundDevice, pi_with_usb_mic
from tests.satellite.test_speak import dominant_hz


def test_hdmi_and_a_default_that_cannot_record_are_passed_over(caplog) -> None:
    """HDMI has no inputs, the ALSA default fails to record, the USB mic refuses 16 kHz."""
    caplog.set_level(logging.INFO)
    fake = pi_with_usb_mic()
    choice = pick_input(fake, AudioSettings())
    assert (choice.index, choice.rate, choice.channels) == (2, 48000, 1)
    assert [r["device"] for r in fake.recordings] == [1, 2]  # the default was tried first
    assert (
        "Microphone: #2 'USB PnP Sound Device: Audio (hw:2,0)' at 48000 Hz, 1 channel(s), "
        "resampled to 16 kHz" in caplog.text
    )


def test_16_khz_is_preferred_and_a_fixed_rate_is_kept() -> None:
    """A device that takes 16 kHz records at 16 kHz; audio.capture_rate limits the choice."""
    fake = FakeSoundDevice([FakeDevice("mic", inputs=2, rates=(48000, 16000))])
    assert pick_input(fake, AudioSettings()).rate == 16000
    assert pick_input(fake, AudioSettings(capture_rate=48000)).rate == 48000
    with pytest.raises(AudioError, match="#0 'mic': no usable sample rate"):
        pick_input(fake, AudioSettings(capture_rate=44100))
    usb = FakeSoundDevice([FakeDevice("USB mic", inputs=1, rates=(44100,))])
    assert pick_input(usb, AudioSettings()).rate == 44100


def test_a_configured_device_by_name_or_number() -> None:
    """audio.device names one device (part of its name, or its number); others are not tried."""
    fake = pi_with_usb_mic()
    assert pick_input(fake, AudioSettings(device="USB PnP")).index == 2
    assert pick_input(fake, AudioSettings(device=2)).index == 2
    with pytest.raises(AudioError, match=r"audio.device 'Blue Yeti' is not an input device"):
        pick_input(fake, AudioSettings(device="Blue Yeti"))


def test_no_microphone_says_what_was_tried() -> None:
    """Only HDMI and a default that cannot record: the error names both ways out."""
    fake = pi_with_usb_mic()
    del fake.devices[2]
    with pytest.raises(AudioError, match=r"#1 'default': Device unavailable.*plug in a USB"):
        pick_input(fake, AudioSettings())


async def test_recording_resamples_and_chooses_again_after_a_failure(monkeypatch) -> None:
    """48 kHz from the USB mic arrives as 16 kHz; an unplugged mic is chosen afresh."""
    fake = pi_with_usb_mic()
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    recorder = MicrophoneRecorder(AudioSettings())
    pcm = await recorder.record(1.0)
    assert len(pcm) == 2 * 16000
    assert abs(dominant_hz(pcm) - 1000) < 2
    fake.devices[2].records = False  # unplugged
    with pytest.raises(AudioError, match="cannot record from the microphone #2"):
        await recorder.record(1.0)
    fake.devices[2].records = True
    fake.recordings.clear()
    await recorder.record(1.0)
    assert [r["device"] for r in fake.recordings] == [1, 2, 2]  # probed again, then recorded


def test_list_devices(monkeypatch, capsys) -> None:
    """--list-devices shows each input's rates and the choice; no config needed."""
    monkeypatch.setitem(sys.modules, "sounddevice", pi_with_usb_mic())
    assert main(["--list-devices"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "#1 'default': 32 input channel(s); rates 16000, 48000",
        "#2 'USB PnP Sound Device: Audio (hw:2,0)': 1 input channel(s); rates 48000, 44100",
        "chosen: #2 'USB PnP Sound Device: Audio (hw:2,0)' at 48000 Hz, 1 channel(s)",
    ]


def test_list_devices_without_portaudio_devices(monkeypatch, caplog) -> None:
    """PortAudio failing to list devices is a clear error and exit status, not a traceback."""

    class NoAlsa(FakeSoundDevice):
        def query_devices(self):
            raise self.PortAudioError("Error querying device -1")

    monkeypatch.setitem(sys.modules, "sounddevice", NoAlsa(devices=[]))
    assert main(["--list-devices"]) == 2
    assert "PortAudio cannot list the sound devices (Error querying device -1)" in caplog.text
