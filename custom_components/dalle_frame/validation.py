"""Checks of user input (service fields, the Prompt text) with translated errors."""

from __future__ import annotations

import unicodedata
from typing import Any

from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN, MAX_PROMPT_LENGTH, MAX_SEED


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """Build a translated validation error."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def validate_prompt(value: Any) -> str:
    """Return the prompt with its whitespace collapsed; raise for empty, long or odd text."""
    if not isinstance(value, str):
        raise _invalid("prompt_not_text")
    prompt = " ".join(value.split())
    if not prompt:
        raise _invalid("prompt_empty")
    if len(prompt) > MAX_PROMPT_LENGTH:
        raise _invalid("prompt_too_long", length=str(len(prompt)), max=str(MAX_PROMPT_LENGTH))
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in prompt):
        raise _invalid("prompt_control_characters")
    return prompt


def validate_seed(value: Any) -> int | None:
    """Return the seed as an int in 0..MAX_SEED (None: a random seed); raise otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _invalid("seed_invalid", max=str(MAX_SEED))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise _invalid("seed_invalid", max=str(MAX_SEED))
    return value
