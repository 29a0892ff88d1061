"""The dalle_frame integration: AI art from a local GPU server for an e-paper picture frame."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import DalleFrameClient
from .const import CONF_TOKEN, CONF_URL, DOMAIN, PLATFORMS
from .controller import FrameController
from .conversation_triggers import async_setup_sentence_triggers
from .coordinator import DalleFrameHealthCoordinator
from .data import DalleFrameConfigEntry, DalleFrameData
from .history import FrameHistory, history_folder
from .history_view import DalleFrameHistoryView
from .model_settings import async_track_model_settings
from .prompt_loader import async_load_prompt_list
from .satellite_monitor import SatelliteMonitor
from .satellite_report import async_register_satellite_command
from .services import async_setup_services
from .state_store import FrameStateStore

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services and the history image view (once, for every frame)."""
    async_setup_services(hass)
    hass.http.register_view(DalleFrameHistoryView())
    async_register_satellite_command(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> bool:
    """Set up one frame: check the server, restore the frame's state, add its entities."""
    client = DalleFrameClient(
        async_get_clientsession(hass), entry.data[CONF_URL], entry.data.get(CONF_TOKEN)
    )
    coordinator = DalleFrameHealthCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    fit_to_model = async_track_model_settings(hass, entry, lambda: coordinator.data)
    fit_to_model()
    entry.async_on_unload(coordinator.async_add_listener(fit_to_model))
    controller = FrameController(
        hass,
        entry,
        client=client,
        coordinator=coordinator,
        history=FrameHistory(history_folder(hass.config.config_dir, entry.entry_id)),
        state_store=FrameStateStore(hass, entry.entry_id),
        prompts=await async_load_prompt_list(hass, entry),
    )
    await controller.async_start()
    satellite = SatelliteMonitor(hass, entry.entry_id)
    await satellite.async_load()
    entry.runtime_data = DalleFrameData(
        client=client, coordinator=coordinator, controller=controller, satellite=satellite
    )
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_setup_sentence_triggers(hass, entry)
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> None:
    """React to a changed entry: reload for a new server or token, else use the new options.

    Reconfigure and reauth only update the entry's data (HA wants an integration with an
    update listener to schedule its own reload); changed options apply at once: prompt list,
    history size, and the Frame image.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return  # a reload is under way and reads the entry itself
    if not entry.runtime_data.client.talks_to(entry.data[CONF_URL], entry.data.get(CONF_TOKEN)):
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    controller = entry.runtime_data.controller
    if controller.options_changed():
        await controller.async_apply_options(await async_load_prompt_list(hass, entry))


async def async_unload_entry(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> bool:
    """Unload a frame; a running generation is cancelled with the entry's background tasks."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.controller.async_stop()
        await entry.runtime_data.satellite.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: DalleFrameConfigEntry) -> None:
    """Delete a removed frame's pictures and saved state."""
    await FrameStateStore(hass, entry.entry_id).async_remove()
    await SatelliteMonitor(hass, entry.entry_id).async_remove()
    history = FrameHistory(history_folder(hass.config.config_dir, entry.entry_id))
    await hass.async_add_executor_job(history.remove_all)
