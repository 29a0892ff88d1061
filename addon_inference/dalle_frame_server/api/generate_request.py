"""Reading and checking the JSON body of POST /v1/generate."""

from __future__ import annotations

import json
import math
import secrets
import unicodedata
from typing import Any, Final

from ..errors import BadRequestError, UnsupportedMediaError
from ..generation.text_to_image import MAX_SEED, Capabilities, GenerationRequest

MAX_PROMPT_CHARACTERS: Final = 255
MAX_BODY_BYTES: Final = 64 * 1024
MAX_GRID_SIZE: Final = 3
MAX_TOP_K: Final = 16384
MIN_TEMPERATURE: Final = 1e-6
MAX_TEMPERATURE: Final = 1e6
"""Bounds that keep float32 sampling finite (a temperature that rounds to 0 gives NaN)."""
MIN_SUPERCONDITION: Final = 1.0
MAX_SUPERCONDITION: Final = 64.0
MIN_SIDE: Final = 64
MAX_SIDE: Final = 4096
"""Bounds of a requested width or height (a model paints within its own, narrower ones)."""
MAX_STEPS: Final = 1000
MAX_GUIDANCE: Final = 100.0
RANDOM_SEED_LIMIT: Final = 2**31 - 1
"""Random seeds are drawn from 1..2**31-1: positive, so stock min-dalle reproduces them too."""

SAMPLING_FIELDS: Final = frozenset({"temperature", "top_k", "supercondition_factor"})
"""min-dalle's sampling settings: a model without `Capabilities.sampling` refuses them."""
FIELDS: Final = frozenset(
    {
        "prompt",
        "seed",
        "grid_size",
        "width",
        "height",
        "steps",
        "guidance_scale",
        "upscale",
        *SAMPLING_FIELDS,
    }
)
_WHITESPACE_CONTROLS: Final = {"\t": " ", "\n": " ", "\r": " "}


def parse_generate_request(body: bytes, content_type: str) -> GenerationRequest:
    """Return the checked request for a body; BadRequestError/UnsupportedMediaError otherwise.

    A missing seed (or null) gets a random one, which the response reports. The values are
    checked against the API's bounds only; `check_capabilities` checks them against a model.
    """
    return parse_generate_body(body, content_type)[0]


def parse_generate_body(body: bytes, content_type: str) -> tuple[GenerationRequest, frozenset[str]]:
    """Return the checked request and the names of the fields the body set (not null)."""
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
    width = _optional_int(data, "width", MIN_SIDE, MAX_SIDE)
    height = _optional_int(data, "height", MIN_SIDE, MAX_SIDE)
    if (width is None) != (height is None):
        raise BadRequestError(
            "width and height go together: give both (the picture wanted) or neither",
            code="bad_parameter",
        )
    guidance = data.get("guidance_scale")
    request = GenerationRequest(
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
        width=width,
        height=height,
        steps=_optional_int(data, "steps", 1, MAX_STEPS),
        guidance_scale=None
        if guidance is None
        else _number(guidance, "guidance_scale", 0.0, MAX_GUIDANCE),
        upscale=_boolean(data.get("upscale", True), "upscale"),
    )
    return request, frozenset(name for name, value in data.items() if value is not None)


def check_capabilities(
    request: GenerationRequest, given: frozenset[str], model: str, capabilities: Capabilities
) -> None:
    """Refuse (400 bad_parameter) settings the loaded model does not have or cannot take."""
    family = f"the model {model!r} ({capabilities.family})"
    refused = sorted(given & SAMPLING_FIELDS) if not capabilities.sampling else []
    if refused:
        raise BadRequestError(
            f"{family} has no {', '.join(refused)} setting (min-dalle's sampling); leave "
            f"{'it' if len(refused) == 1 else 'them'} out",
            code="bad_parameter",
        )
    if request.grid_size not in capabilities.grid_sizes:
        raise BadRequestError(
            f"{family} paints grids of {_listing(capabilities.grid_sizes)} per side, "
            f"not {request.grid_size}",
            code="bad_parameter",
        )
    if request.steps is not None:
        steps = capabilities.steps
        if steps is None:
            raise BadRequestError(f"{family} has no steps setting", code="bad_parameter")
        if not steps.min <= request.steps <= steps.max:
            raise BadRequestError(
                f"steps must be between {steps.min} and {steps.max} for {family}, "
                f"not {request.steps}",
                code="bad_parameter",
            )
    if request.guidance_scale is not None:
        guidance = capabilities.guidance
        if guidance is None:
            raise BadRequestError(f"{family} has no guidance_scale setting", code="bad_parameter")
        if not guidance.min <= request.guidance_scale <= guidance.max:
            raise BadRequestError(
                f"guidance_scale must be between {guidance.min:g} and {guidance.max:g} for "
                f"{family}, not {request.guidance_scale:g}",
                code="bad_parameter",
            )


def _listing(values: tuple[int, ...]) -> str:
    """Say "1, 2 or 3"."""
    names = [str(value) for value in values]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _boolean(value: Any, name: str) -> bool:
    """Return a boolean field."""
    if not isinstance(value, bool):
        raise BadRequestError(
            f"{name} must be true or false, not a JSON {_json_type(value)}", code="bad_parameter"
        )
    return value


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
