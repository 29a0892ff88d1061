"""What the buttons do, through Home Assistant's services and STT API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from .audio import Recorder
from .errors import AudioError, HomeAssistantCommandError, HomeAssistantError
from .ha_link import HaLink
from .led import LedMode, StatusLed
from .secret import Secret
from .settings import AudioSettings, ButtonAction, HomeAssistantSettings

_LOGGER = logging.getLogger(__name__)

DOMAIN: Final = "dalle_frame"

Transcriber = Callable[[Secret, bytes], Awaitable[str]]


class FrameActions:
    """Runs one button action at a time (the caller enforces the "one at a time")."""

    def __init__(
        self,
        settings: HomeAssistantSettings,
        audio: AudioSettings,
        link: HaLink,
        recorder: Recorder,
        transcribe: Transcriber,
        led: StatusLed,
    ) -> None:
        self._settings = settings
        self._audio = audio
        self._link = link
        self._recorder = recorder
        self._transcribe = transcribe
        self._led = led
        self.config_entry_id: str | None = settings.config_entry_id

    async def run(self, action: ButtonAction) -> None:
        """Run an action; failures are logged with their reason, never raised."""
        handlers: dict[ButtonAction, Callable[[], Awaitable[None]]] = {
            ButtonAction.REGENERATE: self.regenerate,
            ButtonAction.NEW_PROMPT: self.new_prompt,
            ButtonAction.SPEAK: self.speak,
            ButtonAction.TOGGLE_AUTO_MODE: self.toggle_auto_mode,
        }
        handler = handlers.get(action)
        if handler is None:
            return
        try:
            await handler()
        except HomeAssistantCommandError as err:
            _LOGGER.warning("%s failed in Home Assistant: %s", _title(action), err)
        except (HomeAssistantError, AudioError) as err:
            _LOGGER.warning("%s failed: %s", _title(action), err)

    async def regenerate(self) -> None:
        """Ask for new art from the current prompt (dalle_frame.regenerate)."""
        await self._generate("regenerate", {})

    async def new_prompt(self) -> None:
        """Ask for new art from a new prompt of the list (dalle_frame.new_prompt)."""
        await self._generate("new_prompt", {})

    async def speak(self) -> None:
        """Record a prompt, transcribe it, and generate art from it."""
        self._link.require_connection()  # fail before recording, not after
        with self._led.hold(LedMode.LISTENING):
            _LOGGER.info("Listening for %.1f s: say what to paint", self._audio.seconds)
            pcm = await self._recorder.record(self._audio.seconds)
        with self._led.hold(LedMode.WAITING):
            token = self._link.token
            if token is None:
                raise HomeAssistantError("not connected to Home Assistant (reconnecting)")
            text = await self._transcribe(token, pcm)
        if not text:
            _LOGGER.info("Nothing heard; no new art")
            return
        _LOGGER.info("Heard: %r", text)
        await self._generate("generate", {"prompt": text})

    async def toggle_auto_mode(self) -> None:
        """Toggle the frame's Auto mode switch."""
        connection = self._link.require_connection()
        entity_id = self._settings.auto_mode_entity
        await connection.call_service(
            entity_id.split(".", 1)[0],
            "toggle",
            target={"entity_id": entity_id},
            time_limit=self._settings.request_timeout_seconds,
        )
        _LOGGER.info("Auto mode toggled")

    async def _generate(self, service: str, data: dict[str, Any]) -> None:
        """Call a dalle_frame generation service and log what it made."""
        connection = self._link.require_connection()
        if self.config_entry_id:
            data = {**data, "config_entry_id": self.config_entry_id}
        _LOGGER.info("Asking Home Assistant for new art (%s.%s)", DOMAIN, service)
        with self._led.hold(LedMode.WAITING):
            response = await connection.call_service(
                DOMAIN,
                service,
                data=data,
                return_response=True,
                time_limit=self._settings.service_timeout_seconds,
            )
        if isinstance(response, dict):
            _LOGGER.info(
                "New art: %r (seed %s, %.1f s)",
                response.get("prompt"),
                response.get("seed"),
                float(response.get("seconds") or 0),
            )
        else:
            _LOGGER.info("New art requested")


def _title(action: ButtonAction) -> str:
    """Return a capitalised action name for log lines."""
    return action.value.replace("_", " ").capitalize()
