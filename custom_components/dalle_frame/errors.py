"""Errors of the dalle_frame integration, each with a translated message a user can act on."""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN


class DalleFrameError(HomeAssistantError):
    """Base of every error this integration raises; the message comes from translations."""

    translation_key_name: str = "unknown_error"

    def __init__(self, **placeholders: str) -> None:
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=self.translation_key_name,
            translation_placeholders=placeholders,
        )


class CannotConnectError(DalleFrameError):
    """The GPU server cannot be reached, or the connection broke (placeholders: url, reason)."""

    translation_key_name = "cannot_connect"


class InvalidAuthError(DalleFrameError):
    """The GPU server refused the token (HTTP 401)."""

    translation_key_name = "invalid_auth"


class ServerBusyError(DalleFrameError):
    """The GPU server's queue is full (HTTP 429)."""

    translation_key_name = "server_busy"


class ServerLoadingError(DalleFrameError):
    """The GPU server is still loading its models (HTTP 503; placeholder: retry_after)."""

    translation_key_name = "server_loading"


class RequestRejectedError(DalleFrameError):
    """The GPU server rejected the request as bad input (HTTP 400/413/415; placeholder: message)."""

    translation_key_name = "request_rejected"


class GenerationFailedError(DalleFrameError):
    """The model failed on this request (HTTP 500 or a stream error; placeholder: message)."""

    translation_key_name = "generation_failed"


class InvalidResponseError(DalleFrameError):
    """The GPU server answered something that is not the API's format (placeholder: reason)."""

    translation_key_name = "invalid_response"


class GenerationTimeoutError(DalleFrameError):
    """The GPU server stopped answering during a generation (placeholder: seconds)."""

    translation_key_name = "generation_timeout"


class ShowingHistoryError(DalleFrameError):
    """No new picture could be made, so one from the history is shown (placeholder: reason)."""

    translation_key_name = "showing_history"


class FrameUnloadedError(DalleFrameError):
    """The frame was unloaded (removed, reloaded or HA stopping) before the request finished."""

    translation_key_name = "frame_unloaded"


class AITaskFailedError(DalleFrameError):
    """The AI Task entity the frame paints through failed (placeholders: entity_id, reason)."""

    translation_key_name = "ai_task_failed"
