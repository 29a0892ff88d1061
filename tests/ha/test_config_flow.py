"""Config flow: user step, Supervisor discovery, reconfigure, reauth and options."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from homeassistant.config_entries import SOURCE_HASSIO, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.const import (
    CONF_ADDON_UUID,
    CONF_CAPTION,
    CONF_DITHER,
    CONF_FIT,
    CONF_HISTORY_SIZE,
    CONF_ORIENTATION,
    CONF_PANEL,
    CONF_PROMPT_FILE,
    CONF_SATURATION,
    CONF_TOKEN,
    CONF_URL,
    DOMAIN,
)

from .fake_server import FakeGpuServer

ADDON_UUID = "5c53de3b9f1c4c5a9a1e0b1b2c3d4e5f"

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")


def _discovery(server: FakeGpuServer, token: str | None = None) -> HassioServiceInfo:
    """The message the add-on sends through the Supervisor."""
    return HassioServiceInfo(
        config={"host": "127.0.0.1", "port": server.port, "token": token or server.token},
        name="AI Art Frame server",
        slug="local_dalle_frame",
        uuid=ADDON_UUID,
    )


async def test_user_step(hass: HomeAssistant, server: FakeGpuServer) -> None:
    """A name, a URL and a token make an entry named after the frame."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: " Living room ", CONF_URL: server.url + "/", CONF_TOKEN: server.token},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Living room"
    assert result["data"] == {
        CONF_NAME: "Living room",
        CONF_URL: server.url,
        CONF_TOKEN: server.token,
    }
    assert result["result"].unique_id == "living_room"
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert hass.states.get("image.living_room_frame") is not None


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({CONF_URL: "not a url"}, {CONF_URL: "invalid_url"}),
        ({CONF_URL: "ftp://127.0.0.1:1"}, {CONF_URL: "invalid_url"}),
        ({CONF_URL: "http://[::1"}, {CONF_URL: "invalid_url"}),
        ({CONF_NAME: "!!!"}, {CONF_NAME: "invalid_name"}),
        ({CONF_TOKEN: "wrong-token"}, {"base": "invalid_auth"}),
        ({CONF_TOKEN: ""}, {"base": "invalid_auth"}),
        ({"closed_port": True}, {"base": "cannot_connect"}),
        ({"health_404": True}, {"base": "not_a_frame_server"}),
    ],
)
async def test_user_step_errors(
    hass: HomeAssistant, server: FakeGpuServer, change: dict, errors: dict[str, str]
) -> None:
    """Each mistake shows its error; correcting it creates the entry."""
    user_input = {CONF_NAME: "Frame", CONF_URL: server.url, CONF_TOKEN: server.token}
    if change.pop("closed_port", False):
        await server.stop()
    if change.pop("health_404", False):
        server.health_http_status = 404
    user_input.update(change)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    await server.start()
    server.health_http_status = 200
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Frame", CONF_URL: server.url, CONF_TOKEN: server.token}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_step_unexpected_answer(hass: HomeAssistant, server: FakeGpuServer) -> None:
    """A server that fails the token check with a server error is reported as unknown."""

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "boom", "message": "boom"}}, status=500)

    server._generate = broken  # type: ignore[method-assign]
    await server.stop()
    await server.start()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Frame", CONF_URL: server.url, CONF_TOKEN: server.token}
    )
    assert result["errors"] == {"base": "unknown"}


async def test_user_step_same_name(
    hass: HomeAssistant, server: FakeGpuServer, mock_entry: MockConfigEntry
) -> None:
    """A second frame with the same name is refused; another name may share the server."""
    mock_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    user_input = {CONF_NAME: "frame", CONF_URL: server.url, CONF_TOKEN: server.token}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    user_input[CONF_NAME] = "Hallway"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_hassio_discovery(hass: HomeAssistant, server: FakeGpuServer) -> None:
    """The add-on is offered as the frame "Frame" and confirmed with one click."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(server)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"
    assert result["description_placeholders"] == {"addon": "AI Art Frame server"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Frame"
    assert result["data"] == {
        CONF_NAME: "Frame",
        CONF_URL: server.url,
        CONF_TOKEN: server.token,
        CONF_ADDON_UUID: ADDON_UUID,
    }
    await hass.async_block_till_done()


async def test_hassio_discovery_server_down(hass: HomeAssistant, server: FakeGpuServer) -> None:
    """A discovered add-on that does not answer aborts with the reason."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(server)
    )
    await server.stop()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_hassio_rediscovery_updates_every_frame(
    hass: HomeAssistant, server: FakeGpuServer
) -> None:
    """A known add-on on a new address updates each frame using it instead of a new entry."""
    frames = []
    for name in ("Frame", "Hallway"):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=name,
            unique_id=name.lower(),
            data={
                CONF_NAME: name,
                CONF_URL: "http://127.0.0.1:1",
                CONF_TOKEN: "old-token",
                CONF_ADDON_UUID: ADDON_UUID,
            },
        )
        entry.add_to_hass(hass)
        frames.append(entry)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(server)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await hass.async_block_till_done()
    for entry in frames:
        assert entry.data[CONF_URL] == server.url
        assert entry.data[CONF_TOKEN] == server.token
        assert entry.state is ConfigEntryState.LOADED
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2

    # The same message again changes nothing.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(server)
    )
    assert result["reason"] == "already_configured"


async def test_hassio_discovery_of_a_server_set_up_by_hand(
    hass: HomeAssistant, server: FakeGpuServer, mock_entry: MockConfigEntry
) -> None:
    """A frame already using that server by hand is not offered again."""
    mock_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_HASSIO}, data=_discovery(server)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """The URL and token can change; a wrong token is refused first."""
    other = FakeGpuServer(token="another-token")
    await other.start()
    try:
        result = await loaded_entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM
        assert result["description_placeholders"] == {"name": "Frame"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: other.url, CONF_TOKEN: "nope"}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: other.url, CONF_TOKEN: other.token}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert loaded_entry.data[CONF_URL] == other.url
        assert loaded_entry.data[CONF_TOKEN] == other.token
        assert loaded_entry.state is ConfigEntryState.LOADED
        await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
        assert len(other.requests) == 1
        assert server.requests == []
    finally:
        await other.stop()


async def test_reauth(
    hass: HomeAssistant, server: FakeGpuServer, loaded_entry: MockConfigEntry
) -> None:
    """A token the server refuses starts reauthentication; the new token is checked."""
    server.token = "rotated-token"
    with pytest.raises(Exception, match="refused the token"):
        await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    flow_id = flows[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_TOKEN: "still-wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_TOKEN: "rotated-token"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert loaded_entry.data[CONF_TOKEN] == "rotated-token"
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)


async def test_options(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """The options form shows the defaults and stores what the user chose."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"].schema
    suggested = {str(key): (key.description or {}).get("suggested_value") for key in schema}
    assert suggested[CONF_PANEL] == "inky_impression_5_7"
    assert suggested[CONF_HISTORY_SIZE] == 50
    options = {
        CONF_PANEL: "inky_impression_7_3",
        CONF_ORIENTATION: "portrait",
        CONF_FIT: "cover",
        CONF_DITHER: "atkinson",
        "background": "black",
        CONF_SATURATION: 0.8,
        CONF_CAPTION: False,
        CONF_PROMPT_FILE: "",
        CONF_HISTORY_SIZE: 10.0,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {**options, CONF_HISTORY_SIZE: 10}


async def test_options_prompt_file(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """A prompt file that cannot be used is refused with the reason; a good one is taken."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    base = {
        CONF_PANEL: "inky_impression_5_7",
        CONF_ORIENTATION: "landscape",
        CONF_FIT: "contain",
        CONF_DITHER: "floyd_steinberg",
        "background": "white",
        CONF_SATURATION: 0.5,
        CONF_CAPTION: True,
        CONF_HISTORY_SIZE: 50,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_PROMPT_FILE: "missing.txt"}
    )
    assert result["errors"] == {CONF_PROMPT_FILE: "prompt_file_invalid"}
    assert result["description_placeholders"] == {"reason": "the file does not exist"}

    prompt_file = Path(hass.config.path("my_prompts.txt"))
    await hass.async_add_executor_job(
        prompt_file.write_text, "style: a mosaic of\na quiet harbour\n"
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_PROMPT_FILE: " my_prompts.txt "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_PROMPT_FILE] == "my_prompts.txt"
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.controller.prompts.subjects == ("a quiet harbour",)
