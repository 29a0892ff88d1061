"""The frame's state machine: generation, status, progress and the current art.

Entities read the controller's attributes and call its methods; services call the same
methods. One generation runs per frame at a time: a second request waits for the first
(an asyncio.Lock), and an auto mode tick that finds a generation running is skipped
(``auto_mode.AutoMode``). The history folder is kept by ``history_keeper.HistoryKeeper``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .ai_task_source import ai_task_entity, async_paint
from .api import DalleFrameClient, GeneratedImage, GenerationSettings
from .auto_mode import AutoMode
from .const import CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE, DOMAIN, LOGGER
from .coordinator import DalleFrameHealthCoordinator
from .data import DalleFrameConfigEntry
from .errors import (
    CannotConnectError,
    DalleFrameError,
    FrameUnloadedError,
    GenerationTimeoutError,
    InvalidAuthError,
    InvalidResponseError,
    ServerBusyError,
    ServerLoadingError,
    ShowingHistoryError,
)
from .frame_options import art_area, frame_settings, render_options
from .history import FrameHistory
from .history_keeper import HistoryKeeper
from .model_settings import generation_settings
from .models import Art, FrameStatus, GenerationResult
from .photo_source import PhotoSources
from .picture_sources import PictureSource
from .prompt_helper import async_surprise_prompt, prompt_helper_entity
from .prompts import PromptList
from .render import RenderError, render_frame
from .state_store import FrameRenderRecord, FrameStateStore, SavedState

__all__ = ["FrameController"]

_T = TypeVar("_T")

# Errors after which "new prompt" shows a picture from the history instead of nothing.
_SERVER_DOWN_ERRORS = (
    CannotConnectError,
    GenerationTimeoutError,
    ServerBusyError,
    ServerLoadingError,
)
# Progress is pushed to the Status sensor in steps of this many percent.
_PROGRESS_STEP = 5


class FrameController:
    """Owns one frame's state; entities read it and call its methods.

    Attributes entities read (all updated before listeners are called):
      art: Art | None                 the current art (restored from history at start-up)
      frame_png: bytes | None         the art rendered for the panel (palette PNG)
      frame_updated: datetime | None  when frame_png last changed
      prompt: str | None              the current prompt (None before the first one)
      status: FrameStatus
      progress: int | None            0-100 while generating, else None
      last_error: str | None          the reason of the last failure, for the Status sensor
      last_seconds: float | None      seconds of the last generation
      source: str | None              who paints the running or last generation: "server"
                                      or the AI Task entity's id (None before the first)
      available (property)            False while the GPU server is unreachable
      auto: AutoMode                  auto mode (on, interval, source, next run)
      history: HistoryKeeper          the history folder (count, folder)
      rng: random.Random              the randomness of prompts and picks (tests seed it)
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: DalleFrameConfigEntry,
        *,
        client: DalleFrameClient,
        coordinator: DalleFrameHealthCoordinator,
        history: FrameHistory,
        state_store: FrameStateStore,
        prompts: PromptList,
        rng: random.Random | None = None,
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._client = client
        self._coordinator = coordinator
        self._store = state_store
        self.prompts = prompts
        self.rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._unsub_health: CALLBACK_TYPE | None = None
        self.history = HistoryKeeper(hass, entry, history, self.rng)
        self.photos = PhotoSources(hass, self.rng)
        self.auto = AutoMode(
            hass,
            entry,
            is_generating=self._lock.locked,
            regenerate=self.async_regenerate,
            new_prompt=self.async_new_prompt,
            on_change=self._async_changed,
            rng=self.rng,
            show_photo=self.async_show_photo,
        )
        self._stopped = False
        self._server_down = False
        self._frame_record: FrameRenderRecord | None = None
        self._applied_options = dict(entry.options)
        self.art: Art | None = None
        self.frame_png: bytes | None = None
        self.frame_updated: datetime | None = None
        self.prompt: str | None = None
        self.status = FrameStatus.IDLE
        self.progress: int | None = None
        self.last_error: str | None = None
        self.last_seconds: float | None = None
        self.source: str | None = None

    # -- state the entities read -------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the GPU server answered the last health check or request."""
        return self._coordinator.last_update_success

    @property
    def can_show_history(self) -> bool:
        """Whether the history holds a picture other than the one shown."""
        return self.history.count > (1 if self.art is not None else 0)

    @property
    def _history_size(self) -> int:
        """How many pictures the history keeps."""
        return int(self._entry.options.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE))

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (in the event loop) after every state change; return an unsubscribe."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @callback
    def _async_notify(self) -> None:
        """Tell every listener that the state changed."""
        for listener in list(self._listeners):
            listener()

    @callback
    def _async_changed(self) -> None:
        """Tell the listeners and save the state (auto mode changed)."""
        self._async_notify()
        self._async_persist()

    @callback
    def _async_persist(self) -> None:
        """Save the remembered state a moment from now."""
        self._store.async_schedule_save(self._saved_state())

    def _saved_state(self) -> SavedState:
        """Return the state to remember across restarts."""
        return SavedState(
            prompt=self.prompt,
            auto_enabled=self.auto.enabled,
            auto_interval_minutes=self.auto.interval_minutes,
            auto_source=self.auto.source,
            next_auto_run=self.auto.next_run,
            auto_runs=self.auto.runs,
            frame=self._frame_record,
        )

    # -- start and stop ----------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore the saved state and the newest picture, then start auto mode."""
        saved = await self._store.async_load()
        self.prompt = saved.prompt
        art = await self.history.async_read_newest()
        if art is not None and await self._async_restore_frame(art, saved.frame):
            self.last_seconds = art.seconds
            if art.source is None:
                self.prompt = self.prompt or art.prompt
        self.photos.configure(self._entry.options)
        self.photos.resume_after(await self.history.async_newest_source())
        self.auto.async_configure(self._entry.options)
        self.auto.async_start(
            saved.auto_enabled,
            saved.auto_interval_minutes,
            saved.next_auto_run,
            saved.auto_source,
            runs=saved.auto_runs,
        )
        self._unsub_health = self._coordinator.async_add_listener(self._async_health_changed)
        self._async_persist()

    async def _async_restore_frame(self, art: Art, record: FrameRenderRecord | None) -> bool:
        """Show the restored art, keeping the frame's time stamp when nothing changed since."""
        try:
            frame_png = await self._async_render(art)
        except InvalidResponseError as err:
            LOGGER.warning("The newest picture in the history cannot be shown: %s", err)
            return False
        settings = frame_settings(self._entry.options)
        unchanged = record is not None and record.art_id == art.item_id
        unchanged = unchanged and record is not None and record.options == settings
        updated = record.updated if unchanged and record is not None else dt_util.utcnow()
        self._set_frame(art, frame_png, settings, updated)
        return True

    async def async_stop(self) -> None:
        """Stop auto mode and health tracking, end a running generation, save the state."""
        self._stopped = True
        self.auto.async_stop()
        if self._unsub_health is not None:
            self._unsub_health()
            self._unsub_health = None
        self._listeners.clear()
        await self._store.async_flush(self._saved_state())

    # -- generation --------------------------------------------------------------------------

    async def async_generate(
        self, prompt: str | None = None, seed: int | None = None
    ) -> GenerationResult:
        """Generate art (prompt None: a new prompt from the list); raises HomeAssistantError."""
        if prompt is None:
            return await self._async_exclusive(lambda: self._async_new_prompt_locked(seed))
        return await self._async_exclusive(lambda: self._async_generate_locked(prompt, seed))

    async def async_regenerate(self) -> GenerationResult:
        """Generate again with the current prompt and a new seed (a new prompt if none yet)."""
        return await self._async_exclusive(self._async_regenerate_locked)

    async def async_new_prompt(self) -> GenerationResult:
        """Generate with a new prompt from the list (history picture when the server is down)."""
        return await self._async_exclusive(self._async_new_prompt_locked)

    async def _async_exclusive(self, job: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run `job` when no other generation of this frame runs; unloading cancels it."""
        async with self._lock:
            if self._stopped:
                raise FrameUnloadedError()
            task = self._entry.async_create_background_task(
                self._hass, job(), f"{DOMAIN} generation for {self._entry.title}"
            )
            try:
                return await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if task.cancelled() and current is not None and not current.cancelling():
                    raise FrameUnloadedError() from None
                raise

    async def _async_regenerate_locked(self) -> GenerationResult:
        """Regenerate, inside the lock."""
        if not self.prompt:
            return await self._async_new_prompt_locked()
        return await self._async_generate_locked(self.prompt, None)

    async def _async_new_prompt_locked(self, seed: int | None = None) -> GenerationResult:
        """Generate with a new prompt; show a history picture if the server is down."""
        if prompt_helper_entity(self._entry.options) is not None:
            self.status, self.progress = FrameStatus.GENERATING, 0  # while the helper writes
            self._async_notify()
        prompt = await async_surprise_prompt(
            self._hass,
            self._entry.options,
            lambda: self.prompts.random_prompt(self.rng, avoid=self.prompt),
        )
        try:
            return await self._async_generate_locked(prompt, seed)
        except _SERVER_DOWN_ERRORS as err:
            if not await self._async_show_history_picture():
                raise
            error = ShowingHistoryError(reason=str(err))
            self.last_error = str(error)
            self._async_notify()
            raise error from err

    async def _async_generate_locked(self, prompt: str, seed: int | None) -> GenerationResult:
        """Generate, render, keep and show one picture; the status never stays generating."""
        LOGGER.debug("Generating %r (seed %s) for %s", prompt, seed, self._entry.title)
        self.prompt = prompt
        self.status = FrameStatus.GENERATING
        self.progress = 0
        self.source = ai_task_entity(self._entry.options) or "server"
        self._async_notify()
        self._async_persist()
        try:
            health = self._coordinator.data
            capabilities = health.capabilities if health is not None else None
            # The picture's aspect is that of the art area, so "cover" crops nothing.
            art_size = await self._hass.async_add_executor_job(
                art_area, self._entry.options, prompt
            )
            settings = generation_settings(self._entry.options, capabilities, art_size=art_size)
            image = await self._async_paint(prompt, seed, settings)
            art = Art(
                png=image.png,
                prompt=prompt,
                seed=image.seed,
                seconds=image.seconds,
                created=dt_util.utcnow(),
            )
            frame_png = await self._async_render(art)
        except DalleFrameError as err:
            self._async_fail(err)
            raise
        except BaseException:
            self.status = FrameStatus.IDLE
            self.progress = None
            self._async_notify()
            raise
        await self.history.async_keep(art, self._history_size)
        self.last_seconds = art.seconds
        self.status = FrameStatus.IDLE
        self.progress = None
        self.last_error = None
        self._set_frame(art, frame_png, frame_settings(self._entry.options), dt_util.utcnow())
        self._async_notify()
        self._async_persist()
        LOGGER.debug("Generated %r (seed %s) in %.1f s", prompt, art.seed, art.seconds)
        return GenerationResult(prompt=prompt, seed=art.seed, seconds=art.seconds)

    async def _async_paint(
        self, prompt: str, seed: int | None, settings: GenerationSettings
    ) -> GeneratedImage:
        """Paint on the GPU server, or through the AI Task entity the options name."""
        if (entity_id := ai_task_entity(self._entry.options)) is not None:
            return await async_paint(self._hass, entity_id, prompt)
        return await self._client.async_generate(prompt, seed, self._async_progress, settings)

    async def async_show_photo(self) -> None:
        """Show the next picture of the photo source the options name."""
        await self._async_exclusive(lambda: self._async_show_source_picture_locked(None))

    async def async_show_source_picture(self, source: PictureSource) -> None:
        """Show the next picture of `source` like new art (history, Art, Frame, Status).

        The prompt stays: "regenerate" still paints the last prompt. A source that has
        nothing to show raises NoPictureError; the Status sensor then says why.
        """
        await self._async_exclusive(lambda: self._async_show_source_picture_locked(source))

    async def _async_show_source_picture_locked(self, source: PictureSource | None) -> None:
        """Fetch, render, keep and show one picture of `source` (None: the photos), locked."""
        try:
            source = source or self.photos.require()
            picture = await source.async_next_picture()
            art = Art(
                png=picture.png,
                prompt=picture.title,
                seed=0,
                seconds=0.0,
                created=dt_util.utcnow(),
                source=picture.source,
            )
            frame_png = await self._async_render(art)
        except DalleFrameError as err:
            LOGGER.warning("No picture for %s: %s", self._entry.title, err)
            self.status = FrameStatus.ERROR
            self.last_error = str(err)
            self._async_notify()
            raise
        await self.history.async_keep(art, self._history_size)
        self.status = FrameStatus.IDLE
        self.last_error = None
        self.source = picture.source
        self._set_frame(art, frame_png, frame_settings(self._entry.options), dt_util.utcnow())
        self._async_notify()
        self._async_persist()

    @callback
    def _async_progress(self, step: int, total: int) -> None:
        """Stream callback: show progress in steps of 5 %."""
        percent = max(0, min(100, step * 100 // total))
        shown = self.progress or 0
        crossed = percent // _PROGRESS_STEP != shown // _PROGRESS_STEP or percent == 100
        if crossed and percent != self.progress:
            self.progress = percent
            self._async_notify()

    @callback
    def _async_fail(self, err: DalleFrameError) -> None:
        """Record a failed generation; a lost server also makes the entities unavailable."""
        LOGGER.warning("Generation for %s failed: %s", self._entry.title, err)
        self.status = FrameStatus.ERROR
        self.progress = None
        self.last_error = str(err)
        if isinstance(err, CannotConnectError):
            self._coordinator.async_set_update_error(err)
        elif isinstance(err, InvalidAuthError):
            self._entry.async_start_reauth(self._hass)
        self._async_notify()

    async def _async_render(self, art: Art) -> bytes:
        """Render `art` for the panel (in the executor); a broken image is the server's fault."""
        options = render_options(frame_settings(self._entry.options), art.prompt)
        try:
            return await self._hass.async_add_executor_job(render_frame, art.png, options)
        except RenderError as err:
            raise InvalidResponseError(reason=f"the image cannot be decoded: {err}") from err

    @callback
    def _set_frame(
        self, art: Art, frame_png: bytes, settings: dict[str, Any], updated: datetime
    ) -> None:
        """Show `art` and its rendered frame."""
        self.art = art
        self.frame_png = frame_png
        self.frame_updated = updated
        self._frame_record = FrameRenderRecord(
            art_id=art.item_id, options=settings, updated=updated
        )

    async def _async_show_history_picture(self) -> bool:
        """Show a random other picture from the history; return whether one was shown."""
        current = self.art.item_id if self.art else None
        try:
            art = await self.history.async_pick_other(current)
            if art is None:
                return False
            frame_png = await self._async_render(art)
        except (OSError, InvalidResponseError) as err:
            LOGGER.warning("Cannot show a picture from the history: %s", err)
            return False
        if art.source is None:
            self.prompt = art.prompt
        self._set_frame(art, frame_png, frame_settings(self._entry.options), dt_util.utcnow())
        self._async_notify()
        self._async_persist()
        return True

    # -- server health -----------------------------------------------------------------------

    @callback
    def _async_health_changed(self) -> None:
        """Coordinator listener: reflect a lost or returned server in the status."""
        if not self.available:
            self._server_down = True
            if self.status is not FrameStatus.GENERATING:
                self.status = FrameStatus.ERROR
                self.last_error = str(self._coordinator.last_exception)
        elif self._server_down:
            self._server_down = False
            LOGGER.info("The GPU server of %s is back", self._entry.title)
            if self.status is FrameStatus.ERROR:
                self.status = FrameStatus.IDLE
        self._async_notify()

    # -- options -----------------------------------------------------------------------------

    def options_changed(self) -> bool:
        """Whether the entry's options differ from those last applied."""
        return dict(self._entry.options) != self._applied_options

    async def async_apply_options(self, prompts: PromptList) -> None:
        """Use changed options: new prompt list, history size, and re-render the frame."""
        self._applied_options = dict(self._entry.options)
        if self._stopped:
            return
        self.prompts = prompts
        self.photos.configure(self._entry.options)
        self.auto.async_configure(self._entry.options)
        await self.history.async_prune(self._history_size)
        settings = frame_settings(self._entry.options)
        art = self.art
        if art is None or (self._frame_record and self._frame_record.options == settings):
            return
        try:
            frame_png = await self._async_render(art)
        except InvalidResponseError as err:
            LOGGER.warning("Cannot render the frame again: %s", err)
            return
        if self.art is art:
            self._set_frame(art, frame_png, settings, dt_util.utcnow())
            self._async_notify()
            self._async_persist()
