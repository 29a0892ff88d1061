"""The typed runtime data of a config entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .api import DalleFrameClient
    from .controller import FrameController
    from .coordinator import DalleFrameHealthCoordinator
    from .satellite_monitor import SatelliteMonitor


@dataclass(kw_only=True)
class DalleFrameData:
    """What one frame's entities and services use."""

    client: DalleFrameClient
    coordinator: DalleFrameHealthCoordinator
    controller: FrameController
    satellite: SatelliteMonitor


DalleFrameConfigEntry: TypeAlias = ConfigEntry[DalleFrameData]
