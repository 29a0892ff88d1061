"""The prompt helper: new prompts from a conversation agent or an AI Task entity, or the list."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame import prompt_helper
from custom_components.dalle_frame.const import CONF_PROMPT_HELPER, DOMAIN
from custom_components.dalle_frame.prompt_helper import (
    MAX_HELPER_PROMPT_LENGTH,
    PromptHelperError,
    checked_prompt,
)

from .ai_task_support import Answers, async_add_ai_services
from .fake_server import FakeGpuServer


@pytest.fixture(autouse=True)
def media_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """HA's media folder, set before ai_task loads."""
    hass.config.media_dirs = {"local": str(tmp_path / "media")}


@pytest.fixture
async def ai_services(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> tuple[Answers, Answers, Answers]:
    """The frame, plus ai_task.painter, ai_task.writer and conversation.agent."""
    return await async_add_ai_services(hass)


async def use_helper(hass: HomeAssistant, entry: MockConfigEntry, entity_id: str | None) -> None:
    """Set (or clear) the frame's prompt helper, as the options flow saves it."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_PROMPT_HELPER: entity_id}
    )
    await hass.async_block_till_done()


async def new_prompt(hass: HomeAssistant) -> dict[str, Any]:
    """Press "surprise me" through the service; return its response."""
    response = await hass.services.async_call(
        DOMAIN, "new_prompt", {}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def is_builtin(entry: MockConfigEntry, prompt: str) -> bool:
    """Whether `prompt` was made from the frame's prompt list."""
    return any(
        prompt.endswith(subject) for subject in entry.runtime_data.controller.prompts.subjects
    )


@pytest.mark.parametrize("helper", ["ai_task.writer", "conversation.agent"])
async def test_helper_writes_the_prompt(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    server: FakeGpuServer,
    helper: str,
) -> None:
    """The helper's answer, cleaned of quotes and spaces, is painted; it saw an example."""
    _, writer, agent = ai_services
    answers = writer if helper == "ai_task.writer" else agent
    answers.text = '  "A fox   in the snow, ukiyo-e woodblock print"\n'
    answers.gate = asyncio.Event()
    await use_helper(hass, loaded_entry, helper)
    pressed = hass.async_create_task(new_prompt(hass))
    await answers.was_asked.wait()
    assert hass.states.get("sensor.frame_status").state == "generating"  # while it writes
    answers.gate.set()
    response = await pressed
    assert response["prompt"] == "A fox in the snow, ukiyo-e woodblock print"
    assert server.requests[-1]["prompt"] == response["prompt"]
    (asked,) = answers.asked
    assert "one line" in asked
    assert "in English" in asked
    example = asked.rsplit(": ", 1)[1]
    assert is_builtin(loaded_entry, example)
    # Regenerate keeps the prompt and asks nobody.
    await hass.services.async_call(DOMAIN, "regenerate", {}, blocking=True, return_response=True)
    assert server.requests[-1]["prompt"] == response["prompt"]
    assert len(answers.asked) == 1


@pytest.mark.parametrize(
    ("helper", "answer", "error", "reason"),
    [
        ("ai_task.writer", "Here is one:\na fox", None, "more than one line"),
        ("ai_task.writer", "x" * (MAX_HELPER_PROMPT_LENGTH + 1), None, "longer than 200"),
        ("ai_task.writer", "a fox\x07", None, "control characters"),
        ("ai_task.writer", '""', None, "empty"),
        ("ai_task.writer", {"prompt": "a fox"}, None, "not text but dict"),
        ("ai_task.writer", "a fox", HomeAssistantError("quota used up"), "quota used up"),
        (
            "conversation.agent",
            "a fox",
            RuntimeError("boom"),
            "unexpected error (RuntimeError: boom)",
        ),
        ("conversation.agent", None, None, "the agent answered an error: I cannot"),
        ("ai_task.gone", "a fox", None, "ai_task.gone"),
        ("ai_task.painter_only", "a fox", None, "ai_task.painter_only"),
        ("conversation.gone", "a fox", None, "conversation.gone"),
    ],
)
async def test_fallback_to_the_list(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    server: FakeGpuServer,
    caplog: pytest.LogCaptureFixture,
    helper: str,
    answer: object,
    error: Exception | None,
    reason: str,
) -> None:
    """A bad answer, a failure or a missing helper: a prompt from the list, and a log line."""
    _, writer, agent = ai_services
    for answers in (writer, agent):
        answers.text = answer
        answers.error = error
    await use_helper(hass, loaded_entry, helper)
    response = await new_prompt(hass)
    assert is_builtin(loaded_entry, response["prompt"])
    assert server.requests[-1]["prompt"] == response["prompt"]
    (warning,) = [r.getMessage() for r in caplog.records if "prompt helper" in r.getMessage()]
    assert helper in warning
    assert reason in warning


async def test_helper_timeout(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A helper that never answers: the list's prompt after the time limit."""
    _, writer, _ = ai_services
    writer.hang = True
    monkeypatch.setattr(prompt_helper, "HELPER_TIMEOUT_SECONDS", 0.05)
    await use_helper(hass, loaded_entry, "ai_task.writer")
    response = await new_prompt(hass)
    assert is_builtin(loaded_entry, response["prompt"])
    assert "no answer within 0 seconds" in caplog.text


async def test_without_helper(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    ai_services: tuple[Answers, Answers, Answers],
) -> None:
    """No helper (or a cleared one): the list alone, nobody asked."""
    _, writer, agent = ai_services
    await use_helper(hass, loaded_entry, None)
    response = await new_prompt(hass)
    assert is_builtin(loaded_entry, response["prompt"])
    assert writer.asked == agent.asked == []


@pytest.mark.parametrize(
    ("answer", "prompt"),
    [
        ("a fox", "a fox"),
        ("  “a  fox in\tsnow”  ", "a fox in snow"),
        ("'a fox'", "a fox"),
        ("x" * MAX_HELPER_PROMPT_LENGTH, "x" * MAX_HELPER_PROMPT_LENGTH),
    ],
)
def test_checked_prompt(answer: str, prompt: str) -> None:
    """Quotes and extra spaces go; the rest is kept."""
    assert checked_prompt(answer) == prompt


@pytest.mark.parametrize("answer", ["", "  ", "a\nb", "a\u2028b", "a\x00b", None, 3])
def test_checked_prompt_refuses(answer: object) -> None:
    """Empty, several lines, control characters and non-text are refused."""
    with pytest.raises(PromptHelperError):
        checked_prompt(answer)


@pytest.mark.parametrize("helper", ["ai_task.writer", "conversation.agent"])
async def test_helper_without_its_integration(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, helper: str
) -> None:
    """Where the helper's integration is not loaded: the list, and the log says why."""
    prompt = await prompt_helper.async_surprise_prompt(
        hass, {CONF_PROMPT_HELPER: helper}, lambda: "a built-in prompt"
    )
    assert prompt == "a built-in prompt"
    domain = helper.partition(".")[0]
    assert f"the {domain} integration is not loaded" in caplog.text
