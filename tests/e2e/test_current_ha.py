"""What changed in current Home Assistant (2026.11), checked on the real `hass`.

Runs after the button and dashboard tests and before the fault tests (which make the
integration log the losses they cause on purpose).
"""

from __future__ import annotations

import pytest

from tests.stack import wait_for

from .checks import GENERATION_LIMIT, assert_panel_picture
from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPORTED = "Detected that custom integration 'dalle_frame'"


async def test_voice_sentence_paints_what_was_said(stack: Stack) -> None:
    """ "paint a red barn" to Assist's built-in agent paints a red barn on the frame."""
    refreshes = stack.satellite.refresh_count()
    reply = await stack.ha.rest(
        stack.session,
        "POST",
        "/api/conversation/process",
        {"text": "paint a red barn", "language": "en"},
    )
    speech = reply["response"]["speech"]["plain"]["speech"]
    assert "red barn" in speech, reply
    await stack.satellite.wait_for_refresh(after=refreshes, limit=GENERATION_LIMIT)
    assert_panel_picture(stack.satellite.output.read_bytes())
    art = await stack.state("image.frame_art")
    assert art["attributes"]["prompt"] == "a red barn"
    assert (await stack.state("text.frame_prompt"))["state"] == "a red barn"


async def test_voice_blueprint_is_offered(stack: Stack) -> None:
    """HA reads the imported voice blueprint (paint_from_voice.yaml) without an error."""
    blueprints = await stack.ha.ws_command(
        stack.session, {"type": "blueprint/list", "domain": "automation"}
    )
    blueprint = blueprints["dalle_frame/paint_from_voice.yaml"]
    assert "error" not in blueprint, blueprint
    assert blueprint["metadata"]["domain"] == "automation"


async def test_http_settings_are_kept(stack: Stack) -> None:
    """The `http:` settings HA took over from YAML are confirmed: no restart at minute 5."""
    config = await stack.ha.ws_command(stack.session, {"type": "http/config"})
    assert config["revert_at"] is None
    assert config["pending"] is None


async def test_no_warning_from_the_integration(stack: Stack) -> None:
    """HA logs no deprecation of the integration's, nor any warning or error from it."""
    log_path = stack.ha.config_dir / "home-assistant.log"

    async def logged() -> str | None:
        return log_path.read_text(errors="replace") if log_path.exists() else None

    log = await wait_for(logged, "Home Assistant's log file", 30)
    assert REPORTED not in log
    ours = [
        line
        for line in log.splitlines()
        if ("WARNING" in line or "ERROR" in line) and "custom_components.dalle_frame" in line
    ]
    assert ours == []
