"""Settings of the satellite: frozen dataclasses, one per concern, filled from the config file."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class ButtonAction(StrEnum):
    """What a frame button does."""

    REGENERATE = "regenerate"
    """Call dalle_frame.regenerate: the current prompt with a new seed."""

    NEW_PROMPT = "new_prompt"
    """Call dalle_frame.new_prompt: a new prompt from the list."""

    SPEAK = "speak"
    """Record a spoken prompt, transcribe it with HA's STT, call dalle_frame.generate with it."""

    TOGGLE_AUTO_MODE = "toggle_auto_mode"
    """Toggle the frame's Auto mode switch."""

    NONE = "none"
    """Do nothing (the button is not set up)."""


class DisplayType(StrEnum):
    """Where pictures go."""

    INKY = "inky"
    """A Pimoroni Inky Impression e-paper panel on SPI."""

    FILE = "file"
    """A PNG file, rewritten for each picture (demos, tests, use without a panel)."""

    MOCK = "mock"
    """inky's simulator window (needs a desktop: Tk and $DISPLAY)."""


class FitMode(StrEnum):
    """How an image of another size is fitted to the panel (HA's Frame image needs none)."""

    CONTAIN = "contain"
    """Scale to fit inside, pad with white."""

    COVER = "cover"
    """Scale to fill, crop the overflow."""

    STRETCH = "stretch"
    """Scale each side to the panel's, ignoring the aspect ratio."""


@dataclass(frozen=True)
class HomeAssistantSettings:
    """How to reach Home Assistant and which entities belong to this frame."""

    url: str
    """Base URL of Home Assistant, e.g. http://homeassistant.local:8123."""

    token_file: Path
    """File holding the long-lived access token (mode 0600)."""

    frame_entity: str = "image.frame_frame"
    """The integration's "Frame" image entity: the art rendered for the panel."""

    stt_entity: str = "stt.frame_speech_to_text"
    """STT entity that transcribes spoken prompts (any HA STT entity works)."""

    auto_mode_entity: str = "switch.frame_auto_mode"
    """The frame's Auto mode switch, toggled by its button."""

    config_entry_id: str | None = None
    """Config entry of this frame; None: looked up from the Frame entity, or omitted."""

    language: str = "en"
    """Language of spoken prompts, sent to the STT entity."""

    verify_ssl: bool = True
    """Check the TLS certificate of an https:// Home Assistant."""

    reconnect_min_seconds: float = 1.0
    """First wait before reconnecting; doubles on each failure."""

    reconnect_max_seconds: float = 60.0
    """Longest wait between reconnection attempts."""

    heartbeat_seconds: float = 30.0
    """WebSocket ping interval; a connection without a pong in half of it is dropped."""

    request_timeout_seconds: float = 30.0
    """Limit for connecting, authenticating, fetching an image and other short requests."""

    service_timeout_seconds: float = 600.0
    """Limit for a generation service call (generation on a CPU can take minutes)."""

    report_interval_seconds: float = 60.0
    """How often the satellite reports its health to its frame in HA (also after each refresh
    and each reconnection); HA counts it offline after three intervals without one. 0: off."""

    satellite_id: str | None = None
    """This satellite's name in its reports; None: the host name."""


@dataclass(frozen=True)
class ButtonSettings:
    """One frame button."""

    name: str
    """Label printed on the board (A-D), used in logs and by the control socket."""

    pin: int
    """BCM GPIO number."""

    action: ButtonAction
    """What a press does."""


@dataclass(frozen=True)
class GpioSettings:
    """GPIO access for buttons and the LED."""

    pin_factory: str = "auto"
    """auto or gpiod: gpiod edge events (auto yields to GPIOZERO_PIN_FACTORY when set); mock:
    gpiozero's mock pins (no hardware); lgpio, rpigpio, pigpio, native: gpiozero's factories."""

    debounce_seconds: float = 0.5
    """Presses of the same button closer together than this are ignored."""


@dataclass(frozen=True)
class AudioSettings:
    """The microphone for spoken prompts."""

    seconds: float = 3.0
    """How long a spoken prompt is recorded."""

    device: str | int | None = None
    """sounddevice input device (number, or part of its name); None: the first that records."""

    capture_rate: int | None = None
    """Sample rate the microphone records at (resampled to 16 kHz for HA); None: auto, the
    first of 16, 48, 44.1, 32, 22.05 and 96 kHz the device accepts."""

    channels: int = 1
    """Channels the microphone records; mixed down to mono for HA."""

    wav_file: Path | None = None
    """Use this WAV file (16-bit PCM) instead of a microphone: for demos and tests."""


@dataclass(frozen=True)
class DisplaySettings:
    """The panel (or its stand-in) and how pictures are prepared for it."""

    type: DisplayType = DisplayType.INKY
    """inky, file or mock."""

    model: str = "auto"
    """Panel model (see panels.PANELS); auto: read the board's EEPROM (inky only)."""

    saturation: float = 0.5
    """Palette blend for images that are not already panel-ready (0 = pure, 1 = measured)."""

    fit: FitMode = FitMode.CONTAIN
    """How images of another size are fitted."""

    rotate: int = 0
    """Degrees clockwise to turn each image first (0, 90, 180, 270): a frame hung in portrait."""

    path: Path | None = None
    """Output PNG of the file display."""


@dataclass(frozen=True)
class LedSettings:
    """The optional status LED (GPIO 13 on Inky Impression Spectra boards)."""

    pin: int | None = None
    """BCM GPIO number; None: no LED."""

    active_high: bool = True
    """Whether driving the pin high lights the LED."""

    @property
    def enabled(self) -> bool:
        """True when an LED pin is configured."""
        return self.pin is not None


@dataclass(frozen=True)
class SatelliteSettings:
    """Everything the satellite needs, as validated from the config file."""

    home_assistant: HomeAssistantSettings
    """Connection and entities."""

    display: DisplaySettings = field(default_factory=DisplaySettings)
    """The panel."""

    buttons: tuple[ButtonSettings, ...] = ()
    """The frame buttons."""

    gpio: GpioSettings = field(default_factory=GpioSettings)
    """Pin factory and debouncing."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    """Microphone."""

    led: LedSettings = field(default_factory=LedSettings)
    """Status LED."""

    state_file: Path | None = None
    """JSON file remembering the picture on the panel, so a restart does not refresh it again."""

    control_socket: Path | None = None
    """Testing/automation aid: a UNIX socket accepting "press A" lines. Off when None."""
