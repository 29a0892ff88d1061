"""Read the YAML config file into settings, with a clear message for every mistake."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError
from .panels import DISPLAY_PINS, PANELS, STANDARD_BUTTON_PINS, panel_by_name
from .settings import (
    AudioSettings,
    ButtonAction,
    ButtonSettings,
    DisplaySettings,
    DisplayType,
    FitMode,
    GpioSettings,
    HomeAssistantSettings,
    LedSettings,
    SatelliteSettings,
)

PIN_FACTORIES: Final = ("auto", "gpiod", "lgpio", "rpigpio", "pigpio", "native", "mock")
DEFAULT_ACTIONS: Final = {
    "A": ButtonAction.REGENERATE,
    "B": ButtonAction.NEW_PROMPT,
    "C": ButtonAction.SPEAK,
    "D": ButtonAction.TOGGLE_AUTO_MODE,
}
_ENTITY_ID: Final = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
_BUTTON_NAME: Final = re.compile(r"^[A-Za-z0-9_]{1,16}$")
_SATELLITE_ID: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MAX_CONFIG_BYTES: Final = 256 * 1024
_MISSING: Final[Any] = object()
"""The default of a required setting (typed Any: it stands in for a default of any type)."""


class _Section:
    """One mapping of the config file; takes keys one by one and rejects the leftovers."""

    def __init__(self, name: str, raw: Any, base: Path) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            where = name or "the top level"
            raise ConfigError(f"{where}: expected a mapping of settings, got {_kind(raw)}")
        self.name, self._raw, self._base = name, dict(raw), base

    def _where(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get_raw(self, key: str) -> Any:
        """Return a key's raw value without taking it (None when absent)."""
        return self._raw.get(key)

    def take(self, key: str, default: Any = _MISSING) -> Any:
        """Remove and return a key's raw value (default when absent; required without one)."""
        if key in self._raw:
            return self._raw.pop(key)
        if default is _MISSING:
            raise ConfigError(f"{self._where(key)} is required")
        return default

    def text(self, key: str, default: Any = _MISSING) -> Any:
        """Take a non-empty string."""
        value = self.take(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{self._where(key)}: expected a non-empty text, got {_kind(value)}")
        return value.strip()

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """Take a number within [low, high]."""
        value = self.take(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self._where(key)}: expected a number, got {_kind(value)}")
        if not low <= value <= high:
            raise ConfigError(f"{self._where(key)}: {value} is outside {low:g}..{high:g}")
        return float(value)

    def integer(self, key: str, default: Any, low: int, high: int) -> Any:
        """Take a whole number within [low, high] (or None when default is None and absent)."""
        value = self.take(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self._where(key)}: expected a whole number, got {_kind(value)}")
        if not low <= value <= high:
            raise ConfigError(f"{self._where(key)}: {value} is outside {low}..{high}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """Take true or false."""
        value = self.take(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self._where(key)}: expected true or false, got {_kind(value)}")
        return value

    def choice(self, key: str, default: str, choices: Any) -> str:
        """Take one of the given words."""
        value = self.take(key, default)
        allowed = [str(c) for c in choices]
        if value not in allowed:
            raise ConfigError(
                f"{self._where(key)}: {value!r} is not one of {', '.join(allowed)}"
                + _suggest(str(value), allowed)
            )
        return str(value)

    def path(self, key: str, default: Path | None = None) -> Path | None:
        """Take a file path; a relative one is relative to the config file's folder."""
        value = self.take(key, default)
        if value is None or isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{self._where(key)}: expected a file path, got {_kind(value)}")
        path = Path(value.strip()).expanduser()
        return path if path.is_absolute() else self._base / path

    def entity(self, key: str, default: str, domains: tuple[str, ...] | None = None) -> str:
        """Take an entity id such as image.frame_frame, of one of the given domains."""
        value = self.text(key, default)
        if not _ENTITY_ID.match(value):
            raise ConfigError(f"{self._where(key)}: {value!r} is not an entity id like image.frame")
        if domains and value.split(".", 1)[0] not in domains:
            raise ConfigError(
                f"{self._where(key)}: {value!r} is not in the {' or '.join(domains)} domain"
            )
        return value

    def done(self, known: tuple[str, ...] = ()) -> None:
        """Reject keys nobody took, suggesting the closest known key."""
        for key in self._raw:
            raise ConfigError(f"{self._where(str(key))}: unknown setting" + _suggest(key, known))


def _kind(value: Any) -> str:
    """Describe a YAML value for an error message (never echoes long or secret text)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) <= 40 else "a long text"
    return f"a {type(value).__name__}"


def _suggest(word: str, choices: Any) -> str:
    """Return ' (did you mean X?)' for a near miss."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def load_config(path: Path) -> SatelliteSettings:
    """Read and validate the config file; raise ConfigError naming the file and the setting."""
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is too large to be a config file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file {path}: {problem}{where}") from None
    try:
        return parse_config(raw, path.resolve().parent)
    except ConfigError as err:
        raise ConfigError(f"config file {path}: {err}") from None


def parse_config(raw: Any, base: Path) -> SatelliteSettings:
    """Validate an already-parsed config mapping; relative paths are relative to base."""
    if raw is None:
        raise ConfigError("the file is empty; start from satellite.example.yaml")
    root = _Section("", raw, base)
    home_assistant = _home_assistant(_Section("home_assistant", root.take("home_assistant"), base))
    display = _display(_Section("display", root.take("display", None), base))
    gpio = _gpio(_Section("gpio", root.take("gpio", None), base))
    buttons = _buttons(root.take("buttons", None), display)
    audio = _audio(_Section("audio", root.take("audio", None), base))
    led = _led(_Section("led", root.take("led", None), base))
    state_file = root.path("state_file")
    control_socket = root.path("control_socket")
    root.done(
        (
            "home_assistant",
            "display",
            "buttons",
            "gpio",
            "audio",
            "led",
            "state_file",
            "control_socket",
        )
    )
    _check_pins(buttons, led, display)
    return SatelliteSettings(
        home_assistant=home_assistant,
        display=display,
        buttons=buttons,
        gpio=gpio,
        audio=audio,
        led=led,
        state_file=state_file,
        control_socket=control_socket,
    )


def _home_assistant(section: _Section) -> HomeAssistantSettings:
    """Validate the home_assistant section."""
    for secret_key in ("token", "access_token", "api_token"):
        if secret_key in section._raw:
            raise ConfigError(
                f"home_assistant.{secret_key}: the token does not belong in the config file; "
                f"write it to a file only you can read (chmod 600) and set token_file"
            )
    url = section.text("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"home_assistant.url: {url!r} is not an http(s) URL like http://homeassistant.local:8123"
        )
    if parts.query or parts.fragment or parts.username:
        raise ConfigError("home_assistant.url: give only scheme, host and port")
    token_file = section.path("token_file", _MISSING)
    defaults = HomeAssistantSettings(url="", token_file=Path())
    minimum = section.number("reconnect_min_seconds", defaults.reconnect_min_seconds, 0.01, 600)
    settings = HomeAssistantSettings(
        url=url.rstrip("/"),
        token_file=token_file,  # type: ignore[arg-type]
        frame_entity=section.entity("frame_entity", defaults.frame_entity, ("image",)),
        stt_entity=section.entity("stt_entity", defaults.stt_entity, ("stt",)),
        auto_mode_entity=section.entity(
            "auto_mode_entity", defaults.auto_mode_entity, ("switch", "input_boolean")
        ),
        config_entry_id=section.text("config_entry_id", None),
        language=section.text("language", defaults.language),
        verify_ssl=section.flag("verify_ssl", defaults.verify_ssl),
        reconnect_min_seconds=minimum,
        reconnect_max_seconds=section.number(
            "reconnect_max_seconds", max(minimum, defaults.reconnect_max_seconds), minimum, 3600
        ),
        heartbeat_seconds=section.number(
            "heartbeat_seconds", defaults.heartbeat_seconds, 0.2, 3600
        ),
        request_timeout_seconds=section.number(
            "request_timeout_seconds", defaults.request_timeout_seconds, 0.1, 600
        ),
        service_timeout_seconds=section.number(
            "service_timeout_seconds", defaults.service_timeout_seconds, 1, 7200
        ),
        report_interval_seconds=_report_interval(section, defaults.report_interval_seconds),
        satellite_id=_satellite_id(section),
    )
    section.done(tuple(HomeAssistantSettings.__dataclass_fields__))
    return settings


def _report_interval(section: _Section, default: float) -> float:
    """Take home_assistant.report_interval_seconds: 0 (off) or 10..3600."""
    seconds = section.number("report_interval_seconds", default, 0, 3600)
    if 0 < seconds < 10:
        raise ConfigError(
            f"home_assistant.report_interval_seconds: {seconds:g} is too often; "
            "give 10 to 3600 seconds, or 0 to stop reporting"
        )
    return seconds


def _satellite_id(section: _Section) -> str | None:
    """Take home_assistant.satellite_id: 1-64 letters, digits, '.', '_' or '-'."""
    value = section.text("satellite_id", None)
    if value is not None and not _SATELLITE_ID.match(value):
        raise ConfigError(
            f"home_assistant.satellite_id: {value!r} is not 1-64 letters, digits, '.', '_' or '-'"
        )
    return value


def _display(section: _Section) -> DisplaySettings:
    """Validate the display section."""
    kind = DisplayType(section.choice("type", DisplayType.INKY, list(DisplayType)))
    model = section.choice("model", "auto", ["auto", *PANELS])
    path = section.path("path")
    if kind == DisplayType.FILE and path is None:
        raise ConfigError("display.path is required for the file display (the PNG to write)")
    settings = DisplaySettings(
        type=kind,
        model=model,
        saturation=section.number("saturation", 0.5, 0.0, 1.0),
        fit=FitMode(section.choice("fit", FitMode.CONTAIN, list(FitMode))),
        rotate=_rotation(section),
        path=path,
    )
    section.done(tuple(DisplaySettings.__dataclass_fields__))
    return settings


def _rotation(section: _Section) -> int:
    """Take display.rotate as 0, 90, 180 or 270."""
    value = section.integer("rotate", 0, 0, 270)
    if value not in (0, 90, 180, 270):
        raise ConfigError(f"display.rotate: {value} is not one of 0, 90, 180, 270")
    return value


def _gpio(section: _Section) -> GpioSettings:
    """Validate the gpio section."""
    settings = GpioSettings(
        pin_factory=section.choice("pin_factory", "auto", PIN_FACTORIES),
        debounce_seconds=section.number("debounce_seconds", 0.5, 0.0, 10.0),
    )
    section.done(tuple(GpioSettings.__dataclass_fields__))
    return settings


def _buttons(raw: Any, display: DisplaySettings) -> tuple[ButtonSettings, ...]:
    """Merge the buttons section over the board's four buttons A-D."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"buttons: expected a mapping like A: {{pin: 5}}, got {_kind(raw)}")
    board_pins = dict(STANDARD_BUTTON_PINS)
    if display.model in PANELS:
        board_pins.update(panel_by_name(display.model).button_pins)
    names = list(DEFAULT_ACTIONS) + [str(name) for name in raw if str(name) not in DEFAULT_ACTIONS]
    buttons = []
    for name in names:
        if not _BUTTON_NAME.match(name):
            raise ConfigError(f"buttons.{name}: a button name is 1-16 letters, digits or _")
        section = _Section(f"buttons.{name}", raw.get(name), Path())
        pin = section.integer("pin", board_pins.get(name, _MISSING), 0, 27)
        action = ButtonAction(
            section.choice("action", DEFAULT_ACTIONS.get(name, _MISSING), list(ButtonAction))
        )
        section.done(("pin", "action"))
        if action != ButtonAction.NONE:
            buttons.append(ButtonSettings(name=name, pin=pin, action=action))
    return tuple(buttons)


def _audio(section: _Section) -> AudioSettings:
    """Validate the audio section."""
    device = section.take("device", None)
    if device is not None and (isinstance(device, bool) or not isinstance(device, str | int)):
        raise ConfigError(f"audio.device: expected a device name or number, got {_kind(device)}")
    raw_rate = section.get_raw("capture_rate")
    if raw_rate in ("auto", None):
        section.take("capture_rate", None)
        capture_rate = None
    elif isinstance(raw_rate, str):
        raise ConfigError(f"audio.capture_rate: {raw_rate!r} is neither auto nor a rate in Hz")
    else:
        capture_rate = section.integer("capture_rate", None, 8000, 192000)
    settings = AudioSettings(
        seconds=section.number("seconds", 3.0, 0.5, 30.0),
        device=device,
        capture_rate=capture_rate,
        channels=section.integer("channels", 1, 1, 8),
        wav_file=section.path("wav_file"),
    )
    section.done(tuple(AudioSettings.__dataclass_fields__))
    return settings


def _led(section: _Section) -> LedSettings:
    """Validate the led section."""
    settings = LedSettings(
        pin=section.integer("pin", None, 0, 27),
        active_high=section.flag("active_high", True),
    )
    section.done(("pin", "active_high"))
    return settings


def _check_pins(
    buttons: tuple[ButtonSettings, ...], led: LedSettings, display: DisplaySettings
) -> None:
    """Refuse two devices on one GPIO, or a button on a pin the panel uses."""
    taken: dict[int, str] = {}
    panel_pins = set(DISPLAY_PINS) if display.type == DisplayType.INKY else set()
    if display.type == DisplayType.INKY and display.model in PANELS:
        panel_pins |= panel_by_name(display.model).pins()
    users = [(b.pin, f"button {b.name}") for b in buttons]
    if led.pin is not None:
        users.append((led.pin, "the LED"))
    for pin, user in users:
        if pin in panel_pins:
            raise ConfigError(f"{user}: GPIO {pin} is used by the e-paper panel")
        if pin in taken:
            raise ConfigError(f"{user}: GPIO {pin} is already used by {taken[pin]}")
        taken[pin] = user
