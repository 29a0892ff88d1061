"""The repository's automation blueprint: paint a picture from a spoken phrase."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.blueprint import Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .fake_server import FakeGpuServer
from .voice_support import async_converse, speech_of, voice_entry

__all__ = ["voice_entry"]

REPOSITORY = Path(__file__).resolve().parents[2]
BLUEPRINT = REPOSITORY / "blueprints/automation/dalle_frame/paint_from_voice.yaml"
BLUEPRINT_PATH = "dalle_frame/paint_from_voice.yaml"  # under <config>/blueprints/automation/


async def _set_up_automation(hass: HomeAssistant, inputs: dict[str, Any]) -> None:
    """Install the blueprint as a user would and set up one automation from it."""
    target = Path(hass.config.path("blueprints/automation", BLUEPRINT_PATH))

    def install() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BLUEPRINT, target)

    await hass.async_add_executor_job(install)
    config = {"use_blueprint": {"path": BLUEPRINT_PATH, "input": inputs}}
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    [state] = hass.states.async_all("automation")
    assert state.state == "on", state.attributes


async def test_blueprint_loads_and_validates(hass: HomeAssistant) -> None:
    """HA's blueprint helpers read it, and its substituted automation is valid."""
    data = await hass.async_add_executor_job(load_yaml_dict, BLUEPRINT)
    blueprint = Blueprint(
        data, path=BLUEPRINT_PATH, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )

    assert blueprint.validate() is None
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {"sentences", "frame"}
    inputs = BlueprintInputs(blueprint, {"use_blueprint": {"path": BLUEPRINT_PATH, "input": {}}})
    inputs.validate()
    substituted = inputs.async_substitute()
    assert substituted["triggers"][0]["command"] == [
        "make a picture of {prompt}",
        "create art of {prompt}",
    ]
    assert await async_validate_config_item(hass, "paint_from_voice", substituted) is not None


async def test_blueprint_paints_the_spoken_prompt(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """The default sentence paints its {prompt} and answers when the picture is made."""
    await _set_up_automation(hass, {})

    result = await async_converse(hass, "make a picture of a giraffe in a library")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [request["prompt"] for request in server.requests] == ["a giraffe in a library"]
    assert speech_of(result) == "The frame now shows a giraffe in a library."


async def test_blueprint_with_own_sentences_and_frame(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """Own sentences (one without {prompt}; none that the built-in German ones take) and a frame."""
    await _set_up_automation(
        hass,
        {
            "sentences": ["erschaffe ein Kunstwerk aus {prompt}", "surprise me"],
            "frame": voice_entry.entry_id,
        },
    )

    german = await async_converse(hass, "erschaffe ein Kunstwerk aus einem Apfelbaum")
    surprise = await async_converse(hass, "surprise me")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert server.requests[0]["prompt"] == "einem Apfelbaum"
    assert speech_of(german) == "The frame now shows einem Apfelbaum."
    listed = server.requests[1]["prompt"]
    assert listed != "surprise me"
    assert speech_of(surprise) == f"The frame now shows {listed}."


@pytest.mark.parametrize(
    ("sentences", "sentence", "said"),
    [
        (
            ["make a picture of {prompt}"],
            "make a picture of a comet",
            "Sorry, the frame could not paint a comet; its Status sensor says why.",
        ),
        (
            ["surprise me"],
            "surprise me",
            "Sorry, the frame could not paint something new; its Status sensor says why.",
        ),
    ],
    ids=["prompt", "new-prompt"],
)
async def test_blueprint_says_when_painting_failed(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    sentences: list[str],
    sentence: str,
    said: str,
) -> None:
    """A failed generation gets a spoken apology instead of a silent automation error."""
    await _set_up_automation(hass, {"sentences": sentences})
    await server.stop()

    result = await async_converse(hass, sentence)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert speech_of(result) == said
    assert hass.states.get("sensor.frame_status").state == "error"
