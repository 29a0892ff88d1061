"""The GPU server client against the stand-in server: success paths and every error mapping."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator

import aiohttp
import pytest

from custom_components.dalle_frame import api
from custom_components.dalle_frame.api import DalleFrameClient
from custom_components.dalle_frame.errors import (
    CannotConnectError,
    GenerationFailedError,
    GenerationTimeoutError,
    InvalidAuthError,
    InvalidResponseError,
    RequestRejectedError,
    ServerBusyError,
    ServerLoadingError,
)

from .fake_server import ErrorAnswer, FakeGpuServer, make_art_png


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session (the integration uses HA's shared one)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, server: FakeGpuServer) -> DalleFrameClient:
    """A client with the right token."""
    return DalleFrameClient(session, server.url + "/", server.token)


async def test_health(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """Health is parsed; the trailing slash of the URL does not matter."""
    health = await client.async_health()
    assert health.ready
    assert health.version == "1.0.0-test"
    assert health.generator_model == "test"
    server.health_status = "loading"
    assert not (await client.async_health()).ready


async def test_health_of_something_else(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """A web server that is not ours is an invalid response, not a connection error."""
    server.health_http_status = 404
    with pytest.raises(InvalidResponseError) as err:
        await client.async_health()
    assert "404" in err.value.translation_placeholders["reason"]


async def test_health_unreachable(session: aiohttp.ClientSession, server: FakeGpuServer) -> None:
    """A closed port is a connection error naming the URL but not the token."""
    await server.stop()
    client = DalleFrameClient(session, server.url, server.token)
    with pytest.raises(CannotConnectError) as err:
        await client.async_health()
    placeholders = err.value.translation_placeholders
    assert placeholders["url"] == server.url
    assert server.token not in json.dumps(placeholders)


async def test_generate_streams_progress(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """The NDJSON stream reports progress and ends with the picture."""
    progress: list[tuple[int, int]] = []
    image = await client.async_generate("a red car", 7, lambda s, t: progress.append((s, t)))
    assert image.png == make_art_png(7)
    assert image.seed == 7
    assert image.seconds == server.seconds
    assert progress[0] == (0, 256)
    assert progress[-1] == (256, 256)
    assert server.requests == [{"prompt": "a red car", "seed": 7}]
    assert server.auth_headers == [f"Bearer {server.token}"]


async def test_generate_plain_png(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """A server that answers image/png (ignoring Accept) works too, seed from the headers."""
    server.ignore_accept = True
    image = await client.async_generate("a red car", None)
    assert image.png == make_art_png(1000)
    assert image.seed == 1000


async def test_generate_without_token(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    """No token configured: no Authorization header is sent."""
    fake = FakeGpuServer(token="")
    await fake.start()
    try:
        client = DalleFrameClient(session, fake.url, None)
        await client.async_generate("a red car", 1)
        await client.async_check_token()
    finally:
        await fake.stop()
    assert fake.auth_headers == [None, None]


async def test_long_result_line(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """Result lines far beyond aiohttp's 128 KiB readline limit are read whole."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2048  # 512 KiB
    result = {"type": "result", "seed": 3, "seconds": 2.0}
    result["png_base64"] = base64.b64encode(png).decode()
    server.raw_generate_body = (
        b'{"type": "progress", "step": 0, "total": 256}\n' + json.dumps(result).encode()
    )  # the last line has no newline: still read
    image = await client.async_generate("a red car", None)
    assert image.png == png


@pytest.mark.parametrize(
    ("answer", "error", "placeholders"),
    [
        (ErrorAnswer(401, "unauthorized", "wrong token"), InvalidAuthError, {}),
        (ErrorAnswer(429, "queue_full", "queue full"), ServerBusyError, {}),
        (
            ErrorAnswer(503, "model_not_available", "loading", {"Retry-After": "12"}),
            ServerLoadingError,
            {"retry_after": "12"},
        ),
        (
            ErrorAnswer(400, "bad_request", "prompt too long"),
            RequestRejectedError,
            {"message": "prompt too long"},
        ),
        (ErrorAnswer(413, "payload_too_large", "big"), RequestRejectedError, {"message": "big"}),
        (
            ErrorAnswer(415, "unsupported_media_type", "json only"),
            RequestRejectedError,
            {"message": "json only"},
        ),
        (
            ErrorAnswer(500, "model_failed", "out of memory"),
            GenerationFailedError,
            {"message": "out of memory"},
        ),
        (
            ErrorAnswer(200, "model_failed", "NaN in logits", in_stream=True),
            GenerationFailedError,
            {"message": "NaN in logits"},
        ),
    ],
)
async def test_error_mapping(
    client: DalleFrameClient,
    server: FakeGpuServer,
    answer: ErrorAnswer,
    error: type[Exception],
    placeholders: dict[str, str],
) -> None:
    """Each API error becomes its own translated error."""
    server.errors.append(answer)
    with pytest.raises(error) as err:
        await client.async_generate("a red car", None)
    assert err.value.translation_placeholders == placeholders


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json\n", "not JSON"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"type": "result", "seed": 1, "seconds": 1, "png_base64": "***"}\n', "lacks"),
        (b'{"type": "result", "seed": 1, "png_base64": ""}\n', "lacks"),
        (b'{"type": "result", "seed": 1, "seconds": 1, "png_base64": "AAAA"}\n', "not a PNG"),
    ],
)
async def test_broken_stream(
    client: DalleFrameClient, server: FakeGpuServer, body: bytes, reason: str
) -> None:
    """Garbage in the stream is an invalid response with the reason."""
    server.raw_generate_body = body
    with pytest.raises(InvalidResponseError) as err:
        await client.async_generate("a red car", None)
    assert reason in err.value.translation_placeholders["reason"]


async def test_stream_ends_early(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """A stream that stops before its result line is a broken connection; odd lines are skipped."""
    server.raw_generate_body = b'{"type": "progress", "step": 1, "total": 256}\n{"type": "hello"}\n'
    with pytest.raises(CannotConnectError) as err:
        await client.async_generate("a red car", None)
    assert err.value.translation_placeholders["reason"] == "the stream ended early"


async def test_server_dies_mid_stream(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """A server killed during a generation is a connection error, at once."""
    server.die_mid_stream = True
    with pytest.raises(CannotConnectError):
        await client.async_generate("a red car", None)


async def test_silent_server_times_out(
    client: DalleFrameClient, server: FakeGpuServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that stops sending during a generation times out."""
    monkeypatch.setattr(api, "GENERATE_READ_SECONDS", 0.2)
    server.gate = asyncio.Event()
    with pytest.raises(GenerationTimeoutError) as err:
        await client.async_generate("a red car", None)
    server.gate.set()
    assert err.value.translation_placeholders == {"seconds": "0"}


async def test_unexpected_content_type(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """A 200 answer that is neither PNG nor NDJSON is an invalid response."""
    server.ignore_accept = True
    server.raw_generate_body = None

    async def html(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(text="<html/>", content_type="text/html")

    server._generate = html  # type: ignore[method-assign]
    await server.stop()
    await server.start()
    with pytest.raises(InvalidResponseError) as err:
        await client.async_generate("a red car", None)
    assert "text/html" in err.value.translation_placeholders["reason"]


async def test_plain_png_without_headers(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """A PNG answer without X-Seed is an invalid response."""

    async def bare(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(body=make_art_png(1), content_type="image/png")

    server._generate = bare  # type: ignore[method-assign]
    await server.stop()
    await server.start()
    with pytest.raises(InvalidResponseError):
        await client.async_generate("a red car", None)


async def test_check_token(session: aiohttp.ClientSession, server: FakeGpuServer) -> None:
    """The token check generates nothing and tells a wrong token apart."""
    await DalleFrameClient(session, server.url, server.token).async_check_token()
    with pytest.raises(InvalidAuthError):
        await DalleFrameClient(session, server.url, "wrong").async_check_token()
    with pytest.raises(InvalidAuthError):
        await DalleFrameClient(session, server.url, None).async_check_token()
    assert server.requests == []


async def test_check_token_while_loading(
    session: aiohttp.ClientSession, server: FakeGpuServer
) -> None:
    """A server still loading its models (503) has accepted the token; a closed port has not."""

    async def loading(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"error": {"code": "loading"}}, status=503)

    server._generate = loading  # type: ignore[method-assign]
    await server.stop()
    await server.start()
    await DalleFrameClient(session, server.url, server.token).async_check_token()
    await server.stop()
    with pytest.raises(CannotConnectError):
        await DalleFrameClient(session, server.url, server.token).async_check_token()


async def test_overlong_stream_line(
    client: DalleFrameClient, server: FakeGpuServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line that never ends is cut off at the limit instead of filling the memory."""
    monkeypatch.setattr(api, "MAX_LINE_BYTES", 1000)
    server.raw_generate_body = b'{"type": "progress"' + b" " * 5000
    with pytest.raises(InvalidResponseError) as err:
        await client.async_generate("a red car", None)
    assert "larger than" in err.value.translation_placeholders["reason"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>hello</html>", "did not answer JSON"),
        (b'{"status": "ok"}', "lacks status or generator"),
        (b'["ok"]', "lacks status or generator"),
    ],
)
async def test_health_answers_that_are_not_ours(
    client: DalleFrameClient, server: FakeGpuServer, body: bytes, reason: str
) -> None:
    """A 200 health answer that is not the API's JSON is an invalid response."""

    async def health(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(body=body, content_type="application/json")

    server._health = health  # type: ignore[method-assign]
    await server.stop()
    await server.start()
    with pytest.raises(InvalidResponseError) as err:
        await client.async_health()
    assert reason in err.value.translation_placeholders["reason"]


async def test_error_without_json_body(client: DalleFrameClient, server: FakeGpuServer) -> None:
    """An error page that is not JSON (a proxy in between) still maps by its status."""

    async def proxy_error(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(status=502, text="<html>Bad gateway</html>")

    server._generate = proxy_error  # type: ignore[method-assign]
    await server.stop()
    await server.start()
    with pytest.raises(GenerationFailedError) as err:
        await client.async_generate("a red car", None)
    assert err.value.translation_placeholders == {"message": "HTTP 502"}
