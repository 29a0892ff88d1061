"""Services: generate, regenerate and new_prompt, with a response naming what was made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er

from .const import (
    ATTR_CONFIG_ENTRY_ID,
    ATTR_ENTITY_ID,
    ATTR_PROMPT,
    ATTR_SECONDS,
    ATTR_SEED,
    DOMAIN,
    SERVICE_GENERATE,
    SERVICE_NEW_PROMPT,
    SERVICE_REGENERATE,
)
from .data import DalleFrameConfigEntry
from .ha_compat import vol
from .models import GenerationResult
from .validation import validate_prompt, validate_seed

# Types are checked by the handlers, so that every mistake gets a translated message.
ENTRY_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): object})
GENERATE_SCHEMA = ENTRY_SCHEMA.extend(
    {vol.Optional(ATTR_PROMPT): object, vol.Optional(ATTR_SEED): object}
)


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """Build a translated validation error."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def resolve_entry(hass: HomeAssistant, entry_id: Any) -> DalleFrameConfigEntry:
    """Return the loaded entry a call is for; without an id, the only loaded one."""
    if entry_id is not None and not isinstance(entry_id, str):
        raise _invalid("entry_not_found", entry_id=str(entry_id))
    if entry_id:
        entry: DalleFrameConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            raise _invalid("entry_not_found", entry_id=entry_id)
        if entry.state is not ConfigEntryState.LOADED:
            raise _invalid("entry_not_loaded", title=entry.title)
        return entry
    loaded = hass.config_entries.async_loaded_entries(DOMAIN)
    if not loaded:
        raise _invalid("no_entry_loaded")
    if len(loaded) > 1:
        titles = ", ".join(sorted(entry.title for entry in loaded))
        raise _invalid("entry_required", titles=titles)
    return loaded[0]


def _response(
    hass: HomeAssistant, entry: DalleFrameConfigEntry, result: GenerationResult
) -> dict[str, Any]:
    """Build the service response: what was made, and the Art image showing it."""
    return {
        ATTR_PROMPT: result.prompt,
        ATTR_SEED: result.seed,
        ATTR_SECONDS: round(result.seconds, 3),
        ATTR_ENTITY_ID: er.async_get(hass).async_get_entity_id(
            "image", DOMAIN, f"{entry.entry_id}-art"
        ),
    }


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services (once, in async_setup, for every frame)."""

    def _handler(
        run: Callable[[DalleFrameConfigEntry, ServiceCall], Awaitable[GenerationResult]],
    ) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
        """Wrap `run` with entry resolution and the response."""

        async def handle(call: ServiceCall) -> ServiceResponse:
            entry = resolve_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
            result = await run(entry, call)
            return _response(hass, entry, result) if call.return_response else None

        return handle

    async def generate(entry: DalleFrameConfigEntry, call: ServiceCall) -> GenerationResult:
        """Generate from the given prompt, or a new one from the list."""
        raw_prompt = call.data.get(ATTR_PROMPT)
        prompt = None if raw_prompt is None else validate_prompt(raw_prompt)
        seed = validate_seed(call.data.get(ATTR_SEED))
        return await entry.runtime_data.controller.async_generate(prompt=prompt, seed=seed)

    async def regenerate(entry: DalleFrameConfigEntry, call: ServiceCall) -> GenerationResult:
        """Generate again with the current prompt."""
        return await entry.runtime_data.controller.async_regenerate()

    async def new_prompt(entry: DalleFrameConfigEntry, call: ServiceCall) -> GenerationResult:
        """Generate from a new prompt from the list."""
        return await entry.runtime_data.controller.async_new_prompt()

    for service, run, schema in (
        (SERVICE_GENERATE, generate, GENERATE_SCHEMA),
        (SERVICE_REGENERATE, regenerate, ENTRY_SCHEMA),
        (SERVICE_NEW_PROMPT, new_prompt, ENTRY_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            _handler(run),
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )
