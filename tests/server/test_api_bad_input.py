"""Bad input gets a clear 4xx and leaves the server healthy (issue 9's list, and more)."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

from tests.server.conftest import AUTH
from tests.server.helpers import make_extensible_wav, make_float_wav, make_wav

JSON = {"Content-Type": "application/json", **AUTH}
WAV = {"Content-Type": "audio/wav", **AUTH}

BAD_GENERATE_BODIES = [
    pytest.param(b'{"prompt": ""}', 400, "bad_prompt", id="empty prompt"),
    pytest.param(b'{"prompt": "   \\t\\n "}', 400, "bad_prompt", id="white space prompt"),
    pytest.param(json.dumps({"prompt": "x" * 10_000}).encode(), 400, "bad_prompt", id="10k chars"),
    pytest.param(json.dumps({"prompt": "a\x00cat"}).encode(), 400, "bad_prompt", id="NUL"),
    pytest.param(json.dumps({"prompt": "a\x1b[31mcat"}).encode(), 400, "bad_prompt", id="escape"),
    pytest.param(b'{"prompt": "a \\ud800 cat"}', 400, "bad_prompt", id="lone surrogate"),
    pytest.param(b'{"prompt": "caf\xe9"}', 400, "bad_json", id="not UTF-8"),
    pytest.param(b"\xff\xfe\x00", 400, "bad_json", id="binary"),
    pytest.param(b"", 400, "bad_json", id="empty body"),
    pytest.param(b"prompt=a cat", 400, "bad_json", id="not JSON"),
    pytest.param(b'["a cat"]', 400, "bad_json", id="array"),
    pytest.param(b'"a cat"', 400, "bad_json", id="string"),
    pytest.param(b"null", 400, "bad_json", id="null"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, 413, "payload_too_large", id="deep"),
    pytest.param(b"[" * 20_000 + b"]" * 20_000, 400, "bad_json", id="deep nesting"),
    pytest.param(b"{}", 400, "bad_prompt", id="no prompt"),
    pytest.param(b'{"prompt": 5}', 400, "bad_prompt", id="prompt number"),
    pytest.param(b'{"prompt": ["a"]}', 400, "bad_prompt", id="prompt array"),
    pytest.param(b'{"prompt": "a", "sead": 1}', 400, "unknown_field", id="unknown field"),
    pytest.param(b'{"prompt": "a", "seed": "5"}', 400, "bad_parameter", id="seed string"),
    pytest.param(b'{"prompt": "a", "seed": -1}', 400, "bad_parameter", id="seed negative"),
    pytest.param(b'{"prompt": "a", "seed": 1e30}', 400, "bad_parameter", id="seed 1e30"),
    pytest.param(
        b'{"prompt": "a", "seed": 99999999999999999999999}', 400, "bad_parameter", id="seed huge"
    ),
    pytest.param(
        b'{"prompt": "a", "seed": ' + b"9" * 5000 + b"}", 400, "bad_json", id="5000 digits"
    ),
    pytest.param(b'{"prompt": "a", "grid_size": 4}', 400, "bad_parameter", id="grid 4"),
    pytest.param(b'{"prompt": "a", "grid_size": 0}', 400, "bad_parameter", id="grid 0"),
    pytest.param(b'{"prompt": "a", "grid_size": 1.5}', 400, "bad_parameter", id="grid 1.5"),
    pytest.param(b'{"prompt": "a", "grid_size": true}', 400, "bad_parameter", id="grid true"),
    pytest.param(b'{"prompt": "a", "temperature": 0}', 400, "bad_parameter", id="temp 0"),
    pytest.param(b'{"prompt": "a", "temperature": -1}', 400, "bad_parameter", id="temp -1"),
    pytest.param(b'{"prompt": "a", "temperature": 1e400}', 400, "bad_parameter", id="temp inf"),
    pytest.param(b'{"prompt": "a", "temperature": 1e-50}', 400, "bad_parameter", id="temp tiny"),
    pytest.param(b'{"prompt": "a", "temperature": 1e7}', 400, "bad_parameter", id="temp huge"),
    pytest.param(b'{"prompt": "a", "temperature": NaN}', 400, "bad_json", id="NaN"),
    pytest.param(b'{"prompt": "a", "temperature": "hot"}', 400, "bad_parameter", id="temp str"),
    pytest.param(b'{"prompt": "a", "top_k": 0}', 400, "bad_parameter", id="top_k 0"),
    pytest.param(b'{"prompt": "a", "top_k": 16385}', 400, "bad_parameter", id="top_k big"),
    pytest.param(
        b'{"prompt": "a", "supercondition_factor": 65}', 400, "bad_parameter", id="factor 65"
    ),
    pytest.param(
        b'{"prompt": "a", "supercondition_factor": 0.5}', 400, "bad_parameter", id="factor 0.5"
    ),
    pytest.param(b'{"prompt": "a"' + b" " * 70_000 + b"}", 413, "payload_too_large", id="70 KB"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_GENERATE_BODIES)
async def test_bad_generate_bodies(client, body: bytes, status: int, code: str) -> None:
    """Each bad body gets its status, a stable code and a message."""
    response = await client.post("/v1/generate", data=body, headers=JSON)
    assert response.status == status
    error = (await response.json())["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10


async def test_generate_refuses_other_media_types(client) -> None:
    """A body that says it is not JSON gets 415."""
    response = await client.post(
        "/v1/generate", data=b"a cat", headers={"Content-Type": "text/plain", **AUTH}
    )
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]["message"]


async def test_server_stays_healthy_after_bad_input(client) -> None:
    """After a volley of bad bodies the server still answers and generates."""
    await asyncio.gather(
        *(
            client.post("/v1/generate", data=param.values[0], headers=JSON)
            for param in BAD_GENERATE_BODIES
        )
    )
    health = await (await client.get("/v1/health")).json()
    assert health["status"] == "ok"
    assert health["generator"]["queue"]["waiting"] == 0


def _truncated_wav() -> bytes:
    """A WAV cut in the middle of its data."""
    wav = make_wav(1.0)
    return wav[: len(wav) // 2]


def _lying_header_wav() -> bytes:
    """A WAV whose data chunk claims twice the bytes that follow."""
    wav = bytearray(make_wav(0.5))
    data_size = struct.unpack_from("<I", wav, 40)[0]
    struct.pack_into("<I", wav, 40, data_size * 2)
    return bytes(wav)


BAD_AUDIO = [
    pytest.param(b"", 400, "empty_audio", id="zero-length body"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 415, "not_wav", id="PNG"),
    pytest.param(b"hello, this is not audio", 415, "not_wav", id="text"),
    pytest.param(b"RIFF\x24\x00\x00\x00AVI LIST", 415, "not_wav", id="RIFF AVI"),
    pytest.param(_truncated_wav(), 400, "truncated_wav", id="truncated"),
    pytest.param(_lying_header_wav(), 400, "truncated_wav", id="header claims more"),
    pytest.param(make_wav(0.0), 400, "empty_audio", id="zero samples"),
    pytest.param(make_wav(0.05), 400, "audio_too_short", id="50 ms"),
    pytest.param(make_wav(1.0)[:40], 400, "bad_wav", id="header only"),
    pytest.param(make_wav(1.0, sample_width=1), 415, "unsupported_audio_format", id="8-bit"),
    pytest.param(make_wav(1.0, sample_width=3), 415, "unsupported_audio_format", id="24-bit"),
    pytest.param(make_float_wav(), 415, "unsupported_audio_format", id="float"),
    pytest.param(make_extensible_wav(3), 415, "unsupported_audio_format", id="float ext."),
    pytest.param(make_wav(0.5, channels=6), 415, "unsupported_audio_format", id="6 channels"),
    pytest.param(make_wav(0.5, rate=96_000), 415, "unsupported_audio_format", id="96 kHz"),
    pytest.param(make_wav(0.5, rate=4_000), 415, "unsupported_audio_format", id="4 kHz"),
    pytest.param(make_wav(31.0, rate=8_000), 413, "audio_too_long", id="31 s"),
    pytest.param(make_wav(600.0, rate=8_000), 413, "payload_too_large", id="10 minutes"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_AUDIO)
async def test_bad_audio(client, body: bytes, status: int, code: str) -> None:
    """Each bad upload gets its status and code; the message says what would work."""
    response = await client.post("/v1/transcribe", data=body, headers=WAV)
    assert response.status == status
    error = (await response.json())["error"]
    assert error["code"] == code
    assert error["message"]


async def test_transcribe_refuses_json_content_type(client) -> None:
    """The body must be declared as audio."""
    response = await client.post(
        "/v1/transcribe", data=make_wav(), headers={"Content-Type": "application/json", **AUTH}
    )
    assert response.status == 415


@pytest.mark.parametrize(
    "wav",
    [
        pytest.param(make_wav(1.0), id="16 kHz mono"),
        pytest.param(make_wav(2.0, rate=44_100, channels=2), id="44.1 kHz stereo"),
        pytest.param(make_wav(1.5, rate=8_000), id="8 kHz"),
        pytest.param(make_wav(0.5, rate=48_000), id="48 kHz"),
        pytest.param(make_extensible_wav(1), id="extensible PCM"),
        pytest.param(make_wav(30.0, rate=48_000, channels=2), id="30 s 48 kHz stereo"),
    ],
)
async def test_good_audio_is_transcribed(client, wav: bytes) -> None:
    """Every supported format is read, and the answer has the documented fields."""
    response = await client.post("/v1/transcribe", data=wav, headers=WAV)
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"text", "language", "audio_seconds", "processing_seconds"}
    assert body["language"] == "en"
    assert isinstance(body["text"], str)
    assert body["text"] == body["text"].lower()
    assert body["audio_seconds"] > 0
    assert body["processing_seconds"] >= 0


async def _raw_request(client, head: bytes, body: bytes = b"") -> bytes:
    """Send raw bytes to the server and return what it answers (until it closes or 5 s)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head + body)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def test_multi_gigabyte_content_length_is_refused_at_once(client) -> None:
    """A Content-Length of 5 GB is refused with 413 before any body is read."""
    for path in (b"/v1/transcribe", b"/v1/generate"):
        head = (
            b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            b"Authorization: Bearer " + AUTH["Authorization"].split()[1].encode() + b"\r\n"
            b"Content-Length: 5000000000\r\n\r\n"
        )
        answer = await _raw_request(client, head, b"RIFF")
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        assert b"payload_too_large" in answer


async def test_body_shorter_than_its_content_length(client) -> None:
    """A client that announces more than it sends and hangs up leaves the server fine."""
    head = (
        b"POST /v1/transcribe HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
        b"Authorization: Bearer " + AUTH["Authorization"].split()[1].encode() + b"\r\n"
        b"Content-Length: 100000\r\n\r\n"
    )
    _reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head + make_wav(0.5)[:1000])
    await writer.drain()
    writer.close()
    await asyncio.sleep(0.2)
    assert (await client.get("/v1/health")).status == 200


async def test_unknown_path_and_wrong_method(client) -> None:
    """404 and 405 are JSON errors too (405 keeps its Allow header)."""
    response = await client.get("/v2/generate")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
    response = await client.get("/v1/generate", headers=AUTH)
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert (await response.json())["error"]["code"] == "method_not_allowed"
