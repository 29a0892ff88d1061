"""Sentence triggers on HA's built-in conversation agent: "paint {prompt}" and friends.

HA has no public way for an integration to add sentences to the built-in agent. Its agent
manager's `register_trigger` (what automations' conversation triggers use) does it; that is
an internal API whose form changed within the supported range, so `ha_compat` bridges it and,
where it fails, a log line points to the blueprint instead. The assist pipeline checks
sentence triggers before any agent, so the sentences also work with an LLM agent. The
triggers exist while at least one frame is loaded; each sentence runs the matching intent
from intent.py for the device that spoke. Every language's sentences are registered (the agent
matches triggers whatever the pipeline's language); the speaker's language picks the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .data import DalleFrameConfigEntry
from .ha_compat import register_sentence_trigger
from .intent import INTENT_NEW_PROMPT, INTENT_PAINT, INTENT_REGENERATE, SLOT_PROMPT
from .voice_responses import Reply, reply
from .voice_sentences import ALL_SENTENCES, VoiceAction, parse_voice_command

if TYPE_CHECKING:
    from hassil.recognize import RecognizeResult
    from homeassistant.components.conversation import ConversationInput

CONVERSATION: Final = "conversation"
BLUEPRINT_HINT: Final = (
    "use the blueprint blueprints/automation/dalle_frame/paint_from_voice.yaml instead"
)
ASK_FOR_A_PROMPT: Final = reply("en", Reply.ASK_FOR_A_PROMPT)
_INTENTS: Final = {
    VoiceAction.PAINT: INTENT_PAINT,
    VoiceAction.NEW_PROMPT: INTENT_NEW_PROMPT,
    VoiceAction.REGENERATE: INTENT_REGENERATE,
}


@dataclass
class SentenceTriggers:
    """The registration shared by every loaded frame."""

    entry_ids: set[str] = field(default_factory=set)
    unregister: CALLBACK_TYPE | None = None
    stop_waiting: CALLBACK_TYPE | None = None


DATA_SENTENCE_TRIGGERS: Final[HassKey[SentenceTriggers]] = HassKey(f"{DOMAIN}_sentence_triggers")


@callback
def async_setup_sentence_triggers(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> None:
    """Make the sentences work while `entry` is loaded (registered once for all frames)."""
    triggers = hass.data.setdefault(DATA_SENTENCE_TRIGGERS, SentenceTriggers())
    first = not triggers.entry_ids
    triggers.entry_ids.add(entry.entry_id)
    entry.async_on_unload(lambda: _async_release(hass, entry.entry_id))
    if not first:
        return
    if CONVERSATION in hass.config.components:
        _async_register(hass, triggers)
        return

    @callback
    def _conversation_loaded(event: Event[Any]) -> None:
        """Register once the conversation integration is set up."""
        if event.data.get("component") == CONVERSATION:
            _async_stop_waiting(triggers)
            _async_register(hass, triggers)

    LOGGER.debug("Voice sentences wait for the conversation integration to load")
    triggers.stop_waiting = hass.bus.async_listen(EVENT_COMPONENT_LOADED, _conversation_loaded)


@callback
def _async_release(hass: HomeAssistant, entry_id: str) -> None:
    """Forget `entry_id`; remove the sentences with the last frame."""
    triggers = hass.data[DATA_SENTENCE_TRIGGERS]
    triggers.entry_ids.discard(entry_id)
    if triggers.entry_ids:
        return
    _async_stop_waiting(triggers)
    if triggers.unregister is not None:
        triggers.unregister()
        triggers.unregister = None
        LOGGER.debug("Voice sentences removed from the built-in conversation agent")


@callback
def _async_stop_waiting(triggers: SentenceTriggers) -> None:
    """Stop waiting for the conversation integration."""
    if triggers.stop_waiting is not None:
        triggers.stop_waiting()
        triggers.stop_waiting = None


@callback
def _async_register(hass: HomeAssistant, triggers: SentenceTriggers) -> None:
    """Register the sentences on the built-in agent, if this HA version still allows it."""

    async def sentence_heard(user_input: ConversationInput, result: RecognizeResult) -> str:
        """Trigger callback: run the intent the text asks for; return the speech."""
        return await _async_run_sentence(hass, user_input)

    try:
        triggers.unregister = register_sentence_trigger(hass, ALL_SENTENCES, sentence_heard)
    except (AttributeError, ImportError, TypeError, ValueError) as err:  # the API changed again
        LOGGER.warning(
            "Cannot add the frame's sentences to the built-in conversation agent (%s), so "
            '"paint ..." is not understood there (LLM agents still get the DalleFramePaint '
            "intent as a tool); %s",
            err,
            BLUEPRINT_HINT,
        )
        return
    LOGGER.debug("Voice sentences registered on the built-in conversation agent")


async def _async_run_sentence(hass: HomeAssistant, user_input: ConversationInput) -> str:
    """Run the intent `user_input` asks for, for the device that spoke; return the speech."""
    command = parse_voice_command(user_input.text, user_input.language)
    if command is None:  # a template matched, but only with filler words ("paint please")
        return reply(user_input.language, Reply.ASK_FOR_A_PROMPT)
    intent_type = _INTENTS[command.action]
    slots = {SLOT_PROMPT: {"value": command.prompt}} if command.prompt else {}
    try:
        response = await intent.async_handle(
            hass,
            DOMAIN,
            intent_type,
            slots,
            text_input=user_input.text,
            context=user_input.context,
            language=user_input.language,
            device_id=user_input.device_id,
        )
    except intent.IntentError as err:
        LOGGER.warning("Cannot handle %r: %s", user_input.text, err)
        return reply(user_input.language, Reply.SORRY)
    return str(response.speech.get("plain", {}).get("speech", ""))
