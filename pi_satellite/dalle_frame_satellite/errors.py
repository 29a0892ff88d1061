"""Errors of the satellite, each carrying a reason a user can act on."""

from __future__ import annotations


class SatelliteError(Exception):
    """Base class of every error the satellite raises on purpose."""


class ConfigError(SatelliteError):
    """The config file or the token file is missing, unreadable or invalid."""


class HomeAssistantError(SatelliteError):
    """Home Assistant could not be reached or answered with an error."""


class HomeAssistantAuthError(HomeAssistantError):
    """Home Assistant rejected the access token."""


class HomeAssistantCommandError(HomeAssistantError):
    """A WebSocket command (a service call, a subscription) failed on the Home Assistant side."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ImageError(SatelliteError):
    """An image from Home Assistant cannot be decoded or prepared for the panel."""


class DisplayError(SatelliteError):
    """The display could not be opened or could not show an image."""


class AudioError(SatelliteError):
    """The microphone could not record."""
