"""LLM tools: the frame's intents for conversation agents that use the Assist API.

HA 2026.x collects LLM tools from integrations' `llm` platforms (this module) instead of
turning every registered intent into a tool; HA 2025.12 still does the latter and never loads
this module. The tools are named `dalle_frame__<intent>` as HA asks of integrations.
"""

from __future__ import annotations

from typing import Final

# HA 2025.12 lacks these APIs (and never loads this module): its mypy run ignores them.
from homeassistant.components.llm import LLMTools  # type: ignore[import-not-found,unused-ignore]
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import intent
from homeassistant.helpers.llm import (  # type: ignore[attr-defined,unused-ignore]
    LLM_API_ASSIST,
    IntentTool,
    LLMContext,
    Tool,
    ToolAnnotations,
)

from .const import DOMAIN
from .intent import INTENT_NEW_PROMPT, INTENT_PAINT, INTENT_REGENERATE

TITLES: Final = {
    INTENT_PAINT: "Paint a picture on the frame",
    INTENT_NEW_PROMPT: "Paint a new picture from the frame's prompt list",
    INTENT_REGENERATE: "Paint the frame's subject again",
}
# A painting replaces the picture on the frame but keeps the old one in its history, and it
# stays inside the home (the local GPU server).
ANNOTATIONS: Final = ToolAnnotations(destructive=False, open_world=False)


@callback
def async_get_tools(hass: HomeAssistant, llm_context: LLMContext, api_id: str) -> LLMTools | None:
    """Return the frame's tools for the Assist API while a frame is loaded."""
    if api_id != LLM_API_ASSIST or not hass.config_entries.async_loaded_entries(DOMAIN):
        return None
    tools: list[Tool] = [
        IntentTool(  # type: ignore[call-arg,unused-ignore]
            f"{DOMAIN}__{handler.intent_type}",
            handler,
            title=TITLES[handler.intent_type],
            integration=DOMAIN,
            annotations=ANNOTATIONS,
        )
        for handler in intent.async_get(hass)
        if handler.intent_type in TITLES
    ]
    return LLMTools(tools=tools) if tools else None
