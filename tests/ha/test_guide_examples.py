"""The user guide's automation examples are automations this Home Assistant accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.core import HomeAssistant

from custom_components.dalle_frame.ha_compat import vol

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "USER_GUIDE.md"


def _automations() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    found = []
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "automation" in data:
            found.extend(data["automation"])
    return found


def test_the_guide_has_automation_examples() -> None:
    """Three examples: a schedule, the weather with the action's response, auto mode at night."""
    assert [automation["alias"] for automation in _automations()] == [
        "Frame: morning picture",
        "Frame: paint the weather",
        "Frame: night painting",
    ]


@pytest.mark.parametrize("automation", _automations(), ids=lambda config: config["alias"])
async def test_example_is_a_valid_automation(hass: HomeAssistant, automation: dict) -> None:
    """HA's own automation validation (the automation editor's) accepts the example."""
    validated = await async_validate_config_item(hass, "example", automation)
    assert validated is not None
    assert validated.validation_error is None


async def test_validation_catches_a_broken_example(hass: HomeAssistant) -> None:
    """The check above does check: a bad trigger is refused."""
    with pytest.raises(vol.Invalid, match="no_such_trigger"):
        await async_validate_config_item(
            hass, "broken", {"triggers": [{"trigger": "no_such_trigger"}], "actions": []}
        )
