"""Errors the HTTP API turns into JSON: {"error": {"code", "message"}} with an HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """An error with an HTTP status, a snake_case code and a message a user can act on."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequestError(ApiError):
    """The request is malformed or out of range (400)."""

    status = 400
    code = "bad_request"


class PayloadTooLargeError(ApiError):
    """The request body is bigger than the server accepts (413)."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaError(ApiError):
    """The body's type or audio format is not one the server reads (415)."""

    status = 415
    code = "unsupported_media_type"


class ModelNotAvailableError(ApiError):
    """A model's files are missing or broken, or the model name is unknown (503 at run time)."""

    status = 503
    code = "model_not_available"


class ModelFailedError(ApiError):
    """The model raised while serving one request (out of memory, a model error) (500)."""

    status = 500
    code = "model_failed"


class UnauthorizedError(ApiError):
    """The bearer token is missing or wrong (401)."""

    status = 401
    code = "unauthorized"


class QueueFullError(ApiError):
    """The generation queue is full (429); the client should try again later."""

    status = 429
    code = "queue_full"


class ModelLoadingError(ApiError):
    """The model is still loading (503); `retry_after` seconds is a fair wait."""

    status = 503
    code = "model_loading"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClientGoneError(ApiError):
    """The client closed its connection before the answer was ready (nobody reads this)."""

    status = 499
    code = "client_closed_request"

    def __init__(self) -> None:
        super().__init__("the client closed the connection")
