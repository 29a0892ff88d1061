"""The optional prompt helper: "surprise me" prompts written by a conversation agent or AI Task.

The user picks a conversation agent entity or an AI Task entity that generates data. A new
prompt then asks it for one short painting prompt; the answer is checked (one line, at most
MAX_HELPER_PROMPT_LENGTH characters, no control characters) and on any failure, timeout or
bad answer the built-in list's prompt is used, with a log line saying why.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import CONF_PROMPT_HELPER, DOMAIN, LOGGER

HELPER_TIMEOUT_SECONDS: Final = 30.0
MAX_HELPER_PROMPT_LENGTH: Final = 200
TASK_NAME: Final = f"{DOMAIN} surprise prompt"
_QUOTES: Final = "\"'`“”‘’«»"
_INSTRUCTIONS: Final = (
    "Write one prompt for an AI painting that will hang in a picture frame at home. "
    "Describe the subject and an art style in English, in one short sentence of at most "
    "20 words, something surprising and beautiful. Answer with the prompt only: one line, "
    "no quotes, no explanation. For a sense of the kind (do not copy it): {example}"
)


class PromptHelperError(Exception):
    """The helper gave no usable prompt; the message says why."""


def prompt_helper_entity(options: Mapping[str, Any]) -> str | None:
    """Return the entity that writes new prompts, or None for the built-in list."""
    entity_id = str(options.get(CONF_PROMPT_HELPER) or "").strip()
    return entity_id or None


def helper_instructions(example: str) -> str:
    """Return the request sent to the helper, with one prompt of the list as an example."""
    return _INSTRUCTIONS.format(example=example)


def checked_prompt(answer: object) -> str:
    """Return the helper's answer as a prompt; raise PromptHelperError when it is not one."""
    if not isinstance(answer, str):
        raise PromptHelperError(f"the answer is not text but {type(answer).__name__}")
    prompt = answer.strip().strip(_QUOTES).strip()
    if not prompt:
        raise PromptHelperError("the answer is empty")
    if any(char in prompt for char in "\r\n\u2028\u2029"):
        raise PromptHelperError("the answer has more than one line")
    prompt = " ".join(prompt.split())  # tabs and runs of spaces become one space
    if len(prompt) > MAX_HELPER_PROMPT_LENGTH:
        raise PromptHelperError(f"the answer is longer than {MAX_HELPER_PROMPT_LENGTH} characters")
    if any(unicodedata.category(char) == "Cc" for char in prompt):
        raise PromptHelperError("the answer contains control characters")
    return prompt


async def async_ask_helper(hass: HomeAssistant, entity_id: str, instructions: str) -> object:
    """Send `instructions` to a conversation agent or an AI Task entity; return its answer."""
    domain = entity_id.partition(".")[0]
    if domain not in hass.config.components:
        raise PromptHelperError(f"the {domain} integration is not loaded")
    # Imported here: conversation and ai_task are after-dependencies, loaded when used.
    if domain == "ai_task":
        from homeassistant.components import ai_task

        result = await ai_task.async_generate_data(
            hass, task_name=TASK_NAME, entity_id=entity_id, instructions=instructions
        )
        return result.data
    from homeassistant.components import conversation
    from homeassistant.helpers.intent import IntentResponseType

    answer = await conversation.async_converse(
        hass, instructions, None, Context(), agent_id=entity_id
    )
    response = answer.response
    speech = response.speech.get("plain", {}).get("speech")
    if response.response_type is IntentResponseType.ERROR:
        raise PromptHelperError(f"the agent answered an error: {speech or response.error_code}")
    return speech


async def async_surprise_prompt(
    hass: HomeAssistant,
    options: Mapping[str, Any],
    builtin_prompt: Callable[[], str],
) -> str:
    """Return a new prompt from the helper in `options`, or `builtin_prompt()` without one.

    `builtin_prompt` makes a prompt from the frame's list: the fallback, and the example the
    helper gets.
    """
    entity_id = prompt_helper_entity(options)
    fallback = builtin_prompt()
    if entity_id is None:
        return fallback
    try:
        async with asyncio.timeout(HELPER_TIMEOUT_SECONDS):
            answer = await async_ask_helper(hass, entity_id, helper_instructions(fallback))
        prompt = checked_prompt(answer)
    except TimeoutError:
        reason = f"no answer within {HELPER_TIMEOUT_SECONDS:.0f} seconds"
    except (HomeAssistantError, PromptHelperError) as err:
        reason = str(err) or type(err).__name__
    except Exception as err:
        # Whatever the helper's own code raises (or a KeyError while its domain is not set up).
        reason = f"unexpected error ({type(err).__name__}: {err})"
    else:
        LOGGER.debug("Prompt helper %s wrote %r", entity_id, prompt)
        return prompt
    LOGGER.warning(
        "The prompt helper %s gave no prompt, using the built-in list: %s", entity_id, reason
    )
    return fallback
