"""Fuzzing /v1/transcribe with real WAV bodies: every answer is the one the format rules give.

Hypothesis builds RIFF/WAVE files from their parts (format tag, extensible sub-format, channels,
sample rate, sample width, length, extra and odd-sized chunks, a data size that lies or streams,
a cut tail) and sends them to a real server on 127.0.0.1 running the test ASR model. An
independent model of the rules in DOCS.md predicts each answer: 200 with the audio's length,
or the 4xx status and error code of the first rule broken. Bodies with random bytes flipped
must still get a documented answer (200 or a JSON 4xx), never a 500, and the server must stay
healthy.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dalle_frame_server.generation.min_dalle.backends import make_backend
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import ThreadedServer, make_wav, threaded_test_server

MAX_BYTES = 8 * 2**20
PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


@dataclass(frozen=True)
class WavSpec:
    """The parts a WAV body is built from."""

    tag: int
    sub_format: int | None
    channels: int
    rate: int
    bits: int
    frames: int
    extra_chunks: tuple[bytes, ...]
    size_field: str
    """"exact", "streaming" (0xFFFFFFFF), "larger" (claims more than sent)."""
    cut: int
    """Bytes cut off the end of the file."""

    def body(self) -> bytes:
        """The RIFF file."""
        width = max(self.bits // 8, 1)
        block_align = self.channels * width
        fmt = struct.pack(
            "<HHIIHH",
            self.tag,
            self.channels,
            self.rate,
            self.rate * block_align,
            block_align,
            self.bits,
        )
        if self.tag == EXTENSIBLE:
            sub = struct.pack("<H", self.sub_format or 0) + GUID_TAIL
            fmt += struct.pack("<HHI", 22, self.bits, 0) + sub
        audio = bytes(((index * 37) & 0xFF) for index in range(self.frames * block_align))
        size = {"exact": len(audio), "streaming": 0xFFFFFFFF, "larger": len(audio) + 64}
        chunks = b"".join(_chunk(b"LIST" if i % 2 == 0 else b"junk", extra)
                          for i, extra in enumerate(self.extra_chunks))  # fmt: skip
        data_chunk = b"data" + struct.pack("<I", size[self.size_field]) + audio
        riff = b"WAVE" + _chunk(b"fmt ", fmt) + chunks + data_chunk
        file = b"RIFF" + struct.pack("<I", len(riff)) + riff
        return file[: len(file) - self.cut] if self.cut else file

    def expected(self) -> tuple[int, str | None, float | None]:
        """(status, error code, seconds heard) by the documented rules, in the server's order."""
        body = self.body()
        if len(body) > MAX_BYTES:
            return 413, None, None
        header_end = 12 + 8 + (40 if self.tag == EXTENSIBLE else 16)
        if len(body) < header_end:
            return 400, "bad_wav", None
        tag = self.sub_format if self.tag == EXTENSIBLE else self.tag
        if tag != PCM or self.bits != 16 or not 1 <= self.channels <= 2:
            return 415, "unsupported_audio_format", None
        if not 8_000 <= self.rate <= 48_000:
            return 415, "unsupported_audio_format", None
        data_start = header_end + sum(8 + len(c) + len(c) % 2 for c in self.extra_chunks) + 8
        if len(body) < data_start:
            return 400, "bad_wav", None
        available = len(body) - data_start
        claimed = {"exact": self.frames * self.channels * 2, "larger": available + 1}
        if self.size_field != "streaming" and claimed[self.size_field] > available:
            return 400, "truncated_wav", None
        frames = available // (self.channels * 2)
        if frames == 0:
            return 400, "empty_audio", None
        if frames / self.rate > 30:
            return 413, "audio_too_long", None
        if frames / self.rate < 0.1:
            return 400, "audio_too_short", None
        return 200, None, frames / self.rate


def _chunk(name: bytes, payload: bytes) -> bytes:
    """A RIFF chunk, padded to an even size as RIFF requires."""
    return name + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)


@st.composite
def wav_specs(draw: st.DrawFn) -> WavSpec:
    """WAV files mostly near the rules' edges."""
    tag = draw(st.sampled_from([PCM, PCM, PCM, FLOAT, EXTENSIBLE, 0x55, 0x11]))
    sub_format = draw(st.sampled_from([PCM, FLOAT, 0x55])) if tag == EXTENSIBLE else None
    channels = draw(st.sampled_from([1, 1, 2, 2, 0, 3]))
    rate = draw(
        st.sampled_from([16_000, 8_000, 48_000, 44_100, 22_050, 7_999, 48_001, 96_000, 4_000])
    )
    bits = draw(st.sampled_from([16, 16, 16, 8, 24, 32]))
    seconds = draw(st.sampled_from([0.0, 0.05, 0.1, 0.5, 1.0, 2.5, 29.9, 30.5]))
    frames = round(seconds * rate) if rate * seconds * channels * 2 <= MAX_BYTES * 1.1 else 0
    extra = draw(st.lists(st.binary(max_size=9), max_size=2))
    return WavSpec(
        tag=tag,
        sub_format=sub_format,
        channels=max(channels, 0),
        rate=rate,
        bits=bits,
        frames=frames,
        extra_chunks=tuple(extra),
        size_field=draw(st.sampled_from(["exact", "exact", "streaming", "larger"])),
        cut=draw(st.sampled_from([0, 0, 0, 1, 7, 30])),
    )


@pytest.fixture(scope="module")
def server(models_dir, test_modules, test_transcriber) -> Iterator[ThreadedServer]:
    """A real server with the test models on 127.0.0.1."""
    backend = make_backend("reference", test_modules)
    running = threaded_test_server(
        models_dir, test_modules, test_transcriber, backend, queue_size=1, token=TOKEN
    )
    yield running
    running.stop()


def _transcribe(server: ThreadedServer, body: bytes) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/transcribe",
        data=body,
        headers={"Content-Type": "audio/wav", **AUTH},
        timeout=120,
    )


def _check_documented(response: requests.Response) -> dict:
    """A 200 with text and lengths, or a JSON error of a documented status."""
    assert response.status_code in (200, 400, 413, 415), (response.status_code, response.text)
    payload = response.json()
    if response.status_code == 200:
        assert isinstance(payload["text"], str)
        assert payload["audio_seconds"] > 0
    else:
        assert payload["error"]["code"]
        assert payload["error"]["message"]
    return payload


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=wav_specs())
def test_wav_bodies_get_the_answer_the_rules_give(server: ThreadedServer, spec: WavSpec) -> None:
    """Each generated file gets exactly the predicted status and error code."""
    status, code, seconds = spec.expected()
    response = _transcribe(server, spec.body())
    assert response.status_code == status, (spec, response.text[:300])
    payload = _check_documented(response)
    if code is not None:
        assert payload["error"]["code"] == code, (spec, payload)
    if seconds is not None:
        assert payload["audio_seconds"] == pytest.approx(seconds, abs=0.01)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=wav_specs(),
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_damaged_wav_bodies_never_break_the_server(
    server: ThreadedServer, spec: WavSpec, flips: list[tuple[int, int]]
) -> None:
    """Bytes flipped anywhere in the headers: a documented answer, never a 500."""
    body = bytearray(spec.body())
    for position, value in flips:
        if position < len(body):
            body[position] = value
    _check_documented(_transcribe(server, bytes(body)))


def test_server_still_transcribes_after_the_fuzzing(server: ThreadedServer) -> None:
    """After hundreds of bad files the server is healthy and a plain WAV works."""
    assert requests.get(f"{server.url}/v1/health", timeout=5).json()["status"] == "ok"
    response = _transcribe(server, make_wav(1.0))
    assert response.status_code == 200
    assert response.json()["audio_seconds"] == pytest.approx(1.0)
