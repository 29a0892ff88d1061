"""Photos beside AI art: a real media folder (HA's media_source), an image entity, the mix."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import media_source
from homeassistant.components.image import DATA_COMPONENT as IMAGE_COMPONENT
from homeassistant.components.image import ImageEntity
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from PIL import Image
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.dalle_frame.const import (
    CONF_ACTIVE_END,
    CONF_ACTIVE_START,
    CONF_ACTIVE_WEEKDAYS,
    CONF_AWAY_ENTITY,
    CONF_CAPTION,
    CONF_PHOTO_ENTITY,
    CONF_PHOTO_EVERY,
    CONF_PHOTO_FOLDER,
    CONF_PHOTO_ORDER,
    CONF_PHOTO_SUBFOLDERS,
    CONF_SCHEDULE_ENTITY,
    DOMAIN,
)
from custom_components.dalle_frame.models import FrameStatus
from custom_components.dalle_frame.photo_source import async_list_folder_images
from custom_components.dalle_frame.picture_sources import (
    MAX_IMAGE_BYTES,
    MAX_SIDE,
    NoPictureError,
    UnusableImageError,
    to_png,
)
from custom_components.dalle_frame.render.panels import PANELS
from custom_components.dalle_frame.state_store import SavedState

from .fake_server import FakeGpuServer

ALBUM = "media-source://media_source/local/album"
EXIF_ORIENTATION = 0x0112


def jpeg(size: tuple[int, int], colour: tuple[int, int, int], rotate_tag: int = 1) -> bytes:
    """A JPEG as a camera writes it, with an EXIF orientation."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = rotate_tag
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_with_alpha(size: tuple[int, int]) -> bytes:
    """A half-transparent PNG."""
    buffer = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def size_of(png: bytes) -> tuple[int, int]:
    """A PNG's size."""
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def write_album(media: Path, files: dict[str, bytes]) -> None:
    """Write the album folder (blocking: run in the executor)."""
    album = media / "album"
    (album / "sub").mkdir(parents=True)
    (album / "sub" / "hidden.jpg").write_bytes(jpeg((64, 64), (0, 0, 255)))
    (album / "empty").mkdir()
    with (album / "huge.jpg").open("wb") as huge:  # sparse: no disk used
        huge.truncate(MAX_IMAGE_BYTES + 1)
    for name, data in files.items():
        (album / name).write_bytes(data)


@pytest.fixture
def album_files() -> dict[str, bytes]:
    """A photo turned by its EXIF tag, a transparent PNG, a broken file, a text file."""
    return {
        "a_sunset.jpg": jpeg((640, 480), (220, 80, 20), rotate_tag=6),
        "b_tree.png": png_with_alpha((300, 200)),
        "c_broken.jpg": b"this is not a JPEG",
        "notes.txt": b"not a picture at all",
    }


@pytest.fixture
async def media(hass: HomeAssistant, tmp_path: Path, album_files: dict[str, bytes]) -> Path:
    """HA's media_source with a local media folder in a temporary folder."""
    folder = tmp_path / "media"
    await hass.async_add_executor_job(write_album, folder, album_files)
    hass.config.media_dirs = {"local": str(folder)}
    assert await async_setup_component(hass, "media_source", {})
    return folder


@pytest.fixture
async def frame(
    media: Path, hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> Callable[..., Any]:
    """Set the frame's photo options; return a function that does it again."""

    async def set_options(**options: Any) -> None:
        hass.config_entries.async_update_entry(
            loaded_entry, options={**loaded_entry.options, **options}
        )
        await hass.async_block_till_done()

    await set_options(**{CONF_PHOTO_FOLDER: ALBUM, CONF_PHOTO_ORDER: "in_order"})
    return set_options


async def test_folder_in_order(
    hass: HomeAssistant,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """By name, each once: the broken file is skipped with a warning, then a new round."""
    controller = loaded_entry.runtime_data.controller
    await controller.async_show_photo()
    art = controller.art
    assert art is not None
    assert art.source == f"{ALBUM}/a_sunset.jpg"
    assert art.prompt == "a_sunset"
    assert art.size == (480, 640)  # turned upright by its EXIF tag
    assert controller.prompt is None  # the prompt stays for "regenerate"
    panel = PANELS["inky_impression_5_7"]
    assert size_of(controller.frame_png or b"") == (panel.width, panel.height)
    status = hass.states.get("sensor.frame_status")
    assert status.state == FrameStatus.IDLE
    assert status.attributes["source"] == f"{ALBUM}/a_sunset.jpg"
    assert hass.states.get("image.frame_art").attributes["prompt"] == "a_sunset"
    items = await hass.async_add_executor_job(controller.history._history.items)
    assert [item.source for item in items] == [f"{ALBUM}/a_sunset.jpg"]

    await controller.async_show_photo()
    assert controller.art.source == f"{ALBUM}/b_tree.png"
    await controller.async_show_photo()
    assert controller.art.source == f"{ALBUM}/a_sunset.jpg"  # c_broken skipped: a new round
    assert "Skipping the photo media-source://media_source/local/album/c_broken.jpg" in caplog.text
    assert f"Skipping the photo {ALBUM}/huge.jpg: the file has 41.9 MB" in caplog.text
    assert controller.history.count == 3


async def test_history_restores_a_photo(
    hass: HomeAssistant, frame: Callable[..., Any], loaded_entry: MockConfigEntry
) -> None:
    """After a reload the photo is shown again, with its source, and sets no prompt."""
    await loaded_entry.runtime_data.controller.async_show_photo()
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    controller = loaded_entry.runtime_data.controller
    assert controller.art is not None
    assert controller.art.source == f"{ALBUM}/a_sunset.jpg"
    assert controller.prompt is None
    await controller.async_show_photo()  # by name, after the one shown before the reload
    assert controller.art.source == f"{ALBUM}/b_tree.png"


async def test_random_order_without_repeats(
    hass: HomeAssistant, frame: Callable[..., Any], loaded_entry: MockConfigEntry
) -> None:
    """Random: both readable photos before either repeats; no caption when captions are off."""
    await frame(**{CONF_PHOTO_ORDER: "random", CONF_CAPTION: False})
    controller = loaded_entry.runtime_data.controller
    shown = set()
    for _ in range(2):
        await controller.async_show_photo()
        shown.add(controller.art.source)
    assert shown == {f"{ALBUM}/a_sunset.jpg", f"{ALBUM}/b_tree.png"}


@pytest.mark.parametrize(
    "album_files", [{"broken.jpg": b"\xff\xd8\xff\xe0 truncated", "empty.png": b""}]
)
async def test_nothing_readable(
    hass: HomeAssistant,
    server: FakeGpuServer,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """No readable photo: a clear error in the Status sensor; the art shown stays."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    controller = loaded_entry.runtime_data.controller
    before = controller.art
    with pytest.raises(NoPictureError, match="none of its images can be shown"):
        await controller.async_show_photo()
    assert controller.art is before
    status = hass.states.get("sensor.frame_status")
    assert status.state == FrameStatus.ERROR
    assert "album" in status.attributes["last_error"]
    assert controller.history.count == 1


async def test_bad_folders(
    hass: HomeAssistant, frame: Callable[..., Any], loaded_entry: MockConfigEntry
) -> None:
    """A folder that is not one, holds no images, or no source at all: NoPictureError."""
    controller = loaded_entry.runtime_data.controller
    for folder, reason in (
        ("/media/album", "not a media-source:// id"),
        ("media-source://media_source/local/nowhere", "cannot be browsed"),
        ("media-source://media_source/local/album/sub/..", "cannot be browsed"),
        (f"{ALBUM}/empty", "holds no images"),
    ):
        await frame(**{CONF_PHOTO_FOLDER: folder})
        with pytest.raises(NoPictureError, match=reason):
            await controller.async_show_photo()
    await frame(**{CONF_PHOTO_FOLDER: ""})
    with pytest.raises(NoPictureError, match="no media folder or image entity"):
        await controller.async_show_photo()


async def test_image_entity(
    hass: HomeAssistant,
    server: FakeGpuServer,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """Any image entity: its current picture, titled with its name; none yet is an error."""
    await frame(**{CONF_PHOTO_FOLDER: "", CONF_PHOTO_ENTITY: "image.frame_frame"})
    controller = loaded_entry.runtime_data.controller
    with pytest.raises(NoPictureError, match=r"image\.frame_frame"):
        await controller.async_show_photo()
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await controller.async_show_photo()
    assert controller.art.source == "image.frame_frame"
    assert controller.art.prompt == "Frame Frame"
    panel = PANELS["inky_impression_5_7"]
    assert controller.art.size == (panel.width, panel.height)


async def test_auto_mix_and_photos_source(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """Every second auto run shows a photo; the Photos source shows only photos."""
    await frame(**{CONF_PHOTO_EVERY: 2})
    controller = loaded_entry.runtime_data.controller
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )
    sources = []
    for _ in range(4):
        freezer.tick(timedelta(minutes=60))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        sources.append(controller.art.source if controller.art else None)
    assert sources == [None, f"{ALBUM}/a_sunset.jpg", None, f"{ALBUM}/b_tree.png"]
    assert len(server.requests) == 2

    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.frame_auto_source", "option": "photos"},
        blocking=True,
    )
    freezer.tick(timedelta(minutes=60))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert controller.art.source == f"{ALBUM}/a_sunset.jpg"
    assert len(server.requests) == 2

    await frame(**{CONF_PHOTO_FOLDER: ""})  # no source: the run fails with a warning
    freezer.tick(timedelta(minutes=60))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.frame_status").state == FrameStatus.ERROR


async def test_every_nth_run_counts_on_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeGpuServer,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """A photo every third run: two runs, a restart, and the third run is the photo."""
    await frame(**{CONF_PHOTO_EVERY: 3})
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: "switch.frame_auto_mode"}, blocking=True
    )

    async def next_run() -> str | None:
        freezer.tick(timedelta(minutes=60))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        art = loaded_entry.runtime_data.controller.art
        return art.source if art else None

    assert [await next_run(), await next_run()] == [None, None]
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.controller.auto.runs == 2
    assert await next_run() == f"{ALBUM}/a_sunset.jpg"
    assert len(server.requests) == 2


@pytest.mark.parametrize("stored", [-1, "2", True, 2.5, None])
def test_a_bad_stored_run_count_starts_from_zero(stored: Any) -> None:
    """A run count that is not a whole number of runs is not trusted."""
    assert SavedState.from_dict({"auto_runs": stored}).auto_runs == 0
    assert SavedState.from_dict({"auto_runs": 7}).auto_runs == 7


def write_nested(album: Path) -> None:
    """Folders 1/2/3/4/5 below the album, a photo in 4 (listed) and one in 5 (too deep)."""
    deep = album / "1" / "2" / "3" / "4"
    (deep / "5").mkdir(parents=True)
    (deep / "four.jpg").write_bytes(jpeg((32, 32), (9, 9, 9)))
    (deep / "5" / "five.jpg").write_bytes(jpeg((32, 32), (9, 9, 9)))


async def test_sub_folders_when_asked(
    hass: HomeAssistant,
    media: Path,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """Sub-folders are read only with the option, four levels deep."""
    await hass.async_add_executor_job(write_nested, media / "album")
    controller = loaded_entry.runtime_data.controller
    own = [f"{ALBUM}/{name}" for name in ("a_sunset.jpg", "b_tree.png", "c_broken.jpg")]
    listed = await async_list_folder_images(hass, ALBUM)
    assert [image.media_content_id for image in listed] == [*own, f"{ALBUM}/huge.jpg"]

    listed = await async_list_folder_images(hass, ALBUM, subfolders=True)
    assert [image.media_content_id for image in listed] == [
        f"{ALBUM}/1/2/3/4/four.jpg",
        *own,
        f"{ALBUM}/huge.jpg",
        f"{ALBUM}/sub/hidden.jpg",
    ]
    await frame(**{CONF_PHOTO_SUBFOLDERS: True})
    await controller.async_show_photo()
    assert controller.art.source == f"{ALBUM}/1/2/3/4/four.jpg"
    assert controller.art.prompt == "four"

    # A folder with nothing but sub-folders of photos holds photos only with the option.
    await frame(**{CONF_PHOTO_FOLDER: f"{ALBUM}/1", CONF_PHOTO_SUBFOLDERS: False})
    with pytest.raises(NoPictureError, match="holds no images"):
        await controller.async_show_photo()
    await frame(**{CONF_PHOTO_SUBFOLDERS: True})
    await controller.async_show_photo()  # four levels below this folder: five.jpg is in
    assert controller.art.source == f"{ALBUM}/1/2/3/4/5/five.jpg"


async def test_a_sub_folder_that_cannot_be_browsed_is_skipped(
    hass: HomeAssistant,
    media: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sub-folder whose source fails (a network share gone, say): a warning, the rest stays."""
    browse = media_source.async_browse_media

    async def failing_sub(hass: HomeAssistant, media_id: str, **kwargs: Any) -> Any:
        if media_id == f"{ALBUM}/sub":
            raise BrowseError("the share is offline")
        return await browse(hass, media_id, **kwargs)

    monkeypatch.setattr(media_source, "async_browse_media", failing_sub)
    listed = await async_list_folder_images(hass, ALBUM, subfolders=True)
    assert f"{ALBUM}/sub/hidden.jpg" not in [image.media_content_id for image in listed]
    assert f"{ALBUM}/a_sunset.jpg" in [image.media_content_id for image in listed]
    assert f"Skipping the media folder {ALBUM}/sub: it cannot be browsed" in caplog.text


async def test_to_png_refuses() -> None:
    """Empty, oversized, undecodable and absurdly large images are refused with a reason."""
    with pytest.raises(UnusableImageError, match="empty"):
        to_png(b"")
    with pytest.raises(UnusableImageError, match="MB"):
        to_png(b"\0" * (MAX_IMAGE_BYTES + 1))
    with pytest.raises(UnusableImageError, match="not an image"):
        to_png(b"GIF89a but not really")
    with pytest.raises(UnusableImageError, match="damaged"):
        to_png(jpeg((64, 64), (1, 2, 3))[:200])
    buffer = io.BytesIO()
    Image.new("1", (10001, 10001)).save(buffer, format="PNG")
    with (
        pytest.warns(Image.DecompressionBombWarning),
        pytest.raises(UnusableImageError, match="too many"),
    ):
        to_png(buffer.getvalue())
    large = to_png(jpeg((4000, 1000), (9, 9, 9)))
    assert size_of(large) == (MAX_SIDE, MAX_SIDE // 4)
    with Image.open(io.BytesIO(to_png(png_with_alpha((8, 8))))) as flattened:
        assert flattened.mode == "RGB"
        red, green, blue = flattened.getpixel((4, 4))  # half green on white
        assert abs(red - 127) <= 1 and abs(green - 191) <= 1 and abs(blue - 127) <= 1


async def test_options_flow(
    hass: HomeAssistant, media: Path, loaded_entry: MockConfigEntry
) -> None:
    """The options form takes hours, a schedule, away and photos; mistakes name the field."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    base = {key: value for key, value in loaded_entry.options.items()}

    async def submit(**fields: Any) -> dict[str, Any]:
        flow = await hass.config_entries.options.async_init(loaded_entry.entry_id)
        return dict(
            await hass.config_entries.options.async_configure(flow["flow_id"], base | fields)
        )

    wrong = [
        ({CONF_ACTIVE_START: "07:00:00"}, {CONF_ACTIVE_END: "active_hours_incomplete"}),
        ({CONF_ACTIVE_END: "07:00:00"}, {CONF_ACTIVE_START: "active_hours_incomplete"}),
        (
            {
                CONF_ACTIVE_START: "07:00:00",
                CONF_ACTIVE_END: "22:00:00",
                CONF_SCHEDULE_ENTITY: "schedule.x",
            },
            {CONF_SCHEDULE_ENTITY: "schedule_and_hours"},
        ),
        ({CONF_ACTIVE_WEEKDAYS: []}, {CONF_ACTIVE_WEEKDAYS: "no_weekdays"}),
        (
            {CONF_PHOTO_FOLDER: ALBUM, CONF_PHOTO_ENTITY: "image.frame_art"},
            {CONF_PHOTO_ENTITY: "photo_folder_and_entity"},
        ),
        ({CONF_PHOTO_FOLDER: f"{ALBUM}/empty"}, {CONF_PHOTO_FOLDER: "photo_folder_invalid"}),
    ]
    for fields, errors in wrong:
        result = await submit(**fields)
        assert result["type"] is FlowResultType.FORM, fields
        assert result["errors"] == errors
    assert "holds no images" in result["description_placeholders"]["photo_reason"]

    good = {
        CONF_ACTIVE_START: "07:00:00",
        CONF_ACTIVE_END: "22:00:00",
        CONF_ACTIVE_WEEKDAYS: ["mon", "sat"],
        CONF_AWAY_ENTITY: "person.anna",
        CONF_PHOTO_FOLDER: f" {ALBUM} ",
        CONF_PHOTO_ORDER: "random",
        CONF_PHOTO_EVERY: 3.0,
    }
    result = await submit(**good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options[CONF_PHOTO_FOLDER] == ALBUM
    assert loaded_entry.options[CONF_PHOTO_EVERY] == 3
    assert loaded_entry.options[CONF_ACTIVE_WEEKDAYS] == ["mon", "sat"]
    auto = loaded_entry.runtime_data.controller.auto
    assert auto.photo_every == 3
    assert auto.schedule.away_entity == "person.anna"


async def test_media_without_files(
    hass: HomeAssistant,
    server: FakeGpuServer,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """A media source whose pictures are no files here (the frame's own history) is refused."""
    await hass.services.async_call(DOMAIN, "generate", {"prompt": "a red car"}, blocking=True)
    await frame(**{CONF_PHOTO_FOLDER: f"media-source://{DOMAIN}/{loaded_entry.entry_id}"})
    with pytest.raises(NoPictureError, match="not a file on this Home Assistant"):
        await loaded_entry.runtime_data.controller.async_show_photo()


class BrokenCamera(ImageEntity):
    """An image entity whose picture is not an image."""

    _attr_content_type = "image/jpeg"
    _attr_name = "Broken camera"

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(hass)
        self.entity_id = "image.broken_camera"

    async def async_image(self) -> bytes | None:
        """Return bytes that are no picture."""
        return b"no JPEG here"


async def test_image_entity_with_a_broken_picture(
    hass: HomeAssistant,
    frame: Callable[..., Any],
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An image entity that hands out no picture: a warning and a clear error."""
    await hass.data[IMAGE_COMPONENT].async_add_entities([BrokenCamera(hass)])
    await frame(**{CONF_PHOTO_FOLDER: "", CONF_PHOTO_ENTITY: "image.broken_camera"})
    with pytest.raises(NoPictureError, match="not an image Pillow can read"):
        await loaded_entry.runtime_data.controller.async_show_photo()
    assert "Skipping the image of image.broken_camera" in caplog.text
    assert hass.states.get("sensor.frame_status").state == FrameStatus.ERROR
