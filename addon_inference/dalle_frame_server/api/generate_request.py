"""Reading and checking the JSON body of POST /v1/generate."""

from __future__ import annotations

import json
import math
import secrets
import unicodedata
from typing import Any, Final

from ..errors import BadRequestError, UnsupportedMediaError
from ..generation.text_to_image import MAX_SEED, GenerationRequest

MAX_PROMPT_CHARACTERS: Final = 255
MAX_BODY_BYTES: Final = 64 * 1024
MAX_GRID_SIZE: Final = 3
MAX_TOP_K: Final = 16384
MIN_TEMPERATURE: Final = 1e-6
MAX_TEMPERATURE: Final = 1e6
"""Bounds that keep float32 sampling finite (a temperature that rounds to 0 gives NaN)."""
MIN_SUPERCONDITION: Final = 1.0
MAX_SUPERCONDITION: Final = 64.0
RANDOM_SEED_LIMIT: Final = 2**31 - 1
"""Random seeds are drawn from 1..2**31-1: positive, so stock min-dalle reproduces them too."""

FIELDS: Final = frozenset(
    {"prompt", "seed", "grid_size", "temperature", "top_k", "supercondition_factor"}
)
_WHITESPACE_CONTROLS: Final = {"\t": " ", "\n": " ", "\r": " "}


def parse_generate_request(body: bytes, content_type: str) -> GenerationRequest:
    """Return the checked request for a body; BadRequestError/UnsupportedMediaError otherwise.

    A missing seed (or null) gets a random one, which the response reports.
    """
    if content_type not in ("application/json", "", "application/octet-stream"):
        raise UnsupportedMediaError(
            f"the body must be JSON (Content-Type: application/json), not {content_type}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequestError(
            f"the body is not UTF-8 text (bad byte at position {error.start})", code="bad_json"
        ) from error
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise BadRequestError(f"the body is not valid JSON ({error})", code="bad_json") from error
    if not isinstance(data, dict):
        raise BadRequestError(
            f"the body must be a JSON object with a prompt, not a JSON {_json_type(data)}",
            code="bad_json",
        )
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BadRequestError(
            f"unknown field {', '.join(map(repr, unknown))} (known: {', '.join(sorted(FIELDS))})",
            code="unknown_field",
        )
    seed = _optional_int(data, "seed", 0, MAX_SEED)
    return GenerationRequest(
        prompt=_prompt(data.get("prompt")),
        seed=seed if seed is not None else 1 + secrets.randbelow(RANDOM_SEED_LIMIT),
        grid_size=_optional_int(data, "grid_size", 1, MAX_GRID_SIZE) or 1,
        temperature=_temperature(data.get("temperature", 1.0)),
        top_k=_optional_int(data, "top_k", 1, MAX_TOP_K) or 128,
        supercondition_factor=_number(
            data.get("supercondition_factor", 16.0),
            "supercondition_factor",
            MIN_SUPERCONDITION,
            MAX_SUPERCONDITION,
        ),
    )


def _prompt(value: Any) -> str:
    """Check the prompt: text, 1..255 characters, not blank, no control characters."""
    if value is None:
        raise BadRequestError("the field prompt is required (the text to paint)", code="bad_prompt")
    if not isinstance(value, str):
        raise BadRequestError(
            f"prompt must be a string, not a JSON {_json_type(value)}", code="bad_prompt"
        )
    if len(value) > MAX_PROMPT_CHARACTERS:
        raise BadRequestError(
            f"prompt has {len(value)} characters; at most {MAX_PROMPT_CHARACTERS} are allowed",
            code="bad_prompt",
        )
    prompt = "".join(_WHITESPACE_CONTROLS.get(character, character) for character in value)
    for position, character in enumerate(prompt):
        if unicodedata.category(character) in ("Cc", "Cs", "Co", "Cn"):
            raise BadRequestError(
                f"prompt contains the control or invalid character U+{ord(character):04X} "
                f"at position {position}; send plain text",
                code="bad_prompt",
            )
    prompt = " ".join(prompt.split())
    if not prompt:
        raise BadRequestError("prompt is empty; say what to paint", code="bad_prompt")
    return prompt


def _optional_int(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    """Return an integer field within low..high, or None when absent or null."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and low <= value <= high:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(
            f"{name} must be an integer, not a JSON {_json_type(value)}", code="bad_parameter"
        )
    if not low <= value <= high:
        raise BadRequestError(
            f"{name} must be between {low} and {high}, not {_clip(value)}", code="bad_parameter"
        )
    return value


def _temperature(value: Any) -> float:
    """Check the temperature: 1e-6..1e6 (min-dalle samples in float32)."""
    return _number(value, "temperature", MIN_TEMPERATURE, MAX_TEMPERATURE)


def _number(value: Any, name: str, low: float, high: float) -> float:
    """Return a finite number field within low..high."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequestError(
            f"{name} must be a number, not a JSON {_json_type(value)}", code="bad_parameter"
        )
    number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    if not math.isfinite(number) or not low <= number <= high:
        bounds = f"between {low:g} and {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise BadRequestError(f"{name} must be {bounds}, not {_clip(value)}", code="bad_parameter")
    return number


def _refuse_constant(name: str) -> Any:
    """Reject NaN and Infinity, which Python's JSON reader would otherwise accept."""
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value: Any) -> str:
    """Name a decoded JSON value's type as JSON calls it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _clip(value: Any) -> str:
    """Show a value in an error message, shortened."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
