"""Intents: paint a picture from a spoken prompt, paint something new, paint it again.

HA's intent component loads this platform when the integration is set up. Each handler has a
description and a slot schema, so LLM conversation agents get it as a tool; the built-in
agent reaches it through the sentence triggers in conversation_triggers.py. Replies are in
the speaker's language where voice_responses has it (English otherwise).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent

from .data import DalleFrameConfigEntry
from .errors import CannotConnectError, GenerationTimeoutError, ShowingHistoryError
from .ha_compat import vol
from .validation import validate_prompt
from .voice_painting import GenerationJob, async_start_painting
from .voice_responses import Reply, reply
from .voice_target import VoiceTargetError, frame_for_voice

INTENT_PAINT: Final = "DalleFramePaint"
INTENT_NEW_PROMPT: Final = "DalleFrameNewPrompt"
INTENT_REGENERATE: Final = "DalleFrameRegenerate"
SLOT_PROMPT: Final = "prompt"


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the frame's intents (called once by HA's intent component)."""
    intent.async_register(hass, PaintIntentHandler())
    intent.async_register(hass, NewPromptIntentHandler())
    intent.async_register(hass, RegenerateIntentHandler())


class FrameIntentHandler(intent.IntentHandler, ABC):
    """Starts a generation on the speaker's frame and says what is being painted."""

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Choose the frame, start the generation, reply at once."""
        slots = self.async_validate_slots(intent_obj.slots)
        response = intent_obj.create_response()
        language = intent_obj.language
        try:
            entry = frame_for_voice(intent_obj.hass, intent_obj.device_id)
            job, what = self.generation(entry, slots, language)
        except VoiceTargetError as err:
            return _error(response, str(err))
        except HomeAssistantError as err:  # a prompt the frame cannot take
            return _error(response, _sentence(reply(language, Reply.CANNOT_PAINT, error=str(err))))
        start = await async_start_painting(intent_obj.hass, entry, job, what)
        title = entry.title
        if start.error is not None:
            return _error(response, _spoken_failure(start.error, what, title, language))
        if start.result is not None:
            speech = reply(language, Reply.NOW_SHOWS, title=title, prompt=start.result.prompt)
        elif start.queued:
            speech = reply(language, Reply.QUEUED, title=title, what=what)
        else:
            speech = reply(language, Reply.PAINTING, title=title, what=what)
        response.async_set_speech(speech)
        return response

    @abstractmethod
    def generation(
        self, entry: DalleFrameConfigEntry, slots: dict[str, Any], language: str
    ) -> tuple[GenerationJob, str]:
        """Return the generation to start and how to name it in speech."""


class PaintIntentHandler(FrameIntentHandler):
    """Paint a picture of the spoken subject."""

    intent_type = INTENT_PAINT
    description = (
        "Paints a new picture of the given subject with AI and shows it on the e-paper "
        "picture frame"
    )

    @property
    def slot_schema(self) -> dict[Any, Any]:
        """The free-text subject."""
        return {
            vol.Required(
                SLOT_PROMPT,
                description="What to paint, in English, for example: a lighthouse in a storm",
            ): intent.non_empty_string
        }

    def generation(
        self, entry: DalleFrameConfigEntry, slots: dict[str, Any], language: str
    ) -> tuple[GenerationJob, str]:
        """Generate the prompt (checked here, so a bad one is reported at once)."""
        prompt = validate_prompt(slots[SLOT_PROMPT]["value"])
        controller = entry.runtime_data.controller
        return (lambda: controller.async_generate(prompt=prompt)), prompt


class NewPromptIntentHandler(FrameIntentHandler):
    """Paint a new subject from the frame's prompt list."""

    intent_type = INTENT_NEW_PROMPT
    description = (
        "Paints a new picture of a subject chosen from the picture frame's own prompt list"
    )

    def generation(
        self, entry: DalleFrameConfigEntry, slots: dict[str, Any], language: str
    ) -> tuple[GenerationJob, str]:
        """Generate from a new prompt from the list."""
        what = reply(language, Reply.SOMETHING_NEW)
        return entry.runtime_data.controller.async_new_prompt, what


class RegenerateIntentHandler(FrameIntentHandler):
    """Paint the current subject again with a new seed."""

    intent_type = INTENT_REGENERATE
    description = "Paints the picture frame's current subject again, as a different picture"

    def generation(
        self, entry: DalleFrameConfigEntry, slots: dict[str, Any], language: str
    ) -> tuple[GenerationJob, str]:
        """Generate the current prompt again."""
        controller = entry.runtime_data.controller
        what = (
            reply(language, Reply.AGAIN, prompt=controller.prompt)
            if controller.prompt
            else reply(language, Reply.SOMETHING_NEW)
        )
        return controller.async_regenerate, what


def _error(response: intent.IntentResponse, message: str) -> intent.IntentResponse:
    """Make `response` a failure that speaks `message`."""
    response.async_set_error(intent.IntentResponseErrorCode.FAILED_TO_HANDLE, message)
    return response


def _sentence(text: str) -> str:
    """End `text` with a full stop (translated error messages come without one)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _spoken_failure(err: HomeAssistantError, what: str, title: str, language: str) -> str:
    """Say why painting failed, short enough to listen to (the log has the details)."""
    if isinstance(err, ShowingHistoryError):
        return reply(language, Reply.SHOWS_HISTORY, title=title)
    if isinstance(err, (CannotConnectError, GenerationTimeoutError)):
        reason = reply(language, Reply.UNREACHABLE)
    else:
        reason = _sentence(str(err))
    return reply(language, Reply.COULD_NOT_PAINT, what=what, title=title, reason=reason)
