"""Client of the GPU server's HTTP API (v1), on Home Assistant's shared aiohttp session.

Every failure becomes one of the translated errors in errors.py. Generation uses the NDJSON
stream so that progress can be shown while the model works. The token is sent only in the
Authorization header and never appears in a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import aiohttp

from .capabilities import (
    GenerationSettings as GenerationSettings,  # re-exported: async_generate takes it
)
from .capabilities import (
    ModelCapabilities,
    UpscalerInfo,
    parse_capabilities,
    parse_upscaler,
)
from .const import LOGGER
from .errors import (
    CannotConnectError,
    DalleFrameError,
    GenerationFailedError,
    GenerationTimeoutError,
    InvalidAuthError,
    InvalidResponseError,
    RequestRejectedError,
    ServerBusyError,
    ServerLoadingError,
)

HEALTH_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
AUTH_CHECK_TIMEOUT: Final = aiohttp.ClientTimeout(total=15)
# A generation may wait in the server's queue and then take minutes on a CPU; what must not
# happen is silence: the stream sends a progress line per decoder step.
GENERATE_CONNECT_SECONDS: Final = 10.0
GENERATE_READ_SECONDS: Final = 600.0
MAX_LINE_BYTES: Final = 64 * 1024 * 1024
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
NDJSON: Final = "application/x-ndjson"
# Speech: at most 30 s of audio, transcribed beside a generation (wav2vec2 on a CPU: seconds).
TRANSCRIBE_TIMEOUT: Final = aiohttp.ClientTimeout(total=60, sock_connect=10)

ProgressCallback: TypeAlias = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class ServerHealth:
    """What GET /v1/health says about the server."""

    status: str
    version: str
    generator_model: str
    generator_device: str
    generator_ready: bool
    asr_model: str
    asr_ready: bool
    capabilities: ModelCapabilities | None = None
    """The loaded model's capabilities; None from an older server or while loading."""
    upscaler: UpscalerInfo | None = None
    asr_languages: tuple[str, ...] | None = ("en",)
    """Codes the speech model understands; ("en",) from an older server; None while loading."""

    @property
    def ready(self) -> bool:
        """Whether the generator can take a request now."""
        return self.status == "ok" and self.generator_ready


@dataclass(frozen=True, kw_only=True)
class GeneratedImage:
    """A PNG the server generated and how."""

    png: bytes
    seed: int
    seconds: float


def normalize_url(url: str) -> str:
    """Return the server's base URL without a trailing slash."""
    return url.strip().rstrip("/")


class DalleFrameClient:
    """Talks to one GPU server."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None) -> None:
        self._session = session
        self.url = normalize_url(url)
        self._token = token or None

    def talks_to(self, url: str, token: str | None) -> bool:
        """Whether this client uses the server `url` with `token`."""
        return (self.url, self._token) == (normalize_url(url), token or None)

    @property
    def _auth_headers(self) -> dict[str, str]:
        """The Authorization header, when a token is configured."""
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def _cannot_connect(self, err: BaseException) -> CannotConnectError:
        """Build the error for a network failure, naming the server but never the token."""
        reason = type(err).__name__ if not str(err) else f"{type(err).__name__}: {err}"
        return CannotConnectError(url=self.url, reason=reason)

    async def async_health(self) -> ServerHealth:
        """Return the server's health; raise CannotConnectError or InvalidResponseError."""
        try:
            async with self._session.get(
                f"{self.url}/v1/health", timeout=HEALTH_TIMEOUT
            ) as response:
                if response.status != 200:
                    raise InvalidResponseError(reason=f"/v1/health answered HTTP {response.status}")
                body = await _json_body(response)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise self._cannot_connect(err) from err
        return _parse_health(body)

    async def async_check_token(self) -> None:
        """Check the token without generating anything; raise InvalidAuthError if refused.

        /v1/health never needs the token, so this posts an empty prompt to /v1/generate: the
        server checks the token first (401) and then rejects the prompt (400).
        """
        try:
            async with self._session.post(
                f"{self.url}/v1/generate",
                json={"prompt": ""},
                headers=self._auth_headers,
                timeout=AUTH_CHECK_TIMEOUT,
            ) as response:
                # 400: the token passed and the empty prompt was refused; 429 and 503: the
                # token passed and the server is busy or still loading.
                if response.status in (400, 422, 429, 503):
                    return
                raise await _error_from_response(response)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise self._cannot_connect(err) from err

    async def async_generate(
        self,
        prompt: str,
        seed: int | None,
        on_progress: ProgressCallback | None = None,
        settings: GenerationSettings | None = None,
    ) -> GeneratedImage:
        """Generate one image; report (step, total) to `on_progress` as the stream arrives.

        `settings` adds size, steps and guidance to the request (only what has a value).
        """
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=GENERATE_CONNECT_SECONDS, sock_read=GENERATE_READ_SECONDS
        )
        try:
            async with self._session.post(
                f"{self.url}/v1/generate",
                json={
                    "prompt": prompt,
                    "seed": seed,
                    **(settings or GenerationSettings()).as_json(),
                },
                headers={**self._auth_headers, "Accept": NDJSON},
                timeout=timeout,
            ) as response:
                if response.status != 200:
                    raise await _error_from_response(response)
                if response.content_type == "image/png":
                    return await _image_from_png_response(response)
                if response.content_type != NDJSON:
                    raise InvalidResponseError(
                        reason=f"unexpected content type {response.content_type}"
                    )
                return await _image_from_stream(response, on_progress)
        except TimeoutError as err:
            raise GenerationTimeoutError(seconds=f"{GENERATE_READ_SECONDS:.0f}") from err
        except (aiohttp.ClientError, ConnectionError) as err:
            raise self._cannot_connect(err) from err

    async def async_transcribe(self, wav: bytes, language: str | None = None) -> str:
        """Return the text the server's ASR hears in `wav` (16-bit PCM WAV, at most 30 s).

        `language` (ISO 639-1) is sent as `?language=`; the server refuses one it lacks.
        """
        try:
            async with self._session.post(
                f"{self.url}/v1/transcribe",
                params={"language": language} if language else None,
                data=wav,
                headers={**self._auth_headers, "Content-Type": "audio/wav"},
                timeout=TRANSCRIBE_TIMEOUT,
            ) as response:
                if response.status != 200:
                    raise await _error_from_response(response)
                body = await _json_body(response)
        except TimeoutError as err:
            raise CannotConnectError(
                url=self.url,
                reason=f"no answer to /v1/transcribe within {TRANSCRIBE_TIMEOUT.total:.0f} s",
            ) from err
        except (aiohttp.ClientError, ConnectionError) as err:
            raise self._cannot_connect(err) from err
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise InvalidResponseError(reason="/v1/transcribe did not answer a text")
        return text


async def _image_from_stream(
    response: aiohttp.ClientResponse, on_progress: ProgressCallback | None
) -> GeneratedImage:
    """Read progress lines until the result (or error) line."""
    async for line in _ndjson_lines(response.content):
        kind = line.get("type")
        if kind == "progress":
            if on_progress is not None:
                step, total = line.get("step"), line.get("total")
                if isinstance(step, int) and isinstance(total, int) and total > 0:
                    on_progress(step, total)
        elif kind == "result":
            return _image_from_result_line(line)
        elif kind == "error":
            raise _error_from_body(500, line, None)
        else:
            LOGGER.debug("Ignoring a stream line of unknown type %r", kind)
    raise CannotConnectError(url=str(response.url.origin()), reason="the stream ended early")


async def _ndjson_lines(stream: aiohttp.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """Yield the JSON objects of an NDJSON stream (lines may be far longer than 64 KiB)."""
    buffer = bytearray()
    async for chunk in stream.iter_any():
        buffer.extend(chunk)
        while (end := buffer.find(b"\n")) >= 0:
            raw = bytes(buffer[:end])
            del buffer[: end + 1]
            if raw.strip():
                yield _parse_line(raw)
        if len(buffer) > MAX_LINE_BYTES:
            raise InvalidResponseError(reason="a stream line is larger than 64 MiB")
    if bytes(buffer).strip():
        yield _parse_line(bytes(buffer))


def _parse_line(raw: bytes) -> dict[str, Any]:
    """Decode one NDJSON line into an object."""
    try:
        line = json.loads(raw)
    except ValueError as err:
        raise InvalidResponseError(reason="a stream line is not JSON") from err
    if not isinstance(line, dict):
        raise InvalidResponseError(reason="a stream line is not a JSON object")
    return line


def _image_from_result_line(line: dict[str, Any]) -> GeneratedImage:
    """Build the image from the stream's result line."""
    try:
        png = base64.b64decode(line["png_base64"], validate=True)
        seed = int(line["seed"])
        seconds = float(line["seconds"])
    except (KeyError, TypeError, ValueError, binascii.Error) as err:
        raise InvalidResponseError(
            reason="the result line lacks png_base64, seed or seconds"
        ) from err
    return GeneratedImage(png=_checked_png(png), seed=seed, seconds=seconds)


async def _image_from_png_response(response: aiohttp.ClientResponse) -> GeneratedImage:
    """Build the image from a plain PNG answer (a server that ignores the Accept header)."""
    png = await response.read()
    try:
        seed = int(response.headers["X-Seed"])
        seconds = float(response.headers["X-Generation-Seconds"])
    except (KeyError, ValueError) as err:
        raise InvalidResponseError(reason="X-Seed or X-Generation-Seconds is missing") from err
    return GeneratedImage(png=_checked_png(png), seed=seed, seconds=seconds)


def _checked_png(png: bytes) -> bytes:
    """Return `png` if it starts like a PNG file."""
    if not png.startswith(PNG_SIGNATURE):
        raise InvalidResponseError(reason="the image is not a PNG")
    return png


async def _json_body(response: aiohttp.ClientResponse) -> Any:
    """Decode a JSON answer."""
    try:
        return await response.json(content_type=None)
    except ValueError as err:
        raise InvalidResponseError(reason=f"{response.url.path} did not answer JSON") from err


def _parse_health(body: Any) -> ServerHealth:
    """Read /v1/health's JSON."""
    try:
        generator = body["generator"]
        asr = body.get("asr") or {}
        return ServerHealth(
            status=str(body["status"]),
            version=str(body.get("version", "")),
            generator_model=str(generator.get("model", "")),
            generator_device=str(generator.get("device", "")),
            generator_ready=bool(generator.get("ready", False)),
            asr_model=str(asr.get("model", "")),
            asr_ready=bool(asr.get("ready", False)),
            asr_languages=parse_asr_languages(asr),
            capabilities=parse_capabilities(generator.get("capabilities")),
            upscaler=parse_upscaler(generator.get("upscaler")),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise InvalidResponseError(reason="/v1/health lacks status or generator") from err


def parse_asr_languages(asr: dict[str, Any]) -> tuple[str, ...] | None:
    """Health's asr.languages: absent (a server from before issue 20) means English."""
    if "languages" not in asr:
        return ("en",)
    languages = asr["languages"]
    if not isinstance(languages, list):
        return None
    return tuple(str(code) for code in languages)


async def _error_from_response(response: aiohttp.ClientResponse) -> DalleFrameError:
    """Turn a non-200 answer into the matching error."""
    try:
        body: Any = json.loads(await response.read())
    except ValueError:
        body = None
    return _error_from_body(response.status, body, response.headers.get("Retry-After"))


def _error_from_body(status: int, body: Any, retry_after: str | None) -> DalleFrameError:
    """Map an HTTP status and the API's {"error": {"code", "message"}} to an error."""
    error = body.get("error") if isinstance(body, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    message = message or code or f"HTTP {status}"
    if status == 401:
        return InvalidAuthError()
    if status == 429 or code == "queue_full":
        return ServerBusyError()
    if status == 503 or code == "model_not_available":
        return ServerLoadingError(retry_after=retry_after or "a few")
    if status in (400, 404, 405, 413, 415, 422):
        return RequestRejectedError(message=message)
    return GenerationFailedError(message=message)
