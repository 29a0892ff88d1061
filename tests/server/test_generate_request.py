"""Parsing POST /v1/generate bodies (accepted cases; the refusals are in test_api_bad_input)."""

from __future__ import annotations

import json

import pytest

from dalle_frame_server.api.generate_request import parse_generate_request
from dalle_frame_server.api.openapi import openapi_document
from dalle_frame_server.errors import BadRequestError


def _parse(body: dict):
    """Parse a dict as a JSON body."""
    return parse_generate_request(json.dumps(body).encode(), "application/json")


def test_defaults_and_random_seed() -> None:
    """Only a prompt: min-dalle's defaults (top_k 128 as the original frame) and a random seed."""
    request = _parse({"prompt": "a cat"})
    assert (request.grid_size, request.temperature, request.top_k) == (1, 1.0, 128)
    assert request.supercondition_factor == 16.0
    assert 1 <= request.seed < 2**31
    assert len({_parse({"prompt": "a cat"}).seed for _ in range(20)}) > 1


def test_every_field() -> None:
    """All fields, including integral floats and a null seed."""
    request = _parse(
        {
            "prompt": "a cat",
            "seed": 2**63 - 1,
            "grid_size": 3.0,
            "temperature": 0.5,
            "top_k": 16384,
            "supercondition_factor": 64,
        }
    )
    assert request.seed == 2**63 - 1
    assert request.grid_size == 3
    assert (request.temperature, request.top_k, request.supercondition_factor) == (0.5, 16384, 64)
    assert _parse({"prompt": "x", "seed": None}).seed > 0
    assert _parse({"prompt": "x", "seed": 0}).seed == 0


def test_prompt_white_space_is_tidied_and_emoji_kept() -> None:
    """Tabs and newlines become spaces; emoji and other languages pass (min-dalle demojizes)."""
    assert _parse({"prompt": "  a\tred\n\ncar  "}).prompt == "a red car"
    assert _parse({"prompt": "🐱 on a 🌊"}).prompt == "🐱 on a 🌊"
    assert _parse({"prompt": "eine Katze im Mondschein"}).prompt == "eine Katze im Mondschein"
    assert len(_parse({"prompt": "x" * 255}).prompt) == 255


def test_missing_content_type_is_accepted() -> None:
    """Clients that send JSON without a Content-Type still work."""
    assert parse_generate_request(b'{"prompt": "a cat"}', "").prompt == "a cat"


def test_null_means_the_default_exactly_where_the_schema_says_nullable() -> None:
    """seed, grid_size and top_k take null (the default); the OpenAPI document says so."""
    request = _parse({"prompt": "x", "grid_size": None, "top_k": None})
    assert (request.grid_size, request.top_k) == (1, 128)
    properties = openapi_document("test", token_required=True)["components"]["schemas"][
        "GenerateRequest"
    ]["properties"]
    nullable = {name for name, field in properties.items() if field.get("nullable")}
    assert nullable == {"seed", "grid_size", "top_k"}
    for name in set(properties) - nullable:
        with pytest.raises(BadRequestError):
            _parse({"prompt": "x", name: None} if name != "prompt" else {"prompt": None})
