"""The satellite: one asyncio loop tying Home Assistant, the display, buttons, mic and LED."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

import aiohttp

from . import ha_rest
from .actions import FrameActions
from .audio import Recorder, create_recorder
from .buttons import (
    FrameButtons,
    create_buttons,
    fit_buttons_to_panel,
    set_pin_factory,
    uses_gpiod,
)
from .buttons_gpiod import GpiodButtons
from .control_socket import ControlSocket
from .display import Display, create_display
from .entity_states import EntityStates
from .errors import HomeAssistantCommandError
from .frame_follower import FrameFollower
from .ha_link import HaLink
from .ha_websocket import HaWebSocket
from .health_reporter import HealthReporter
from .led import StatusLed
from .secret import RedactingFilter, Secret, read_token_file
from .settings import ButtonAction, ButtonSettings, DisplayType, SatelliteSettings
from .state_store import StateStore
from .system_health import SystemPaths

_LOGGER = logging.getLogger(__name__)
_NO_PICTURE_STATES: Final = ("unavailable", "unknown", "")


class Satellite:
    """Runs until stopped: follows the Frame image, answers buttons, reconnects by itself."""

    def __init__(
        self,
        settings: SatelliteSettings,
        *,
        display: Display | None = None,
        recorder: Recorder | None = None,
        redactor: RedactingFilter | None = None,
        system_paths: SystemPaths | None = None,
    ) -> None:
        self.settings = settings
        self._system_paths = system_paths
        self._redactor = redactor
        self.display = display or create_display(settings.display)
        self._recorder = recorder or create_recorder(settings.audio)
        self.led = StatusLed(settings.led, use_gpiod=uses_gpiod(settings.gpio.pin_factory))
        self.states = EntityStates()
        self.buttons: FrameButtons | GpiodButtons | None = None
        self._button_settings: dict[str, ButtonSettings] = {}
        self._last_press: dict[str, float] = {}
        self._action: asyncio.Task[None] | None = None
        self._action_name = ""
        self._session: aiohttp.ClientSession | None = None
        self.link: HaLink | None = None
        self.follower: FrameFollower | None = None
        self.actions: FrameActions | None = None
        self.reporter: HealthReporter | None = None
        self._subscribed_once = False

    def read_token(self) -> Secret:
        """Read the token file (permissions checked) and keep the token out of the logs."""
        token = read_token_file(self.settings.home_assistant.token_file)
        if self._redactor is not None:
            self._redactor.add(token)
        return token

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, run until stop is set, then release everything."""
        self.read_token()  # refuse a missing or readable token file before anything starts
        await self.display.open()
        try:
            if not uses_gpiod(self.settings.gpio.pin_factory):
                set_pin_factory(self.settings.gpio.pin_factory)
            buttons = self.settings.buttons
            if self.settings.display.type == DisplayType.INKY:
                buttons = fit_buttons_to_panel(buttons, self.display.panel)
            self._button_settings = {button.name: button for button in buttons}
            ha = self.settings.home_assistant
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=ha.request_timeout_seconds)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                self._session = session
                await self._run_connected_parts(stop, buttons)
        finally:
            await self.display.close()
        _LOGGER.info("Stopped")

    async def _run_connected_parts(
        self, stop: asyncio.Event, buttons: tuple[ButtonSettings, ...]
    ) -> None:
        """Run the HA link, the frame follower, buttons, LED and control socket until stop."""
        assert self._session is not None
        ha = self.settings.home_assistant
        self.link = HaLink(ha, self._session, self.read_token, self._on_connected)
        store = StateStore(self.settings.state_file)
        self.follower = FrameFollower(
            self.display, self.settings.display, self._fetch_frame, store, self.led
        )
        self.actions = FrameActions(
            ha, self.settings.audio, self.link, self._recorder, self._transcribe, self.led
        )
        control: ControlSocket | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            self.led.open()
            self.buttons = create_buttons(self.settings.gpio, buttons, self.on_press)
            self.buttons.open()
            if self.settings.control_socket is not None:
                control = ControlSocket(self.settings.control_socket, self.press_from_outside)
                await control.start()
            tasks = [
                asyncio.create_task(self.link.run(), name="home assistant link"),
                asyncio.create_task(self.follower.run(), name="frame follower"),
            ]
            if ha.report_interval_seconds > 0:
                self.reporter = self._create_reporter()
                tasks.append(asyncio.create_task(self.reporter.run(), name="health reporter"))
            self._log_ready(buttons)
            await _wait_for_stop_or_crash(stop, tasks)
        finally:
            running = [*tasks, *([self._action] if self._action else [])]
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)  # errors were logged
            if control is not None:
                await control.close()
            if self.buttons is not None:
                self.buttons.close()
            self.led.close()

    def _create_reporter(self) -> HealthReporter:
        """Return the reporter of the satellite's health, woken by each panel refresh."""
        assert self.link is not None and self.follower is not None
        reporter = HealthReporter(
            self.settings.home_assistant,
            self.link,
            self.follower,
            panel_title=self.display.panel.title,
            config_entry_id=lambda: self.actions.config_entry_id if self.actions else None,
            paths=self._system_paths,
        )
        self.follower.on_refreshed = reporter.wake
        return reporter

    def _log_ready(self, buttons: tuple[ButtonSettings, ...]) -> None:
        """Log the one line that says what runs where."""
        pressed = ", ".join(f"{b.name}=GPIO{b.pin} {b.action}" for b in buttons) or "none"
        _LOGGER.info(
            "Ready: display %s; buttons %s; LED %s",
            self.display.describe(),
            pressed,
            f"GPIO{self.settings.led.pin}" if self.settings.led.enabled else "none",
        )

    async def _on_connected(self, connection: HaWebSocket) -> None:
        """Subscribe to the frame's entities on a fresh connection."""
        ha = self.settings.home_assistant
        assert self.follower is not None and self.actions is not None
        self.states.clear()
        self.follower.forget_state()
        self._subscribed_once = False
        if ha.config_entry_id is None:
            self.actions.config_entry_id = await self._find_config_entry(connection)
        await connection.subscribe(
            {"type": "subscribe_entities", "entity_ids": [ha.frame_entity, ha.auto_mode_entity]},
            self._on_entities,
            time_limit=ha.request_timeout_seconds,
        )
        if self.reporter is not None:
            self.reporter.wake()  # report as soon as the connection is published

    async def _find_config_entry(self, connection: HaWebSocket) -> str | None:
        """Look the frame's config entry up in the entity registry (needs an admin token)."""
        ha = self.settings.home_assistant
        try:
            entry = await connection.command(
                {"type": "config/entity_registry/get", "entity_id": ha.frame_entity},
                time_limit=ha.request_timeout_seconds,
            )
        except HomeAssistantCommandError as err:
            _LOGGER.debug("No config entry from the entity registry (%s)", err)
            return None
        entry_id = entry.get("config_entry_id") if isinstance(entry, dict) else None
        _LOGGER.debug("The frame's config entry is %s", entry_id)
        return entry_id if isinstance(entry_id, str) else None

    def _on_entities(self, event: dict[str, Any]) -> None:
        """Handle a subscribe_entities event."""
        ha = self.settings.home_assistant
        assert self.follower is not None
        changed = self.states.apply(event)
        first, self._subscribed_once = not self._subscribed_once, True
        frame = self.states.get(ha.frame_entity)
        if first and frame is None:
            _LOGGER.warning(
                "Home Assistant has no entity %s: check home_assistant.frame_entity and that "
                "the dalle_frame integration is set up",
                ha.frame_entity,
            )
        if ha.frame_entity in changed:
            if frame is None:
                _LOGGER.warning("%s was removed from Home Assistant", ha.frame_entity)
            elif frame.state in _NO_PICTURE_STATES:
                _LOGGER.info("The Frame image has no picture yet (%s)", frame.state or "empty")
            else:
                self.follower.notify(frame.state)
        auto = self.states.get(ha.auto_mode_entity)
        if ha.auto_mode_entity in changed and auto is not None:
            _LOGGER.info("Auto mode is %s", auto.state)

    async def _fetch_frame(self) -> bytes:
        """Download the Frame image with the current token."""
        ha = self.settings.home_assistant
        assert self._session is not None and self.link is not None
        token = self.link.token or self.read_token()
        return await ha_rest.fetch_image(
            self._session,
            ha.url,
            token,
            ha.frame_entity,
            time_limit=ha.request_timeout_seconds,
            verify_ssl=ha.verify_ssl,
        )

    async def _transcribe(self, token: Secret, pcm: bytes) -> str:
        """Send a recording to the STT entity."""
        ha = self.settings.home_assistant
        assert self._session is not None
        return await ha_rest.transcribe(
            self._session,
            ha.url,
            token,
            ha.stt_entity,
            pcm,
            language=ha.language,
            time_limit=ha.service_timeout_seconds,
            verify_ssl=ha.verify_ssl,
        )

    def on_press(self, name: str) -> None:
        """Handle a button press on the loop: debounce, one action at a time."""
        button = self._button_settings.get(name)
        if button is None:
            return
        now = time.monotonic()
        if now - self._last_press.get(name, -1e9) < self.settings.gpio.debounce_seconds:
            _LOGGER.debug("Button %s bounced; ignored", name)
            return
        self._last_press[name] = now
        if self._action is not None and not self._action.done():
            _LOGGER.info(
                "Button %s (%s) ignored: %s is still running",
                name,
                button.action,
                self._action_name,
            )
            return
        _LOGGER.info("Button %s pressed: %s", name, button.action)
        if button.action == ButtonAction.NONE:
            return
        assert self.actions is not None
        self._action_name = f"button {name} ({button.action})"
        self._action = asyncio.create_task(self.actions.run(button.action), name=self._action_name)
        self._action.add_done_callback(_log_unexpected_error)

    def press_from_outside(self, name: str) -> str | None:
        """Press a button for the control socket; return a problem, or None when pressed."""
        if self.buttons is None or name not in self.buttons.names:
            known = ", ".join(self.buttons.names) if self.buttons else "none"
            return f"unknown button {name!r} (buttons: {known})"
        self.buttons.press(name)
        return None

    @property
    def action_running(self) -> bool:
        """True while a button's action runs."""
        return self._action is not None and not self._action.done()

    async def wait_action(self) -> None:
        """Wait for the running action, if any, to finish (used by tests and shutdown)."""
        if self._action is not None:
            await asyncio.shield(self._action)


def _log_unexpected_error(task: asyncio.Task[None]) -> None:
    """Log an action's unexpected exception (expected failures are logged by the action)."""
    if not task.cancelled() and (error := task.exception()) is not None:
        _LOGGER.error("%s failed unexpectedly", task.get_name(), exc_info=error)


async def _wait_for_stop_or_crash(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Return when stop is set; re-raise if a long-running task ends with an error."""
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    for task in done:
        if task is not stopper:
            task.result()  # raises the task's error
            raise RuntimeError(f"{task.get_name()} stopped unexpectedly")
