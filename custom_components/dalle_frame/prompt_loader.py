"""Chooses the prompt list of an entry: the user's file if set and valid, else the built-in one."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from . import issues
from .const import CONF_PROMPT_FILE, LOGGER
from .data import DalleFrameConfigEntry
from .prompts import (
    PromptFileError,
    PromptList,
    load_builtin_prompts,
    load_prompt_file,
    resolve_prompt_file,
)


def _load_user_file(config_dir: str, name: str) -> PromptList:
    """Resolve and read the user's file (blocking)."""
    return load_prompt_file(resolve_prompt_file(config_dir, name), name)


async def async_load_prompt_list(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> PromptList:
    """Return the entry's prompt list; a bad user file raises a repair issue and is skipped."""
    name = str(entry.options.get(CONF_PROMPT_FILE) or "").strip()
    if name:
        try:
            prompts = await hass.async_add_executor_job(
                _load_user_file, hass.config.config_dir, name
            )
        except PromptFileError as err:
            LOGGER.warning(
                "Prompt file %s of %s is not used, using the built-in list: %s",
                name,
                entry.title,
                err,
            )
            issues.async_report_prompt_file(hass, entry.entry_id, entry.title, name, str(err))
        else:
            issues.async_clear(hass, issues.ISSUE_PROMPT_FILE, entry.entry_id)
            LOGGER.debug("Using %d prompts from %s", prompts.combinations, name)
            return prompts
    else:
        issues.async_clear(hass, issues.ISSUE_PROMPT_FILE, entry.entry_id)
    return await hass.async_add_executor_job(load_builtin_prompts)
