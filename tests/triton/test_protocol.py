"""The node/front protocol and the --triton-url checks, without processes."""

from __future__ import annotations

import dataclasses

import pytest

from dalle_frame_server.generation.text_to_image import (
    Capabilities,
    GenerationRequest,
    GuidanceRange,
    StepRange,
)
from dalle_frame_server.triton.protocol import (
    capabilities_from_json,
    decode_request,
    encode_request,
)
from dalle_frame_server.triton.urls import check_triton_urls, parse_node_url


def test_every_request_field_travels() -> None:
    """A request comes back equal, every field included (new fields need no protocol change)."""
    request = GenerationRequest(
        prompt="a fox \u00e9t\u00e9",
        seed=2**63 - 1,
        grid_size=2,
        temperature=0.5,
        top_k=7,
        width=800,
        height=480,
        steps=3,
        guidance_scale=1.5,
        upscale=False,
    )
    assert decode_request(encode_request(request)) == request
    assert set(dataclasses.asdict(request)) == {
        field.name for field in dataclasses.fields(GenerationRequest)
    }


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"prompt": "x", "seed": 1, "colour": "red"}', "colour"),
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"prompt": "x"}', "incomplete"),
    ],
)
def test_bad_requests_say_why(data: bytes, reason: str) -> None:
    """A node refuses what it cannot read with a reason (a front of another version...)."""
    with pytest.raises(ValueError, match=reason):
        decode_request(data)


def test_capabilities_round_trip() -> None:
    """The front rebuilds the node's capabilities exactly."""
    capabilities = Capabilities(
        family="diffusion",
        default_size=(512, 512),
        min_side=256,
        max_side=1024,
        multiple=64,
        max_pixels=512 * 512,
        steps=StepRange(min=1, max=8, default=4),
        guidance=GuidanceRange(min=0.0, max=10.0, default=0.0),
        licence="x",
    )
    assert capabilities_from_json(capabilities.as_json()) == capabilities


@pytest.mark.parametrize("url", ["grpc://gpu:8001", "gpu:8001", "10.0.0.2:9001"])
def test_node_urls(url: str) -> None:
    """gRPC addresses with or without the scheme."""
    assert parse_node_url(url) == url.removeprefix("grpc://")


@pytest.mark.parametrize("url", ["http://gpu:8000/v2", "gpu", "gpu:port", "gpu:70000", ""])
def test_bad_node_urls_are_refused_at_start(url: str) -> None:
    """A wrong --triton-url stops the start with an example of a right one."""
    with pytest.raises(ValueError, match="grpc://gpu-box:8001"):
        check_triton_urls([url])
