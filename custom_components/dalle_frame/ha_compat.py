"""Small bridges over the Home Assistant APIs that differ across the supported releases.

The integration supports HA 2025.12 to 2026.11 (hacs.json). Where an API it uses changed in
that range, the one place that knows both forms is here, tested on both ends of the range.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant

# Each release's mypy flags the form it lacks; "unused-ignore" keeps the other release quiet.
try:  # HA 2026.9+: probatio is HA's validation library (`voluptuous` is only an alias of it)
    import probatio as vol  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # HA 2025.12 to 2026.8: voluptuous
    import voluptuous as vol  # type: ignore[no-redef,unused-ignore]

if TYPE_CHECKING:
    from hassil.recognize import RecognizeResult
    from homeassistant.components.conversation import ConversationInput

__all__ = ["register_sentence_trigger", "vol"]

SentenceCallback = Callable[["ConversationInput", "RecognizeResult"], Awaitable[str | None]]


def register_sentence_trigger(
    hass: HomeAssistant, sentences: list[str], sentence_callback: SentenceCallback
) -> CALLBACK_TYPE:
    """Add sentences to the built-in conversation agent, as a conversation trigger does.

    Both go through the agent manager that automations' `conversation` triggers use: in HA
    2025.12 its `register_trigger` takes one `TriggerDetails`; by 2026.11 it takes the
    sentences and the callback. Returns the function that removes them again. The
    conversation integration must be loaded (its modules import its requirements).
    """
    # Imported here: the conversation integration is an after-dependency, not a dependency.
    from homeassistant.components.conversation.agent_manager import (
        get_agent_manager,
    )

    register = get_agent_manager(hass).register_trigger
    # The parameter names tell the forms apart (not inspect.signature: on Python 3.14 it
    # evaluates annotations, and HA's names only exist while type checking).
    code = getattr(register, "__code__", None)
    if code is not None and "trigger_details" in code.co_varnames[: code.co_argcount]:
        from homeassistant.components.conversation.trigger import (  # type: ignore[attr-defined,unused-ignore]
            TriggerDetails,
        )

        return register(TriggerDetails(sentences=sentences, callback=sentence_callback))  # type: ignore[call-arg,unused-ignore]
    return register(sentences=sentences, trigger_callback=sentence_callback)  # type: ignore[call-arg,unused-ignore]
