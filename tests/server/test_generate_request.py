"""Parsing POST /v1/generate bodies (accepted cases; the refusals are in test_api_bad_input)."""

from __future__ import annotations

import json

import pytest

from dalle_frame_server.api.generate_request import (
    check_capabilities,
    parse_generate_body,
    parse_generate_request,
)
from dalle_frame_server.api.openapi import openapi_document
from dalle_frame_server.errors import BadRequestError
from dalle_frame_server.generation.generator import MIN_DALLE_CAPABILITIES
from dalle_frame_server.generation.text_to_image import Capabilities, GuidanceRange, StepRange

DIFFUSION = Capabilities(
    family="diffusion",
    default_size=(512, 512),
    min_side=256,
    max_side=1024,
    multiple=8,
    max_pixels=512 * 512,
    steps=StepRange(min=1, max=4, default=1),
    guidance=None,
)


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
    assert nullable == {"seed", "grid_size", "top_k", "width", "height", "steps", "guidance_scale"}
    for name in set(properties) - nullable:
        with pytest.raises(BadRequestError):
            _parse({"prompt": "x", name: None} if name != "prompt" else {"prompt": None})


def test_size_steps_guidance_and_upscale() -> None:
    """The fields of the second family parse; null means the model's default."""
    request = _parse(
        {"prompt": "x", "width": 800, "height": 480, "steps": 2, "guidance_scale": 3.5}
    )
    assert (request.width, request.height, request.steps, request.guidance_scale) == (
        800,
        480,
        2,
        3.5,
    )
    assert request.upscale is True
    assert _parse({"prompt": "x", "upscale": False}).upscale is False
    plain = _parse({"prompt": "x", "width": None, "height": None, "steps": None})
    assert (plain.width, plain.height, plain.steps, plain.guidance_scale) == (None,) * 4


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"width": 800}, "width and height go together"),
        ({"height": 480, "width": None}, "width and height go together"),
        ({"width": 63, "height": 480}, "width must be between 64 and 4096"),
        ({"width": 800, "height": 4097}, "height must be between 64 and 4096"),
        ({"width": "800", "height": 480}, "width must be an integer"),
        ({"steps": 0}, "steps must be between 1 and 1000"),
        ({"guidance_scale": -1}, "guidance_scale must be between 0 and 100"),
        ({"upscale": "yes"}, "upscale must be true or false"),
        ({"upscale": None}, "upscale must be true or false, not a JSON null"),
    ],
)
def test_bad_sizes_steps_and_flags_are_refused(body: dict, words: str) -> None:
    """Each bad value names its field and what is allowed."""
    with pytest.raises(BadRequestError, match=words) as caught:
        _parse({"prompt": "x", **body})
    assert caught.value.code == "bad_parameter"


def _given(body: dict):
    """Parse a body and return (request, the fields it set)."""
    return parse_generate_body(json.dumps({"prompt": "x", **body}).encode(), "application/json")


def test_min_dalle_takes_sampling_and_sizes_but_no_steps_or_guidance() -> None:
    """min-dalle: sampling, grids 1-3 and a wanted size (it paints its square); no steps."""
    for body in ({"temperature": 0.5, "top_k": 64, "grid_size": 3}, {"width": 800, "height": 480}):
        check_capabilities(*_given(body), "mini", MIN_DALLE_CAPABILITIES)
    with pytest.raises(BadRequestError, match=r"'mini' \(min-dalle\) has no steps setting"):
        check_capabilities(*_given({"steps": 2}), "mini", MIN_DALLE_CAPABILITIES)
    with pytest.raises(BadRequestError, match="has no guidance_scale setting"):
        check_capabilities(*_given({"guidance_scale": 2}), "mini", MIN_DALLE_CAPABILITIES)


def test_a_diffusion_model_refuses_min_dalle_settings_and_out_of_range_steps() -> None:
    """Sampling fields, grids, steps beyond the model's range and guidance it lacks: 400."""
    check_capabilities(*_given({"steps": 4, "width": 600, "height": 448}), "sd", DIFFUSION)
    # Nulls are "not given": a client that always sends every field with null still works.
    check_capabilities(*_given({"top_k": None, "steps": None}), "sd", DIFFUSION)
    cases = [
        ({"temperature": 0.7, "top_k": 5}, "has no temperature, top_k setting"),
        ({"grid_size": 2}, "paints grids of 1 per side, not 2"),
        ({"steps": 5}, "steps must be between 1 and 4 for the model 'sd' \\(diffusion\\)"),
        ({"guidance_scale": 1.0}, "has no guidance_scale setting"),
    ]
    for body, words in cases:
        with pytest.raises(BadRequestError, match=words):
            check_capabilities(*_given(body), "sd", DIFFUSION)
    guided = Capabilities(
        **{**vars(DIFFUSION), "guidance": GuidanceRange(min=0.0, max=10.0, default=3.5)}
    )
    check_capabilities(*_given({"guidance_scale": 10}), "flux", guided)
    with pytest.raises(BadRequestError, match="between 0 and 10 for the model 'flux'"):
        check_capabilities(*_given({"guidance_scale": 10.5}), "flux", guided)
