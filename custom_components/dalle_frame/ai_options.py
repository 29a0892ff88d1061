"""The options-flow fields of issue 20's AI parts: the AI Task source and the prompt helper."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.selector import EntitySelector, EntitySelectorConfig

from .const import CONF_AI_TASK_ENTITY, CONF_PROMPT_HELPER
from .ha_compat import vol

# HA's built-in agent only runs commands: it cannot write a prompt.
BUILTIN_CONVERSATION_AGENT = "conversation.home_assistant"


def ai_option_fields() -> dict[Any, Any]:
    """Return the optional entity pickers: who paints, and who writes new prompts."""
    painter = EntitySelector(
        EntitySelectorConfig(
            filter={
                "domain": "ai_task",
                "supported_features": ["ai_task.AITaskEntityFeature.GENERATE_IMAGE"],
            }
        )
    )
    writer = EntitySelector(
        EntitySelectorConfig(
            filter=[
                {"domain": "conversation"},
                {
                    "domain": "ai_task",
                    "supported_features": ["ai_task.AITaskEntityFeature.GENERATE_DATA"],
                },
            ],
            exclude_entities=[BUILTIN_CONVERSATION_AGENT],
        )
    )
    return {vol.Optional(CONF_AI_TASK_ENTITY): painter, vol.Optional(CONF_PROMPT_HELPER): writer}
