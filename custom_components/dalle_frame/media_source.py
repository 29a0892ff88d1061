"""The media source: every frame's history, browsable in Home Assistant's media browser.

Identifiers: "" lists the frames, "<entry_id>" lists one frame's pictures (newest first),
"<entry_id>/<item_id>" is one picture.
"""

from __future__ import annotations

from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .history import FrameHistory, HistoryItem, history_folder, is_item_id
from .history_view import history_picture_url

PNG = "image/png"


async def async_get_media_source(hass: HomeAssistant) -> DalleFrameMediaSource:
    """Return the media source of this integration."""
    return DalleFrameMediaSource(hass)


class DalleFrameMediaSource(MediaSource):
    """Pictures kept in each frame's history folder."""

    name = "AI Art Frame"

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(DOMAIN)
        self.hass = hass

    def _entry_title(self, entry_id: str) -> str | None:
        """Return the frame's name, or None if the entry is not a frame of ours."""
        entry = self.hass.config_entries.async_get_entry(entry_id)
        return entry.title if entry is not None and entry.domain == DOMAIN else None

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Return the URL of one picture."""
        entry_id, _, item_id = (item.identifier or "").partition("/")
        if self._entry_title(entry_id) is None or not is_item_id(item_id):
            raise Unresolvable(f"No such picture: {item.identifier}")
        return PlayMedia(history_picture_url(entry_id, item_id), PNG)

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """List the frames, or one frame's pictures."""
        if not item.identifier:
            return self._browse_root()
        if "/" in item.identifier or (title := self._entry_title(item.identifier)) is None:
            raise BrowseError(f"Unknown frame: {item.identifier}")
        history = FrameHistory(history_folder(self.hass.config.config_dir, item.identifier))
        items = await self.hass.async_add_executor_job(history.items)
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=item.identifier,
            media_class=MediaClass.DIRECTORY,
            media_content_type="",
            title=title,
            can_play=False,
            can_expand=True,
            children_media_class=MediaClass.IMAGE,
            children=[self._picture(item.identifier, picture) for picture in items],
        )

    def _browse_root(self) -> BrowseMediaSource:
        """List every frame as a folder."""
        entries = sorted(self.hass.config_entries.async_entries(DOMAIN), key=lambda e: e.title)
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=None,
            media_class=MediaClass.APP,
            media_content_type="",
            title=self.name,
            can_play=False,
            can_expand=True,
            children_media_class=MediaClass.DIRECTORY,
            children=[
                BrowseMediaSource(
                    domain=DOMAIN,
                    identifier=entry.entry_id,
                    media_class=MediaClass.DIRECTORY,
                    media_content_type="",
                    title=entry.title,
                    can_play=False,
                    can_expand=True,
                )
                for entry in entries
            ],
        )

    def _picture(self, entry_id: str, picture: HistoryItem) -> BrowseMediaSource:
        """One picture, titled with its prompt and local time."""
        url = history_picture_url(entry_id, picture.item_id)
        created = dt_util.as_local(picture.created).strftime("%Y-%m-%d %H:%M")
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=f"{entry_id}/{picture.item_id}",
            media_class=MediaClass.IMAGE,
            media_content_type=PNG,
            title=f"{picture.prompt} ({created})",
            can_play=True,
            can_expand=False,
            thumbnail=url,
        )
