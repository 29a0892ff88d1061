"""The model's capabilities and upscaler as /v1/health states them, read into typed data."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.dalle_frame import capabilities as capabilities_module
from custom_components.dalle_frame.api import DalleFrameClient
from custom_components.dalle_frame.capabilities import (
    GenerationSettings,
    ModelCapabilities,
    SettingRange,
    UpscalerInfo,
    parse_capabilities,
    parse_upscaler,
)

from .fake_server import DIFFUSION_CAPABILITIES, MIN_DALLE_CAPABILITIES, FakeGpuServer


async def test_health_of_a_diffusion_server(hass: HomeAssistant, server: FakeGpuServer) -> None:
    """Capabilities and upscaler arrive typed: sizes, steps and guidance with their defaults."""
    server.capabilities = DIFFUSION_CAPABILITIES
    server.upscaler = {"model": "realesr-general-x4v3", "scale": 4, "ready": True}
    client = DalleFrameClient(async_get_clientsession(hass), server.url, server.token)
    health = await client.async_health()
    assert health.capabilities == ModelCapabilities(
        family="diffusion",
        default_size=(512, 512),
        min_side=256,
        max_side=1024,
        multiple=64,
        max_pixels=512 * 512,
        grid_sizes=(1,),
        steps=SettingRange(min=1, max=8, default=4),
        guidance=SettingRange(min=0.0, max=10.0, default=3.5),
        sampling=False,
        licence="test licence",
    )
    assert health.upscaler == UpscalerInfo(model="realesr-general-x4v3", scale=4, ready=True)


async def test_health_of_min_dalle_and_of_an_old_server(
    hass: HomeAssistant, server: FakeGpuServer
) -> None:
    """min-dalle has neither steps nor guidance; a server from before has no capabilities."""
    client = DalleFrameClient(async_get_clientsession(hass), server.url, server.token)
    old = await client.async_health()
    assert (old.capabilities, old.upscaler, old.ready) == (None, None, True)

    server.capabilities = MIN_DALLE_CAPABILITIES
    health = await client.async_health()
    assert health.capabilities is not None
    assert health.capabilities.family == "min-dalle"
    assert (health.capabilities.steps, health.capabilities.guidance) == (None, None)
    assert health.capabilities.grid_sizes == (1, 2, 3)
    assert health.upscaler is None


def _broken(change: dict[str, Any]) -> dict[str, Any]:
    """Return the diffusion capabilities with `change` applied (None deletes a key)."""
    capabilities = copy.deepcopy(DIFFUSION_CAPABILITIES)
    for key, value in change.items():
        if value is None:
            del capabilities[key]
        else:
            capabilities[key] = value
    return capabilities


@pytest.mark.parametrize(
    ("capabilities", "reason"),
    [
        ("diffusion", "capabilities is not an object"),
        (_broken({"family": None}), "family is not a non-empty string"),
        (_broken({"default_size": [512]}), "default_size is not [width, height]"),
        (_broken({"multiple": 0}), "multiple is not a positive whole number"),
        (_broken({"max_pixels": True}), "max_pixels is not a positive whole number"),
        (_broken({"grid_sizes": ["1"]}), "grid_sizes is not a list of whole numbers"),
        (_broken({"steps": {"min": 1, "max": 8}}), "steps.default is not a whole number"),
        (_broken({"steps": {"min": 1, "max": 8, "default": 2.5}}), "steps.default is not"),
        (_broken({"steps": [1, 8]}), "steps is not an object or null"),
        (
            _broken({"guidance": {"min": 1, "max": 5, "default": 7}}),
            "guidance has default 7 outside 1..5",
        ),
        (_broken({"guidance": {"min": 0, "max": "9", "default": 1}}), "guidance.max is not"),
    ],
)
def test_malformed_capabilities_count_as_absent(
    capabilities: Any,
    reason: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A block of the wrong shape is ignored (an old server's requests) with its reason, once."""
    monkeypatch.setattr(capabilities_module, "_warned", set())
    assert parse_capabilities(capabilities) is None
    assert parse_capabilities(capabilities) is None  # the next health poll: no second warning
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "The GPU server's model capabilities are ignored" in warnings[0]
    assert reason in warnings[0]


@pytest.mark.parametrize(
    "upscaler", ["x4", {"model": "", "scale": 4}, {"model": "esrgan", "scale": "4"}]
)
def test_malformed_upscaler_counts_as_absent(upscaler: Any) -> None:
    """An upscaler description of the wrong shape is ignored."""
    assert parse_upscaler(upscaler) is None


def test_generation_settings_send_only_what_has_a_value() -> None:
    """Nothing set: prompt and seed alone; otherwise only the fields with a value."""
    assert GenerationSettings().as_json() == {}
    assert GenerationSettings(width=600, height=448).as_json() == {"width": 600, "height": 448}
    assert GenerationSettings(width=400, height=640, steps=2, guidance_scale=0.0).as_json() == {
        "width": 400,
        "height": 640,
        "steps": 2,
        "guidance_scale": 0.0,
    }
