"""Photos for the frame: a folder of Home Assistant's media, or any image entity.

A media folder is a media-source id such as ``media-source://media_source/local/album``,
browsed through HA's media_source API: the folder's own images, and with the sub-folders
option those of its sub-folders too (`MAX_PHOTO_FOLDER_DEPTH` levels, a sub-folder that cannot
be browsed skipped with a warning). Each
image is resolved to its file, read in the executor and turned into PNG (``to_png``). Photos
come in random order or by name, each shown once until all have been (then the round starts
again); a file that is not an image, too large or unreadable is skipped with a warning and the
next one is tried. The round lives in memory: after a restart the order goes on after the
newest photo in the history, and a random round starts anew.

An image entity (a camera snapshot, HA's ``collection_image``, another integration's picture)
gives its current image through the image component's ``async_get_image``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from homeassistant.components import media_source
from homeassistant.components.image import async_get_image
from homeassistant.components.media_player.browse_media import BrowseMedia
from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import (
    CONF_PHOTO_ENTITY,
    CONF_PHOTO_FOLDER,
    CONF_PHOTO_ORDER,
    CONF_PHOTO_SUBFOLDERS,
    DEFAULT_PHOTO_ORDER,
    DEFAULT_PHOTO_SUBFOLDERS,
    LOGGER,
    MAX_PHOTO_FOLDER_DEPTH,
    MAX_PHOTO_FOLDER_IMAGES,
)
from .picture_sources import (
    MAX_IMAGE_BYTES,
    NoPictureError,
    PictureSource,
    SourcePicture,
    UnusableImageError,
    to_png,
)

__all__ = ["ImageEntitySource", "MediaFolderSource", "PhotoSources", "async_list_folder_images"]

MEDIA_SOURCE_PREFIX: Final = "media-source://"


async def async_list_folder_images(
    hass: HomeAssistant, folder_id: str, *, subfolders: bool = False
) -> list[BrowseMedia]:
    """Return the images of a media folder (and its sub-folders'), by id.

    Raises NoPictureError when the folder itself is no media-source id or cannot be browsed.
    """
    if not folder_id.startswith(MEDIA_SOURCE_PREFIX):
        raise NoPictureError(source=folder_id, reason="it is not a media-source:// id")
    try:
        folder = await media_source.async_browse_media(hass, folder_id)
    except (BrowseError, HomeAssistantError) as err:
        raise NoPictureError(source=folder_id, reason=f"it cannot be browsed: {err}") from err
    images: list[BrowseMedia] = []
    pending = [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        for child in current.children or []:
            if not child.can_expand:
                if child.media_class == MediaClass.IMAGE:
                    images.append(child)
            elif subfolders and depth < MAX_PHOTO_FOLDER_DEPTH:
                try:
                    inner = await media_source.async_browse_media(hass, child.media_content_id)
                except (BrowseError, HomeAssistantError) as err:
                    LOGGER.warning(
                        "Skipping the media folder %s: it cannot be browsed: %s",
                        child.media_content_id,
                        err,
                    )
                    continue
                pending.append((inner, depth + 1))
        if len(images) > MAX_PHOTO_FOLDER_IMAGES:
            LOGGER.warning(
                "The photo folder %s holds more than %d photos: the frame uses the first it found",
                folder_id,
                MAX_PHOTO_FOLDER_IMAGES,
            )
            break
    return sorted(images, key=lambda child: child.media_content_id)[:MAX_PHOTO_FOLDER_IMAGES]


def _read_image_file(path: Path) -> bytes:
    """Read an image file (blocking); raise UnusableImageError when too large."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise UnusableImageError(
            f"the file has {size / 1e6:.1f} MB, more than {MAX_IMAGE_BYTES / 1e6:.0f} MB"
        )
    return to_png(path.read_bytes())


class MediaFolderSource:
    """The images of one media folder, random or in order, none repeated until all shown."""

    def __init__(
        self,
        hass: HomeAssistant,
        folder_id: str,
        order: str,
        rng: random.Random,
        *,
        subfolders: bool = False,
    ) -> None:
        self._hass = hass
        self.folder_id = folder_id
        self.order = order
        self.subfolders = subfolders
        self._rng = rng
        self._shown: set[str] = set()
        self.resume_after: str | None = None

    async def async_next_picture(self) -> SourcePicture:
        """Return the next readable image; skip (and log) the unusable ones."""
        images = await async_list_folder_images(
            self._hass, self.folder_id, subfolders=self.subfolders
        )
        if not images:
            raise NoPictureError(source=self.folder_id, reason="it holds no images")
        ids = {image.media_content_id for image in images}
        self._shown &= ids
        if self.resume_after is not None and self.order == "in_order" and not self._shown:
            self._shown = {media_id for media_id in ids if media_id <= self.resume_after}
        self.resume_after = None
        failed: set[str] = set()
        last_reason = ""
        for _round in range(2):  # the rest of this round, then a new one
            while waiting := [
                image for image in images if image.media_content_id not in self._shown | failed
            ]:
                image = waiting[0] if self.order == "in_order" else self._rng.choice(waiting)
                self._shown.add(image.media_content_id)
                try:
                    png = await self._async_read(image.media_content_id)
                except UnusableImageError as err:
                    failed.add(image.media_content_id)
                    last_reason = f"{image.title}: {err}"
                    LOGGER.warning("Skipping the photo %s: %s", image.media_content_id, err)
                    continue
                return SourcePicture(
                    png=png, title=Path(image.title).stem, source=image.media_content_id
                )
            self._shown.clear()  # every image was shown (or skipped): a new round
        raise NoPictureError(
            source=self.folder_id, reason=f"none of its images can be shown (last: {last_reason})"
        )

    async def _async_read(self, media_id: str) -> bytes:
        """Resolve one image to its file and read it as PNG; raise UnusableImageError."""
        try:
            played = await media_source.async_resolve_media(self._hass, media_id, None)
        except HomeAssistantError as err:
            raise UnusableImageError(f"it cannot be resolved: {err}") from err
        if played.path is None:
            raise UnusableImageError("it is not a file on this Home Assistant")
        try:
            return await self._hass.async_add_executor_job(_read_image_file, played.path)
        except OSError as err:
            raise UnusableImageError(f"it cannot be read: {err}") from err


class ImageEntitySource:
    """The current image of an image entity."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        self._hass = hass
        self.entity_id = entity_id

    async def async_next_picture(self) -> SourcePicture:
        """Fetch the entity's image; raise NoPictureError when it has none or it is unusable."""
        try:
            image = await async_get_image(self._hass, self.entity_id)
        except HomeAssistantError as err:
            raise NoPictureError(source=self.entity_id, reason=str(err)) from err
        try:
            png = await self._hass.async_add_executor_job(to_png, image.content)
        except UnusableImageError as err:
            LOGGER.warning("Skipping the image of %s: %s", self.entity_id, err)
            raise NoPictureError(source=self.entity_id, reason=str(err)) from err
        state = self._hass.states.get(self.entity_id)
        title = str(state.name) if state is not None else self.entity_id
        return SourcePicture(png=png, title=title, source=self.entity_id)


class PhotoSources:
    """The frame's photo source as its options say (kept while they do not change)."""

    def __init__(self, hass: HomeAssistant, rng: random.Random) -> None:
        self._hass = hass
        self._rng = rng
        self.current: PictureSource | None = None
        self._settings: tuple[str | None, str | None, str, bool] | None = None

    def configure(self, options: Mapping[str, Any]) -> None:
        """Build the source from the options; a folder wins over an entity."""
        folder = options.get(CONF_PHOTO_FOLDER) or None
        entity = options.get(CONF_PHOTO_ENTITY) or None
        order = str(options.get(CONF_PHOTO_ORDER) or DEFAULT_PHOTO_ORDER)
        subfolders = bool(options.get(CONF_PHOTO_SUBFOLDERS, DEFAULT_PHOTO_SUBFOLDERS))
        settings = (folder, entity, order, subfolders)
        if settings == self._settings:
            return
        self._settings = settings
        if folder:
            self.current = MediaFolderSource(
                self._hass, folder, order, self._rng, subfolders=subfolders
            )
        elif entity:
            self.current = ImageEntitySource(self._hass, entity)
        else:
            self.current = None

    def resume_after(self, source: str | None) -> None:
        """Go on in order after `source`, the last photo shown (from the history at start)."""
        current = self.current
        if isinstance(current, MediaFolderSource) and (source or "").startswith(
            f"{current.folder_id}/"
        ):
            current.resume_after = source

    def require(self) -> PictureSource:
        """Return the configured source; raise NoPictureError when there is none."""
        if self.current is None:
            raise NoPictureError(
                source="photos", reason="no media folder or image entity is chosen in the options"
            )
        return self.current
