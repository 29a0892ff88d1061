"""The bridges over HA APIs that differ across the supported releases (ha_compat.py)."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation import trigger as conversation_trigger
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv

from custom_components.dalle_frame.ha_compat import register_sentence_trigger, vol

from .voice_support import async_converse, async_setup_voice_components, speech_of

AGENT_MANAGER = "homeassistant.components.conversation.agent_manager.get_agent_manager"


async def _answer(user_input: conversation.ConversationInput, result: Any) -> str:
    """A sentence trigger's callback: answer with what was heard."""
    return f"heard {user_input.text}"


async def test_sentences_reach_the_built_in_agent_and_go_again(hass: HomeAssistant) -> None:
    """On the installed HA, registered sentences are answered; after removal they are not."""
    await async_setup_voice_components(hass)

    remove = register_sentence_trigger(hass, ["open the pod bay doors"], _answer)
    heard = await async_converse(hass, "open the pod bay doors")
    remove()
    gone = await async_converse(hass, "open the pod bay doors")

    assert speech_of(heard) == "heard open the pod bay doors"
    assert speech_of(gone) != "heard open the pod bay doors"


class _SentencesManager:
    """An agent manager whose register_trigger takes the sentences and the callback (2026.11)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], Any]] = []

    def register_trigger(self, sentences: list[str], trigger_callback: Any) -> Any:
        """Record the call."""
        self.calls.append((sentences, trigger_callback))
        return "remove"


class _DetailsManager:
    """An agent manager whose register_trigger takes one TriggerDetails (2025.12)."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def register_trigger(self, trigger_details: Any) -> Any:
        """Record the call."""
        self.calls.append(trigger_details)
        return "remove"


async def test_the_sentences_and_callback_form(hass: HomeAssistant) -> None:
    """A manager taking (sentences, trigger_callback) gets them as keywords."""
    await async_setup_voice_components(hass)
    manager = _SentencesManager()
    with patch(AGENT_MANAGER, return_value=manager):
        remove = register_sentence_trigger(hass, ["paint {prompt}"], _answer)

    assert remove == "remove"
    assert manager.calls == [(["paint {prompt}"], _answer)]


async def test_the_trigger_details_form(hass: HomeAssistant) -> None:
    """A manager taking one TriggerDetails gets the sentences and callback in it."""
    await async_setup_voice_components(hass)
    if not hasattr(conversation_trigger, "TriggerDetails"):
        pytest.skip("this HA release has no TriggerDetails (its manager takes the sentences)")
    manager = _DetailsManager()
    with patch(AGENT_MANAGER, return_value=manager):
        remove = register_sentence_trigger(hass, ["paint {prompt}"], _answer)

    assert remove == "remove"
    (details,) = manager.calls
    assert (details.sentences, details.callback) == (["paint {prompt}"], _answer)


def test_validation_library_is_the_one_ha_uses() -> None:
    """`ha_compat.vol` is HA's own validation library: HA's validators raise its Invalid."""
    schema = vol.Schema({vol.Required("prompt"): cv.string})

    assert schema({"prompt": "a red barn"}) == {"prompt": "a red barn"}
    with pytest.raises(vol.Invalid):
        cv.positive_int(-1)
    with pytest.raises(vol.Invalid):
        schema({})
