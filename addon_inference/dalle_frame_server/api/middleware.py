"""Middlewares: JSON errors for every failure, and the bearer token check."""

from __future__ import annotations

import hmac
import logging
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..errors import ApiError, ModelLoadingError, UnauthorizedError

_LOGGER = logging.getLogger(__name__)

PROTECTED_PATHS: Final = frozenset({"/v1/generate", "/v1/transcribe"})
"""Paths that need the token; health and the OpenAPI document never do."""

_HTTP_CODES: Final = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
_KEPT_HEADERS: Final = ("Allow", "WWW-Authenticate", "Retry-After")


def error_response(status: int, code: str, message: str) -> web.Response:
    """Return the API's error body: {"error": {"code", "message"}}."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiErrors, aiohttp's HTTP errors and unexpected exceptions into JSON errors."""
    try:
        return await handler(request)
    except ApiError as error:
        response = error_response(error.status, error.code, error.message)
        if isinstance(error, ModelLoadingError):
            response.headers["Retry-After"] = str(error.retry_after)
        elif error.status == 503:
            response.headers["Retry-After"] = "60"
        elif isinstance(error, UnauthorizedError):
            response.headers["WWW-Authenticate"] = 'Bearer realm="dalle_frame"'
        if error.status >= 500:
            _LOGGER.warning("%s %s: %s", request.method, request.path, error.message)
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = _HTTP_CODES.get(error.status, f"http_{error.status}")
        message = error.text if error.text and error.content_type == "text/plain" else error.reason
        response = error_response(error.status, code, _describe(error.status, message))
        for name in _KEPT_HEADERS:
            if name in error.headers:
                response.headers[name] = error.headers[name]
        return response
    except Exception:
        _LOGGER.exception("Unexpected error serving %s %s", request.method, request.path)
        return error_response(
            500, "internal_error", "the server failed unexpectedly; see its log for details"
        )


def auth_middleware(token: str) -> Middleware:
    """Require `Authorization: Bearer <token>` on the protected paths (constant-time check)."""
    expected = token.encode("utf-8")

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PROTECTED_PATHS:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not given:
                raise UnauthorizedError(
                    "this server needs a token: send the header Authorization: Bearer <token>"
                )
            if not hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), expected):
                raise UnauthorizedError("the token is wrong; check the token configured in HA")
        return await handler(request)

    return check_token


def _describe(status: int, message: str) -> str:
    """Give aiohttp's terse HTTP error texts a hint of what to do."""
    if status == 404:
        return f"{message}: the API lives under /v1 (see /v1/openapi.json)"
    if status == 405:
        return f"{message}: see /v1/openapi.json for the methods of each path"
    return message
