"""Services: generate, regenerate, new_prompt: responses, validation, errors, one at a time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.dalle_frame.const import CONF_TOKEN, CONF_URL, DOMAIN

from .fake_server import ErrorAnswer, FakeGpuServer


async def call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    """Call a dalle_frame service and return its response."""
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_generate(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Generate with a prompt and seed returns what was made and shows it."""
    response = await call(hass, "generate", prompt="  a red   car ", seed=42)
    assert response == snapshot
    assert server.requests == [{"prompt": "a red car", "seed": 42}]
    assert hass.states.get("text.frame_prompt").state == "a red car"
    assert hass.states.get("image.frame_art").attributes["seed"] == 42
    assert hass.states.get("sensor.frame_generation_time").state == "1.25"


async def test_generate_without_prompt(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Without a prompt, a new one comes from the prompt list; a seed still applies."""
    prompts = loaded_entry.runtime_data.controller.prompts
    response = await call(hass, "generate", seed=5)
    subject = response["prompt"]
    for style in prompts.styles:
        if style and subject.startswith(style + " "):
            subject = subject[len(style) + 1 :]
    assert subject in prompts.subjects
    assert response["seed"] == 5


async def test_regenerate_and_new_prompt(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Regenerate keeps the prompt with a new seed; new_prompt changes the prompt."""
    first = await call(hass, "generate", prompt="a red car")
    again = await call(hass, "regenerate", config_entry_id=loaded_entry.entry_id)
    assert again["prompt"] == "a red car"
    assert again["seed"] != first["seed"]
    assert server.requests[-1] == {"prompt": "a red car", "seed": None}
    new = await call(hass, "new_prompt")
    assert new["prompt"] != "a red car"
    assert hass.states.get("text.frame_prompt").state == new["prompt"]


async def test_regenerate_before_any_prompt(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Regenerate on a new frame has no prompt yet, so it takes one from the list."""
    response = await call(hass, "regenerate")
    assert response["prompt"]
    assert server.requests[0]["prompt"] == response["prompt"]


async def test_without_response(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """The services also work as plain actions (automations, the satellite's buttons)."""
    assert await hass.services.async_call(DOMAIN, "regenerate", {}, blocking=True) is None
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"prompt": ""}, "prompt_empty", "The prompt is empty"),
        ({"prompt": " \n\t "}, "prompt_empty", "The prompt is empty"),
        ({"prompt": "x" * 256}, "prompt_too_long", "The prompt has 256 characters; at most 255"),
        ({"prompt": "a red\x00car"}, "prompt_control_characters", "control characters"),
        ({"prompt": "a \x1b[31m red car"}, "prompt_control_characters", "control characters"),
        ({"prompt": 12}, "prompt_not_text", "must be text"),
        ({"prompt": ["a", "b"]}, "prompt_not_text", "must be text"),
        ({"prompt": "a red car", "seed": -1}, "seed_invalid", "from 0 to 2147483647"),
        ({"prompt": "a red car", "seed": 2**31}, "seed_invalid", "whole number"),
        ({"prompt": "a red car", "seed": 1.5}, "seed_invalid", "whole number"),
        ({"prompt": "a red car", "seed": "abc"}, "seed_invalid", "whole number"),
        ({"prompt": "a red car", "seed": True}, "seed_invalid", "whole number"),
        ({"config_entry_id": "nope"}, "entry_not_found", "No AI Art Frame entry has the id nope"),
        ({"config_entry_id": 7}, "entry_not_found", "No AI Art Frame entry"),
    ],
)
async def test_generate_validation(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
    message: str,
) -> None:
    """Bad input gets a translated error and reaches neither the server nor the frame."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "generate", **data)
    assert err.value.translation_key == key
    assert message in str(err.value)
    assert server.requests == []
    assert hass.states.get("sensor.frame_status").state == "idle"


async def test_valid_edge_values(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """Emoji, 255 characters and seeds given as text or whole floats are accepted."""
    await call(hass, "generate", prompt="🦊 a fox in the snow ❄️", seed="7")
    await call(hass, "generate", prompt="y" * 255, seed=3.0)
    await call(hass, "generate", prompt="a red car", seed=0)
    assert [request["seed"] for request in server.requests] == [7, 3, 0]
    assert server.requests[0]["prompt"] == "🦊 a fox in the snow ❄️"


async def test_entry_selection(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """With two frames the entry is required; an unloaded one is named in the error."""
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Hallway",
        unique_id="hallway",
        data={CONF_NAME: "Hallway", CONF_URL: server.url, CONF_TOKEN: server.token},
    )
    second.add_to_hass(hass)
    await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "new_prompt")
    assert err.value.translation_key == "entry_required"
    assert "(Frame, Hallway)" in str(err.value)

    response = await call(hass, "generate", prompt="a hallway", config_entry_id=second.entry_id)
    assert response["entity_id"] == "image.hallway_art"

    await hass.config_entries.async_unload(second.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "regenerate", config_entry_id=second.entry_id)
    assert err.value.translation_key == "entry_not_loaded"
    assert "Hallway" in str(err.value)
    await call(hass, "regenerate")  # one loaded frame left: no id needed

    await hass.config_entries.async_unload(loaded_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "regenerate")
    assert err.value.translation_key == "no_entry_loaded"


@pytest.mark.parametrize(
    ("answer", "key", "message"),
    [
        (ErrorAnswer(429, "queue_full", "full"), "server_busy", "queue is full"),
        (
            ErrorAnswer(503, "model_not_available", "loading", {"Retry-After": "20"}),
            "server_loading",
            "Try again in 20 seconds",
        ),
        (ErrorAnswer(400, "bad_request", "prompt too odd"), "request_rejected", "prompt too odd"),
        (ErrorAnswer(500, "model_failed", "out of memory"), "generation_failed", "out of memory"),
    ],
)
async def test_server_errors(
    hass: HomeAssistant,
    server: FakeGpuServer,
    loaded_entry: MockConfigEntry,
    answer: ErrorAnswer,
    key: str,
    message: str,
) -> None:
    """Server errors become translated errors; the Status sensor shows them; the next works."""
    server.errors.append(answer)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "generate", prompt="a red car")
    assert err.value.translation_key == key
    assert message in str(err.value)
    status = hass.states.get("sensor.frame_status")
    assert status.state == "error"
    assert status.attributes["last_error"] == str(err.value)
    assert status.attributes["progress"] is None
    assert hass.states.get("text.frame_prompt").state == "a red car"

    await call(hass, "generate", prompt="a blue car")
    status = hass.states.get("sensor.frame_status")
    assert status.state == "idle"
    assert status.attributes["last_error"] is None


async def test_one_generation_at_a_time(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """A second request waits for the first; the server never sees two at once."""
    server.gate = asyncio.Event()
    first = hass.async_create_task(call(hass, "generate", prompt="first"))
    await server.generation_started.wait()
    second = hass.async_create_task(call(hass, "regenerate"))
    third = hass.async_create_task(call(hass, "generate", prompt="third"))
    await asyncio.sleep(0.05)
    assert [request["prompt"] for request in server.requests] == ["first"]
    assert hass.states.get("sensor.frame_status").state == "generating"
    server.gate.set()
    results = await asyncio.gather(first, second, third)
    assert [result["prompt"] for result in results] == ["first", "first", "third"]
    assert [request["prompt"] for request in server.requests] == ["first", "first", "third"]
    assert hass.states.get("sensor.frame_status").state == "idle"


async def test_progress(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """The Status sensor shows progress while generating, in steps of 5 percent."""
    seen: list[Any] = []

    @callback
    def record(event: Any) -> None:
        # A callback runs in the event loop in event order (a plain function would run in
        # HA's executor threads, in any order).
        if event.data["entity_id"] == "sensor.frame_status":
            state = event.data["new_state"]
            seen.append((state.state, state.attributes["progress"]))

    unsub = hass.bus.async_listen("state_changed", record)
    server.progress_every = 16
    await call(hass, "generate", prompt="a red car")
    unsub()
    assert seen[0] == ("generating", 0)
    assert seen[-1] == ("idle", None)
    progress = [value for state, value in seen if state == "generating"]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert 6 <= len(progress) <= 21
