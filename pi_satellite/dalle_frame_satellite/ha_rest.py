"""Home Assistant REST calls: the Frame image through image_proxy, and speech to text."""

from __future__ import annotations

import logging
from typing import Any, Final

import aiohttp

from .errors import HomeAssistantAuthError, HomeAssistantError, ImageError
from .secret import Secret

_LOGGER = logging.getLogger(__name__)

MAX_IMAGE_BYTES: Final = 32 * 1024 * 1024
"""Largest image the satellite downloads (a 1600x1200 palette PNG is well under 1 MB)."""

PCM_RATE: Final = 16000
"""Sample rate of the audio sent to STT (16-bit mono PCM)."""


def _headers(token: Secret) -> dict[str, str]:
    """Return the bearer authorization header."""
    return {"Authorization": f"Bearer {token.reveal()}"}


async def fetch_image(
    session: aiohttp.ClientSession,
    base_url: str,
    token: Secret,
    entity_id: str,
    *,
    time_limit: float,
    verify_ssl: bool = True,
) -> bytes:
    """Download an image entity's picture; raise HomeAssistantError or ImageError with the reason.

    GET /api/image_proxy/<entity_id> with the bearer token.
    """
    url = f"{base_url}/api/image_proxy/{entity_id}"
    try:
        async with session.get(
            url,
            headers=_headers(token),
            timeout=aiohttp.ClientTimeout(total=time_limit),
            ssl=verify_ssl,
        ) as response:
            _raise_for_status(response, f"the picture of {entity_id}")
            content_type = response.headers.get("Content-Type", "")
            if not content_type.startswith("image/"):
                raise ImageError(f"Home Assistant sent {content_type or 'no type'}, not an image")
            if (response.content_length or 0) > MAX_IMAGE_BYTES:
                raise ImageError(f"the image is larger than {MAX_IMAGE_BYTES} bytes")
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data.extend(chunk)
                if len(data) > MAX_IMAGE_BYTES:
                    raise ImageError(f"the image is larger than {MAX_IMAGE_BYTES} bytes")
            return bytes(data)
    except TimeoutError:
        raise HomeAssistantError(f"fetching the picture took over {time_limit:g} s") from None
    except aiohttp.ClientPayloadError as err:
        raise ImageError(f"the picture arrived incomplete: {err}") from None
    except aiohttp.ClientError as err:
        raise HomeAssistantError(f"cannot fetch the picture: {err}") from None


async def transcribe(
    session: aiohttp.ClientSession,
    base_url: str,
    token: Secret,
    stt_entity: str,
    pcm: bytes,
    *,
    language: str,
    time_limit: float,
    verify_ssl: bool = True,
) -> str:
    """Send 16 kHz 16-bit mono PCM to an STT entity and return the text ("" if none heard).

    POST /api/stt/<stt entity id> with the X-Speech-Content header and the raw PCM body.
    """
    headers = {
        **_headers(token),
        "X-Speech-Content": (
            f"format=wav; codec=pcm; sample_rate={PCM_RATE}; bit_rate=16; channel=1; "
            f"language={language}"
        ),
        "Content-Type": "application/octet-stream",
    }
    url = f"{base_url}/api/stt/{stt_entity}"
    try:
        async with session.post(
            url,
            data=pcm,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=time_limit),
            ssl=verify_ssl,
        ) as response:
            if response.status == 404:
                raise HomeAssistantError(f"Home Assistant has no STT entity {stt_entity}")
            if response.status == 415:
                raise HomeAssistantError(
                    f"{stt_entity} does not accept 16 kHz 16-bit mono PCM in language {language!r}"
                )
            _raise_for_status(response, f"speech to text with {stt_entity}")
            answer: Any = await response.json(content_type=None)
    except TimeoutError:
        raise HomeAssistantError(f"speech to text took longer than {time_limit:g} s") from None
    except aiohttp.ClientError as err:
        raise HomeAssistantError(f"cannot reach Home Assistant for speech to text: {err}") from None
    except ValueError:
        raise HomeAssistantError(f"{stt_entity} answered with something that is not JSON") from None
    if not isinstance(answer, dict):
        kind = type(answer).__name__
        raise HomeAssistantError(f"{stt_entity} answered with an unexpected {kind}")
    if answer.get("result") != "success":
        raise HomeAssistantError(f"{stt_entity} could not transcribe the recording")
    return str(answer.get("text") or "").strip()


def _raise_for_status(response: aiohttp.ClientResponse, what: str) -> None:
    """Turn an HTTP error status into an exception that says what failed."""
    if response.status in (401, 403):
        raise HomeAssistantAuthError(
            f"Home Assistant refused {what} (HTTP {response.status}): check the access token"
        )
    if response.status >= 400:
        raise HomeAssistantError(f"Home Assistant answered HTTP {response.status} for {what}")
