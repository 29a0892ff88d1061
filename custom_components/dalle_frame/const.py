"""Constants for the dalle_frame integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "dalle_frame"
LOGGER = logging.getLogger(__package__)

PLATFORMS: Final = [
    Platform.AI_TASK,
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.IMAGE,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.STT,
    Platform.SWITCH,
    Platform.TEXT,
]

# Config entry data
CONF_URL: Final = "url"
CONF_TOKEN: Final = "token"
CONF_ADDON_UUID: Final = "addon_uuid"
DEFAULT_NAME: Final = "Frame"

# Options: prompts and history
CONF_PROMPT_FILE: Final = "prompt_file"
CONF_HISTORY_SIZE: Final = "history_size"
DEFAULT_HISTORY_SIZE: Final = 50

# Options: how the Frame image is rendered for the panel (choices live in render/)
CONF_PANEL: Final = "panel"
CONF_ORIENTATION: Final = "orientation"
CONF_FIT: Final = "fit"
CONF_DITHER: Final = "dither"
CONF_SATURATION: Final = "saturation"
CONF_CAPTION: Final = "caption"
CONF_BACKGROUND: Final = "background"
DEFAULT_PANEL: Final = "inky_impression_5_7"
DEFAULT_ORIENTATION: Final = "landscape"
DEFAULT_FIT: Final = "contain"
DEFAULT_DITHER: Final = "floyd_steinberg"
DEFAULT_SATURATION: Final = 0.5
DEFAULT_CAPTION: Final = True
DEFAULT_BACKGROUND: Final = "white"

# Auto mode
DEFAULT_AUTO_INTERVAL_MINUTES: Final = 60
AUTO_SOURCES: Final = ("same_prompt", "new_prompt", "random_mix", "photos")
DEFAULT_AUTO_SOURCE: Final = "random_mix"
DEFAULT_AUTO_ENABLED: Final = False
MIN_AUTO_INTERVAL_MINUTES: Final = 1
MAX_AUTO_INTERVAL_MINUTES: Final = 7 * 24 * 60

# Options: when auto mode may run (schedule_window.py) and pictures besides AI art
# (photo_source.py); the "photos" auto source shows only pictures from the photo source.
CONF_ACTIVE_START: Final = "active_start"
CONF_ACTIVE_END: Final = "active_end"
CONF_ACTIVE_WEEKDAYS: Final = "active_weekdays"
CONF_SCHEDULE_ENTITY: Final = "schedule_entity"
CONF_AWAY_ENTITY: Final = "away_entity"
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONF_PHOTO_FOLDER: Final = "photo_folder"
CONF_PHOTO_ENTITY: Final = "photo_entity"
CONF_PHOTO_ORDER: Final = "photo_order"
CONF_PHOTO_EVERY: Final = "photo_every"
CONF_PHOTO_SUBFOLDERS: Final = "photo_subfolders"
DEFAULT_PHOTO_SUBFOLDERS: Final = False
MAX_PHOTO_FOLDER_DEPTH: Final = 4
"""Sub-folder levels read below the photo folder (year/month/day/event), no deeper."""
MAX_PHOTO_FOLDER_IMAGES: Final = 10_000
"""Photos listed from one folder tree at most (the rest are left out, with a warning)."""
PHOTO_ORDERS: Final = ("random", "in_order")
DEFAULT_PHOTO_ORDER: Final = "random"
DEFAULT_PHOTO_EVERY: Final = 0
MAX_PHOTO_EVERY: Final = 100
AUTO_SOURCE_PHOTOS: Final = "photos"

# Prompts
MAX_PROMPT_LENGTH: Final = 255
MAX_SEED: Final = 2**31 - 1
MIN_HISTORY_SIZE: Final = 1
MAX_HISTORY_SIZE: Final = 1000

# Service fields and response keys
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_PROMPT: Final = "prompt"
ATTR_SEED: Final = "seed"
ATTR_SECONDS: Final = "seconds"
ATTR_ENTITY_ID: Final = "entity_id"

SERVICE_GENERATE: Final = "generate"
SERVICE_REGENERATE: Final = "regenerate"
SERVICE_NEW_PROMPT: Final = "new_prompt"

# Folder under the HA config folder that holds each entry's history
HISTORY_FOLDER: Final = "dalle_frame"

# Options: paint through an AI Task entity; prompts from a conversation agent or AI Task
CONF_AI_TASK_ENTITY: Final = "ai_task_entity"
CONF_PROMPT_HELPER: Final = "prompt_helper"
