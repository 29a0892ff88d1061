"""Config flow: add a frame by hand or from Supervisor discovery; reconfigure, reauth, options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from homeassistant.util import slugify
from yarl import URL

from .ai_options import ai_option_fields
from .api import DalleFrameClient, normalize_url
from .const import (
    CONF_ADDON_UUID,
    CONF_BACKGROUND,
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
    DEFAULT_HISTORY_SIZE,
    DEFAULT_NAME,
    DOMAIN,
    LOGGER,
    MAX_HISTORY_SIZE,
    MIN_HISTORY_SIZE,
)
from .data import DalleFrameConfigEntry
from .errors import CannotConnectError, DalleFrameError, InvalidAuthError, InvalidResponseError
from .frame_options import RENDER_DEFAULTS
from .ha_compat import vol
from .model_settings import (
    entry_health,
    options_fields,
    options_with_model_settings,
    suggested_values,
)
from .prompts import PromptFileError, load_prompt_file, resolve_prompt_file
from .render import BACKGROUNDS, DITHERS, FITS, ORIENTATIONS, PANELS
from .schedule_options import (
    SCHEDULE_DEFAULTS,
    async_check_schedule_options,
    schedule_option_fields,
)

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_TOKEN_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default=DEFAULT_NAME): TextSelector(),
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Optional(CONF_TOKEN): _TOKEN_SELECTOR,
    }
)
RECONFIGURE_SCHEMA = vol.Schema(
    {vol.Required(CONF_URL): _URL_SELECTOR, vol.Optional(CONF_TOKEN): _TOKEN_SELECTOR}
)
REAUTH_SCHEMA = vol.Schema({vol.Optional(CONF_TOKEN): _TOKEN_SELECTOR})


def _select(options: tuple[str, ...], translation_key: str) -> SelectSelector:
    """Return a drop-down of translated choices."""
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options),
            translation_key=translation_key,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def options_schema() -> vol.Schema:
    """Return the options form: Frame rendering, the prompt file and the history size."""
    panels = [SelectOptionDict(value=key, label=panel.name) for key, panel in PANELS.items()]
    return vol.Schema(
        {
            vol.Required(CONF_PANEL, default=RENDER_DEFAULTS[CONF_PANEL]): SelectSelector(
                SelectSelectorConfig(options=panels, mode=SelectSelectorMode.DROPDOWN)
            ),
            vol.Required(CONF_ORIENTATION, default=RENDER_DEFAULTS[CONF_ORIENTATION]): _select(
                ORIENTATIONS, "orientation"
            ),
            vol.Required(CONF_FIT, default=RENDER_DEFAULTS[CONF_FIT]): _select(FITS, "fit"),
            vol.Required(CONF_DITHER, default=RENDER_DEFAULTS[CONF_DITHER]): _select(
                DITHERS, "dither"
            ),
            vol.Required(CONF_BACKGROUND, default=RENDER_DEFAULTS[CONF_BACKGROUND]): _select(
                BACKGROUNDS, "background"
            ),
            vol.Required(CONF_SATURATION, default=RENDER_DEFAULTS[CONF_SATURATION]): NumberSelector(
                NumberSelectorConfig(min=0, max=1, step=0.05, mode=NumberSelectorMode.SLIDER)
            ),
            vol.Required(CONF_CAPTION, default=RENDER_DEFAULTS[CONF_CAPTION]): BooleanSelector(),
            vol.Optional(CONF_PROMPT_FILE): TextSelector(),
            **ai_option_fields(),
            **schedule_option_fields(),
            vol.Required(CONF_HISTORY_SIZE, default=DEFAULT_HISTORY_SIZE): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_HISTORY_SIZE, max=MAX_HISTORY_SIZE, step=1, mode=NumberSelectorMode.BOX
                )
            ),
        }
    )


def is_valid_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host."""
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError):
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


async def async_validate_server(hass: HomeAssistant, url: str, token: str | None) -> dict[str, str]:
    """Check that `url` is a dalle_frame GPU server that accepts `token`; return form errors."""
    if not is_valid_url(url):
        return {CONF_URL: "invalid_url"}
    client = DalleFrameClient(async_get_clientsession(hass), url, token)
    try:
        await client.async_health()
        await client.async_check_token()
    except CannotConnectError:
        return {"base": "cannot_connect"}
    except InvalidAuthError:
        return {"base": "invalid_auth"}
    except InvalidResponseError:
        return {"base": "not_a_frame_server"}
    except DalleFrameError:
        LOGGER.exception("Unexpected answer while checking the GPU server at %s", url)
        return {"base": "unknown"}
    return {}


def _token(user_input: Mapping[str, Any]) -> str | None:
    """Return the token from a form (None when left empty)."""
    return str(user_input.get(CONF_TOKEN) or "").strip() or None


class DalleFrameConfigFlow(ConfigFlow, domain=DOMAIN):
    """Adds frames: one entry per frame, named by the frame."""

    VERSION = 1
    MINOR_VERSION = 1

    _discovered: dict[str, Any]

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: DalleFrameConfigEntry) -> DalleFrameOptionsFlow:
        """Return the options flow."""
        return DalleFrameOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the frame's name, the server's URL and its token."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            if not any(char.isalnum() for char in name):
                errors[CONF_NAME] = "invalid_name"
            else:
                await self.async_set_unique_id(slugify(name))
                self._abort_if_unique_id_configured()
                url, token = normalize_url(user_input[CONF_URL]), _token(user_input)
                errors = await async_validate_server(self.hass, url, token)
            if not errors:
                return self.async_create_entry(
                    title=name, data={CONF_NAME: name, CONF_URL: url, CONF_TOKEN: token}
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """Offer the GPU server add-on; a known add-on only gets its new address."""
        config = discovery_info.config
        url = normalize_url(f"http://{config['host']}:{config['port']}")
        token = str(config.get("token") or "") or None
        known = [
            entry
            for entry in self._async_current_entries(include_ignore=False)
            if entry.data.get(CONF_ADDON_UUID) == discovery_info.uuid
        ]
        for entry in known:
            changes = {CONF_URL: url, CONF_TOKEN: token}
            if any(entry.data.get(key) != value for key, value in changes.items()):
                self.hass.config_entries.async_update_entry(entry, data={**entry.data, **changes})
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
        if known or any(
            normalize_url(str(entry.data.get(CONF_URL, ""))) == url
            for entry in self._async_current_entries(include_ignore=False)
        ):
            return self.async_abort(reason="already_configured")
        await self.async_set_unique_id(slugify(DEFAULT_NAME))
        self._abort_if_unique_id_configured()
        self._discovered = {
            CONF_URL: url,
            CONF_TOKEN: token,
            CONF_ADDON_UUID: discovery_info.uuid,
            "addon": discovery_info.name,
        }
        self.context["title_placeholders"] = {"name": discovery_info.name}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm adding the discovered add-on as the frame "Frame"."""
        if user_input is not None:
            url, token = self._discovered[CONF_URL], self._discovered[CONF_TOKEN]
            errors = await async_validate_server(self.hass, url, token)
            if errors:
                return self.async_abort(reason=errors["base"])
            return self.async_create_entry(
                title=DEFAULT_NAME,
                data={
                    CONF_NAME: DEFAULT_NAME,
                    CONF_URL: url,
                    CONF_TOKEN: token,
                    CONF_ADDON_UUID: self._discovered[CONF_ADDON_UUID],
                },
            )
        return self.async_show_form(
            step_id="hassio_confirm",
            description_placeholders={"addon": self._discovered["addon"]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server's URL or token of an existing frame."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            url, token = normalize_url(user_input[CONF_URL]), _token(user_input)
            errors = await async_validate_server(self.hass, url, token)
            if not errors:
                return self._async_save_connection(entry, {CONF_URL: url, CONF_TOKEN: token})
        suggested = user_input or {
            CONF_URL: entry.data[CONF_URL],
            CONF_TOKEN: entry.data.get(CONF_TOKEN),
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(RECONFIGURE_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    @callback
    def _async_save_connection(
        self, entry: DalleFrameConfigEntry, updates: dict[str, Any]
    ) -> ConfigFlowResult:
        """Save a new server URL or token and finish; the frame then reloads with it.

        A loaded frame's update listener schedules the reload (HA wants an integration with
        an update listener to reload through it); a frame that failed to set up (a refused
        token, say) has no listener, so it is retried from here.
        """
        result = self.async_update_and_abort(entry, data_updates=updates)
        if entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Ask for a new token after the server refused the old one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the server's current token."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = _token(user_input)
            errors = await async_validate_server(self.hass, entry.data[CONF_URL], token)
            if not errors:
                return self._async_save_connection(entry, {CONF_TOKEN: token})
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={"name": entry.title, "url": entry.data[CONF_URL]},
        )


class DalleFrameOptionsFlow(OptionsFlow):
    """How the Frame image is rendered; the prompt file; how many pictures to keep."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and check the options."""
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        health = entry_health(self.config_entry)
        if user_input is not None:
            user_input[CONF_HISTORY_SIZE] = int(user_input[CONF_HISTORY_SIZE])
            name = str(user_input.get(CONF_PROMPT_FILE) or "").strip()
            user_input[CONF_PROMPT_FILE] = name
            if name:
                try:
                    await self.hass.async_add_executor_job(self._check_prompt_file, name)
                except PromptFileError as err:
                    errors[CONF_PROMPT_FILE] = "prompt_file_invalid"
                    placeholders["reason"] = str(err)
            errors |= await async_check_schedule_options(self.hass, user_input, placeholders)
            if not errors:
                options = self.config_entry.options
                return self.async_create_entry(
                    data=options_with_model_settings(options, user_input, health)
                )
        suggested = {**RENDER_DEFAULTS, CONF_HISTORY_SIZE: DEFAULT_HISTORY_SIZE}
        suggested |= SCHEDULE_DEFAULTS
        suggested |= user_input or {
            **self.config_entry.options,
            **suggested_values(self.config_entry.options, health),
        }
        capabilities = health.capabilities if health is not None else None
        schema = vol.Schema({**options_schema().schema, **options_fields(capabilities)})
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _check_prompt_file(self, name: str) -> None:
        """Read the prompt file once to find mistakes now rather than at the next load."""
        load_prompt_file(resolve_prompt_file(self.hass.config.config_dir, name), name)
