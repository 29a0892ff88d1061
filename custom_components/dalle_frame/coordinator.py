"""Watches the GPU server's health, so entities go unavailable and come back by themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api import DalleFrameClient, ServerHealth
from .const import DOMAIN, LOGGER
from .errors import DalleFrameError

if TYPE_CHECKING:
    from .data import DalleFrameConfigEntry

HEALTH_INTERVAL: Final = timedelta(seconds=30)


class DalleFrameHealthCoordinator(DataUpdateCoordinator[ServerHealth]):
    """Polls GET /v1/health every 30 seconds."""

    config_entry: DalleFrameConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: DalleFrameConfigEntry, client: DalleFrameClient
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title} health",
            update_interval=HEALTH_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> ServerHealth:
        """Ask the server how it is."""
        try:
            return await self.client.async_health()
        except DalleFrameError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=err.translation_key,
                translation_placeholders=err.translation_placeholders,
            ) from err
