from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def test_loads(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Setting up the entry creates the entities."""
    for entity_id in (
        "image.frame_art",
        "image.frame_frame",
        "text.frame_prompt",
        "switch.frame_auto_mode",
        "number.frame_auto_interval",
        "select.frame_auto_source",
        "sensor.frame_status",
        "sensor.frame_generation_time",
        "button.frame_regenerate",
        "button.frame_new_prompt",
    ):
        assert hass.states.get(entity_id) is not None, entity_id
    result = await hass.services.async_call(
        "dalle_frame", "generate", {"prompt": "a red car"}, blocking=True, return_response=True
    )
    print(result)
    print(hass.states.get("image.frame_frame"))
    print(hass.states.get("sensor.frame_status"))
