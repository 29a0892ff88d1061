"""AI Task both ways: the frame's server as an AI Task entity, and a frame painting through one.

HA's real ai_task integration runs: `ai_task.generate_image` stores the picture in the media
folder and returns its media-source id; the frame source reads it back from there.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.ai_task import AITaskEntityFeature
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dalle_frame import ai_task_source
from custom_components.dalle_frame.ai_task import png_size
from custom_components.dalle_frame.api import PNG_SIGNATURE
from custom_components.dalle_frame.const import CONF_AI_TASK_ENTITY, CONF_PROMPT_HELPER, DOMAIN
from custom_components.dalle_frame.coordinator import HEALTH_INTERVAL
from custom_components.dalle_frame.history import FrameHistory, history_folder

from .ai_task_support import Answers, async_add_ai_services, jpeg_of
from .fake_server import ErrorAnswer, FakeGpuServer, make_art_png

ART_GENERATOR = "ai_task.frame_art_generator"


@pytest.fixture(autouse=True)
def media_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """HA's media folder, set before ai_task loads (where it keeps generated pictures)."""
    hass.config.media_dirs = {"local": str(tmp_path / "media")}
    return tmp_path / "media"


@pytest.fixture
async def ai_services(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> tuple[Answers, Answers, Answers]:
    """The frame, plus ai_task.painter, ai_task.writer and conversation.agent."""
    return await async_add_ai_services(hass)


async def generate_image(hass: HomeAssistant, entity_id: str, instructions: str) -> dict[str, Any]:
    """Call ai_task.generate_image as an automation would."""
    response = await hass.services.async_call(
        "ai_task",
        "generate_image",
        {"task_name": "test", "entity_id": entity_id, "instructions": instructions},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


async def next_health_check(hass: HomeAssistant) -> None:
    """Let the frame's health coordinator poll once more."""
    async_fire_time_changed(hass, dt_util.utcnow() + HEALTH_INTERVAL + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)


async def use_painter(hass: HomeAssistant, entry: MockConfigEntry, entity_id: str | None) -> None:
    """Set (or clear) the frame's AI Task source, as the options flow saves it."""
    options = {**entry.options, CONF_AI_TASK_ENTITY: entity_id}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.async_block_till_done()


async def test_server_as_ai_task_entity(
    hass: HomeAssistant,
    ai_services: tuple[Answers, Answers, Answers],
    server: FakeGpuServer,
    media_dir: Path,
) -> None:
    """ai_task.generate_image on the frame's entity paints on the GPU server; the frame stays."""
    state = hass.states.get(ART_GENERATOR)
    assert state is not None
    assert state.attributes["supported_features"] == AITaskEntityFeature.GENERATE_IMAGE
    response = await generate_image(hass, ART_GENERATOR, "  a red\nfox   at dawn ")
    assert server.requests[-1]["prompt"] == "a red fox at dawn"
    assert response["mime_type"] == "image/png"
    assert (response["width"], response["height"]) == (256, 256)
    assert response["model"] == "test"
    assert response["revised_prompt"] == "  a red\nfox   at dawn "
    stored = list((media_dir / "ai_task").rglob("*.png"))
    assert len(stored) == 1
    assert stored[0].read_bytes().startswith(PNG_SIGNATURE)
    assert hass.states.get("sensor.frame_status").attributes["source"] is None
    assert hass.states.get(ART_GENERATOR).state not in ("unknown", "unavailable")


@pytest.mark.parametrize(
    ("error", "translation_key"),
    [
        (ErrorAnswer(429, "queue_full", "the queue is full"), "server_busy"),
        (
            ErrorAnswer(503, "model_not_available", "loading", {"Retry-After": "30"}),
            "server_loading",
        ),
        (ErrorAnswer(400, "bad_request", "the prompt is too long"), "request_rejected"),
    ],
)
async def test_ai_task_entity_errors(
    hass: HomeAssistant,
    ai_services: tuple[Answers, Answers, Answers],
    server: FakeGpuServer,
    error: ErrorAnswer,
    translation_key: str,
) -> None:
    """A server failure reaches the caller as the frame's translated error."""
    server.errors.append(error)
    with pytest.raises(HomeAssistantError) as caught:
        await generate_image(hass, ART_GENERATOR, "a fox")
    assert caught.value.translation_key == translation_key
    assert caught.value.translation_domain == DOMAIN


async def test_ai_task_entity_server_down(
    hass: HomeAssistant, ai_services: tuple[Answers, Answers, Answers], server: FakeGpuServer
) -> None:
    """An unreachable server: cannot_connect with its address; unavailable until it is back."""
    writes: list[str] = []

    @callback
    def on_state(event: Event) -> None:
        if event.data["entity_id"] == ART_GENERATOR:
            writes.append(event.data["new_state"].state)

    hass.bus.async_listen("state_changed", on_state)
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a fox"}, blocking=True)
    assert writes == []  # the frame's own progress does not touch the entity
    await server.stop()
    with pytest.raises(HomeAssistantError) as caught:
        await generate_image(hass, ART_GENERATOR, "a fox")
    assert caught.value.translation_key == "cannot_connect"
    assert server.url in str(caught.value)
    await next_health_check(hass)
    assert hass.states.get(ART_GENERATOR).state == STATE_UNAVAILABLE
    await server.start()
    await next_health_check(hass)
    assert hass.states.get(ART_GENERATOR).state != STATE_UNAVAILABLE
    await generate_image(hass, ART_GENERATOR, "a fox")


async def test_frame_paints_through_ai_task(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    server: FakeGpuServer,
) -> None:
    """generate, regenerate and new prompt paint through the picked entity; history and Frame."""
    painter, _, _ = ai_services
    await use_painter(hass, loaded_entry, "ai_task.painter")
    served = len(server.requests)
    seen: list[tuple[str, Any]] = []

    @callback
    def on_status(event: Event) -> None:
        if event.data["entity_id"] == "sensor.frame_status":
            state = event.data["new_state"]
            seen.append((state.state, state.attributes.get("source")))

    hass.bus.async_listen("state_changed", on_status)
    response = await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a blue heron"}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["prompt"] == "a blue heron"
    assert response["seed"] == 0
    assert painter.asked == ["a blue heron"]
    assert len(server.requests) == served  # the GPU server painted nothing
    assert ("generating", "ai_task.painter") in seen
    status = hass.states.get("sensor.frame_status")
    assert (status.state, status.attributes["source"]) == ("idle", "ai_task.painter")
    history = FrameHistory(history_folder(hass.config.config_dir, loaded_entry.entry_id))
    items = await hass.async_add_executor_job(history.items)
    assert [item.prompt for item in items] == ["a blue heron"]
    art = loaded_entry.runtime_data.controller.art
    assert art is not None
    assert art.png == painter.image
    assert loaded_entry.runtime_data.controller.frame_png is not None

    # A JPEG answer becomes a PNG of the same size; regenerate and the button go the same way.
    painter.image = jpeg_of(make_art_png(3, size=128))
    painter.mime_type = "image/jpeg"
    await hass.services.async_call(DOMAIN, "regenerate", {}, blocking=True, return_response=True)
    art = loaded_entry.runtime_data.controller.art
    assert art is not None
    assert art.png.startswith(PNG_SIGNATURE)
    assert png_size(art.png) == (128, 128)
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.frame_new_prompt"}, blocking=True
    )
    assert len(painter.asked) == 3
    assert len(server.requests) == served

    # Cleared: the frame's own server paints again.
    await use_painter(hass, loaded_entry, None)
    await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "a gull"}, blocking=True, return_response=True
    )
    assert server.requests[-1]["prompt"] == "a gull"
    assert hass.states.get("sensor.frame_status").attributes["source"] == "server"


@pytest.mark.parametrize(
    ("painter_id", "setup", "reason"),
    [
        ("ai_task.painter", "error", "quota used up"),
        ("ai_task.painter", "crash", "unexpected error (RuntimeError: socket closed)"),
        ("ai_task.painter", "not_a_picture", "not an image"),
        ("ai_task.gone", None, "ai_task.gone"),
        ("ai_task.writer", None, "ai_task.writer"),
    ],
)
async def test_ai_task_source_failures(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    painter_id: str,
    setup: str | None,
    reason: str,
) -> None:
    """A failing, missing or unfit entity: the frame's error names it; the picture stays."""
    painter, _, _ = ai_services
    controller = loaded_entry.runtime_data.controller
    await hass.services.async_call(
        DOMAIN, "generate", {"prompt": "before"}, blocking=True, return_response=True
    )
    shown = controller.art
    await use_painter(hass, loaded_entry, painter_id)
    if setup == "error":
        painter.error = HomeAssistantError("quota used up")
    elif setup == "crash":
        painter.error = RuntimeError("socket closed")
    elif setup == "not_a_picture":
        painter.image = b"this is text"
        painter.mime_type = "image/png"
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            DOMAIN, "generate", {"prompt": "a fox"}, blocking=True, return_response=True
        )
    assert caught.value.translation_key == "ai_task_failed"
    assert painter_id in str(caught.value)
    assert reason in str(caught.value)
    status = hass.states.get("sensor.frame_status")
    assert status.state == "error"
    assert painter_id in status.attributes["last_error"]
    assert controller.art is shown


async def test_ai_task_source_timeout(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entity that never answers ends in an error after the time limit."""
    painter, _, _ = ai_services
    painter.hang = True
    monkeypatch.setattr(ai_task_source, "AI_TASK_TIMEOUT_SECONDS", 0.05)
    await use_painter(hass, loaded_entry, "ai_task.painter")
    with pytest.raises(HomeAssistantError, match="no picture within 0 seconds"):
        await hass.services.async_call(
            DOMAIN, "generate", {"prompt": "a fox"}, blocking=True, return_response=True
        )
    assert hass.states.get("sensor.frame_status").state == "error"


def test_png_size() -> None:
    """The size comes from the PNG header; anything else has none."""
    assert png_size(make_art_png(1, size=64)) == (64, 64)
    assert png_size(b"GIF89a" + bytes(30)) is None


async def test_options_pick_and_clear(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
) -> None:
    """The options form offers both entity pickers; left empty, they are gone again."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    fields = {str(key): value for key, value in result["data_schema"].schema.items()}
    painter_filter = fields[CONF_AI_TASK_ENTITY].config["filter"]
    assert painter_filter == [{"domain": ["ai_task"], "supported_features": [4]}]
    helper_config = fields[CONF_PROMPT_HELPER].config
    assert [rule["domain"] for rule in helper_config["filter"]] == [["conversation"], ["ai_task"]]
    assert helper_config["exclude_entities"] == ["conversation.home_assistant"]
    base = {"panel": "inky_impression_5_7", "history_size": 50}
    picked = {CONF_AI_TASK_ENTITY: "ai_task.painter", CONF_PROMPT_HELPER: "conversation.agent"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, **picked}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {key: loaded_entry.options[key] for key in picked} == picked

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_AI_TASK_ENTITY].description == {"suggested_value": "ai_task.painter"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], base)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not set(picked) & set(loaded_entry.options)


async def test_ai_task_source_too_large(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A picture over the size limit is refused before it is read."""
    monkeypatch.setattr(ai_task_source, "MAX_IMAGE_BYTES", 100)
    await use_painter(hass, loaded_entry, "ai_task.painter")
    with pytest.raises(HomeAssistantError, match="larger than"):
        await hass.services.async_call(
            DOMAIN, "generate", {"prompt": "a fox"}, blocking=True, return_response=True
        )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"url": "/x"}, "unexpected error (TypeError: the answer has no media_source_id)"),
        (None, "unexpected error (TypeError"),
        ({"media_source_id": "media-source://elsewhere/x"}, "not a local file"),
    ],
)
async def test_ai_task_source_odd_answers(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    monkeypatch: pytest.MonkeyPatch,
    answer: dict[str, Any] | None,
    reason: str,
) -> None:
    """Answers HA's AI Task does not give today (a remote media source, no id) are refused.

    HA's functions are replaced here only to reach these guards against a changed API.
    """
    from homeassistant.components import ai_task, media_source

    async def generate_image(hass: HomeAssistant, **kwargs: Any) -> dict[str, Any] | None:
        return answer

    async def resolve_media(hass: HomeAssistant, media_id: str, target: None) -> Any:
        return media_source.PlayMedia("https://example.invalid/x.png", "image/png")

    monkeypatch.setattr(ai_task, "async_generate_image", generate_image)
    monkeypatch.setattr(media_source, "async_resolve_media", resolve_media)
    with pytest.raises(HomeAssistantError) as caught:
        await ai_task_source.async_paint(hass, "ai_task.painter", "a fox")
    assert reason in str(caught.value)


async def test_ai_task_source_without_ai_task(hass: HomeAssistant) -> None:
    """Where HA's AI Task integration is not loaded, the reason says so."""
    assert "ai_task" not in hass.config.components
    with pytest.raises(HomeAssistantError) as caught:
        await ai_task_source.async_paint(hass, "ai_task.painter", "a fox")
    assert caught.value.translation_key == "ai_task_failed"
    assert caught.value.translation_placeholders == {
        "entity_id": "ai_task.painter",
        "reason": "the AI Task integration is not loaded (see the log)",
    }
