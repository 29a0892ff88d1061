"""The DalleFramePaint, DalleFrameNewPrompt and DalleFrameRegenerate intents."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent, llm
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.const import DOMAIN
from custom_components.dalle_frame.intent import INTENT_NEW_PROMPT, INTENT_PAINT, INTENT_REGENERATE

from .fake_server import ErrorAnswer, FakeGpuServer
from .voice_support import async_load_entry, frame_entry, voice_entry

__all__ = ["voice_entry"]


async def _paint(
    hass: HomeAssistant, prompt: str, device_id: str | None = None
) -> intent.IntentResponse:
    """Handle DalleFramePaint through HA's intent API."""
    return await intent.async_handle(
        hass, "test", INTENT_PAINT, {"prompt": {"value": prompt}}, device_id=device_id
    )


def _speech(response: intent.IntentResponse) -> str:
    """The plain speech of an intent response."""
    return str(response.speech["plain"]["speech"])


def _frame_device(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    """The device of a frame (its entry's one device, with the frame's identifier)."""
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert device.identifiers == {(DOMAIN, entry.entry_id)}
    return device


def _speaker_in(hass: HomeAssistant, area: ar.AreaEntry | None) -> str:
    """A voice satellite's device in `area` (None: in no area); return its id."""
    owner = MockConfigEntry(domain="test")
    owner.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=owner.entry_id, identifiers={("test", owner.entry_id)}
    )
    if area is not None:
        dr.async_get(hass).async_update_device(device.id, area_id=area.id)
    return device.id


async def test_paint_generates_and_confirms(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """The intent paints the slot's prompt; a quick generation is reported as done."""
    response = await _paint(hass, "  a  paper   boat ")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert _speech(response) == "Frame now shows a paper boat."
    assert [request["prompt"] for request in server.requests] == ["a paper boat"]
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a paper boat"


async def test_new_prompt_and_regenerate_intents(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """New prompt paints from the list; regenerate paints the same prompt again."""
    response = await intent.async_handle(hass, "test", INTENT_NEW_PROMPT, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    first = server.requests[0]["prompt"]
    assert _speech(response) == f"Frame now shows {first}."

    response = await intent.async_handle(hass, "test", INTENT_REGENERATE, {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [request["prompt"] for request in server.requests] == [first, first]
    assert _speech(response) == f"Frame now shows {first}."


async def test_long_generation_is_confirmed_at_once(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """The reply comes while the generation runs; a second request is said to come next."""
    server.gate = asyncio.Event()

    first = await _paint(hass, "a slow river")
    second = await _paint(hass, "a fast train")

    assert _speech(first) == "Painting a slow river on Frame. It takes a moment."
    assert _speech(second) == "Frame is still painting; a fast train comes next. It takes a moment."
    server.gate.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [request["prompt"] for request in server.requests] == ["a slow river", "a fast train"]
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a fast train"


async def test_regenerate_while_busy_names_the_current_prompt(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """Regenerate says what it paints again."""
    await _paint(hass, "a red kite")
    await hass.async_block_till_done(wait_background_tasks=True)
    server.gate = asyncio.Event()

    response = await intent.async_handle(hass, "test", INTENT_REGENERATE, {})

    assert _speech(response) == "Painting a red kite again on Frame. It takes a moment."
    server.gate.set()
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ErrorAnswer(429, "queue_full", "the queue is full"), "queue is full"),
        (
            ErrorAnswer(503, "model_not_available", "loading", {"Retry-After": "20"}),
            "Try again in 20 seconds",
        ),
        (ErrorAnswer(500, "model_failed", "out of memory"), "out of memory"),
    ],
)
async def test_immediate_server_errors_are_said(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    error: ErrorAnswer,
    said: str,
) -> None:
    """A failure that comes at once is the reply, with its reason."""
    server.errors.append(error)

    response = await _paint(hass, "a volcano")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert _speech(response).startswith("I could not paint a volcano on Frame. ")
    assert said in _speech(response)


async def test_server_down_is_said(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """With the server stopped, the reply says it cannot be reached."""
    await server.stop()

    response = await _paint(hass, "a volcano")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert response.response_type is intent.IntentResponseType.ERROR
    assert _speech(response) == (
        "I could not paint a volcano on Frame. "
        "Its GPU server cannot be reached; check that it is running."
    )
    assert hass.states.get("sensor.frame_status").state == "error"


async def test_new_prompt_with_server_down_shows_history(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """Like button B, "paint something new" shows a picture from the history when down."""
    for prompt in ("a cat", "a dog"):
        await _paint(hass, prompt)
        await hass.async_block_till_done(wait_background_tasks=True)
    await server.stop()

    response = await intent.async_handle(hass, "test", INTENT_NEW_PROMPT, {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert _speech(response) == (
        "No new picture could be made, so Frame shows a picture from its history."
    )
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a cat"


@pytest.mark.parametrize(
    ("prompt", "said"),
    [
        ("x" * 300, "The prompt has 300 characters; at most 255 are allowed."),
        ("a cat\x07", "The prompt contains control characters; use plain text."),
    ],
    ids=["too-long", "control-character"],
)
async def test_bad_prompts_are_said_and_not_sent(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    prompt: str,
    said: str,
) -> None:
    """A prompt the frame cannot take is refused with the reason."""
    response = await _paint(hass, prompt)

    assert response.response_type is intent.IntentResponseType.ERROR
    assert _speech(response).startswith("I cannot paint that: ")
    assert said in _speech(response)
    assert server.requests == []


async def test_empty_prompt_is_invalid_slot_info(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """An empty prompt slot fails the slot schema."""
    with pytest.raises(intent.InvalidSlotInfo):
        await _paint(hass, "   ")
    with pytest.raises(intent.InvalidSlotInfo):
        await intent.async_handle(hass, "test", INTENT_PAINT, {})
    assert server.requests == []


async def test_no_frame_loaded(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """Without a loaded frame the reply says so."""
    await hass.config_entries.async_unload(voice_entry.entry_id)
    await hass.async_block_till_done()

    response = await _paint(hass, "a comet")

    assert _speech(response) == "No picture frame is set up, so I cannot paint anything."
    assert server.requests == []


async def test_the_frame_in_the_speakers_area_paints(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """With several frames, the one in the speaker's area paints; elsewhere a clear error."""
    hall = await async_load_entry(hass, frame_entry(server, "Hall"))
    areas = ar.async_get(hass)
    bedroom, hallway, kitchen = (
        areas.async_create(name) for name in ("Bedroom", "Hallway", "Kitchen")
    )
    devices = dr.async_get(hass)
    devices.async_update_device(_frame_device(hass, voice_entry).id, area_id=bedroom.id)
    devices.async_update_device(_frame_device(hass, hall).id, area_id=hallway.id)

    in_bedroom = await _paint(hass, "a sleeping owl", _speaker_in(hass, bedroom))
    in_hallway = await _paint(hass, "a coat rack", _speaker_in(hass, hallway))
    await hass.async_block_till_done(wait_background_tasks=True)
    in_kitchen = await _paint(hass, "a teapot", _speaker_in(hass, kitchen))
    nowhere = await _paint(hass, "a teapot", _speaker_in(hass, None))
    unknown_device = await _paint(hass, "a teapot", "no-such-device")

    assert _speech(in_bedroom) == "Frame now shows a sleeping owl."
    assert _speech(in_hallway) == "Hall now shows a coat rack."
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a sleeping owl"
    assert hass.states.get("image.hall_art").attributes["prompt"] == "a coat rack"
    for response in (in_kitchen, nowhere, unknown_device):
        assert response.response_type is intent.IntentResponseType.ERROR
        assert _speech(response) == (
            "There are several frames (Frame and Hall) and none is in this area. "
            "Ask from a device in the same area as the frame."
        )
    assert len(server.requests) == 2


async def test_two_frames_in_one_area(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """Two frames in the speaker's area: the reply says to separate them."""
    hall = await async_load_entry(hass, frame_entry(server, "Hall"))
    den = ar.async_get(hass).async_create("Den")
    for entry in (voice_entry, hall):
        dr.async_get(hass).async_update_device(_frame_device(hass, entry).id, area_id=den.id)

    response = await _paint(hass, "a fireplace", _speaker_in(hass, den))

    assert _speech(response) == (
        "There are several frames in Den: Frame and Hall. Put each one in its own area."
    )


async def test_the_only_frame_paints_for_a_speaker_elsewhere(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """With one frame, a speaker in another area still gets it."""
    garage = ar.async_get(hass).async_create("Garage")

    response = await _paint(hass, "a vintage car", _speaker_in(hass, garage))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert _speech(response) == "Frame now shows a vintage car."


async def test_intents_are_llm_tools(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """LLM agents get the intents as tools with a description and the prompt parameter."""
    context = llm.LLMContext(
        platform="test",
        context=Context(),
        language="en",
        assistant="conversation",
        device_id=None,
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    # HA 2026.x names an integration's tools "<domain>__<intent>" (its llm platform); HA
    # 2025.12 turns every intent into a tool named after it.
    has_llm_platforms = importlib.util.find_spec("homeassistant.components.llm") is not None
    prefix = f"{DOMAIN}__" if has_llm_platforms else ""
    tools = {tool.name.removeprefix(prefix): tool for tool in api.tools}

    paint = tools[INTENT_PAINT]
    assert paint.name == f"{prefix}{INTENT_PAINT}"
    assert "picture frame" in paint.description
    assert [str(key) for key in paint.parameters.schema] == ["prompt"]
    assert INTENT_NEW_PROMPT in tools
    assert INTENT_REGENERATE in tools

    result = await api.async_call_tool(
        llm.ToolInput(tool_name=paint.name, tool_args={"prompt": "a sailing ship"})
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    data = getattr(result, "data", result)  # a ToolResult on HA 2026.x, a dict before
    assert data["speech"]["plain"]["speech"] == "Frame now shows a sailing ship."
    assert server.requests[0]["prompt"] == "a sailing ship"


async def test_unloading_cancels_a_voice_generation(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """A voice generation still running when its frame unloads ends with the entry."""
    server.gate = asyncio.Event()
    await _paint(hass, "an endless staircase")

    assert await hass.config_entries.async_unload(voice_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert voice_entry.state is ConfigEntryState.NOT_LOADED
    server.gate.set()
