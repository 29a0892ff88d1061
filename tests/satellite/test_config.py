"""The config file and the token file: defaults, validation with clear messages, permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dalle_frame_satellite.config import load_config, parse_config
from dalle_frame_satellite.errors import ConfigError
from dalle_frame_satellite.secret import Secret, read_token_file
from dalle_frame_satellite.settings import ButtonAction, DisplayType, FitMode

from .conftest import TOKEN

EXAMPLE = Path(__file__).parents[2] / "pi_satellite" / "satellite.example.yaml"
MINIMAL = {"home_assistant": {"url": "http://ha.local:8123", "token_file": "token"}}


def with_section(**sections: Any) -> dict[str, Any]:
    """The minimal config plus sections (home_assistant keys are merged)."""
    raw = {"home_assistant": dict(MINIMAL["home_assistant"])}
    for name, value in sections.items():
        if name == "home_assistant":
            raw[name].update(value)
        else:
            raw[name] = value
    return raw


def test_defaults(tmp_path) -> None:
    """Only url and token_file are needed; the rest follows the board and the integration."""
    settings = parse_config(MINIMAL, tmp_path)
    ha = settings.home_assistant
    assert ha.url == "http://ha.local:8123"
    assert ha.token_file == tmp_path / "token"  # relative to the config file's folder
    assert (ha.frame_entity, ha.stt_entity, ha.auto_mode_entity) == (
        "image.frame_frame",
        "stt.frame_speech_to_text",
        "switch.frame_auto_mode",
    )
    assert [(b.name, b.pin, b.action) for b in settings.buttons] == [
        ("A", 5, ButtonAction.REGENERATE),
        ("B", 6, ButtonAction.NEW_PROMPT),
        ("C", 16, ButtonAction.SPEAK),
        ("D", 24, ButtonAction.TOGGLE_AUTO_MODE),
    ]
    assert settings.display.type == DisplayType.INKY and settings.display.model == "auto"
    assert settings.display.fit == FitMode.CONTAIN
    assert settings.audio.seconds == 3.0 and not settings.led.enabled
    assert settings.control_socket is None


def test_example_config_is_valid() -> None:
    """The template install.sh installs is a valid config with the documented defaults."""
    settings = load_config(EXAMPLE)
    assert settings.home_assistant.token_file == Path("/etc/dalle-frame/token")
    assert settings == parse_config(
        {**yaml.safe_load(EXAMPLE.read_text()), "buttons": None}, EXAMPLE.parent
    )


def test_thirteen_inch_model_moves_button_c(tmp_path) -> None:
    """With the 13.3" model named, C defaults to GPIO 25 (16 is the panel's)."""
    settings = parse_config(
        with_section(display={"model": "inky_impression_spectra_13_3"}), tmp_path
    )
    assert {b.name: b.pin for b in settings.buttons}["C"] == 25


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "the file is empty"),
        ([1, 2], "the top level: expected a mapping of settings, got a list"),
        ({}, "home_assistant is required"),
        ({"home_assistant": {"url": "http://ha"}}, "home_assistant.token_file is required"),
        (with_section(home_assistant={"url": "ha.local:8123"}), "is not an http(s) URL"),
        (with_section(home_assistant={"url": "http://ha/?a=1"}), "give only scheme, host and port"),
        (with_section(home_assistant={"token": "abc"}), "the token does not belong in the config"),
        (with_section(home_assistant={"frame_entity": "frame"}), "is not an entity id"),
        (with_section(home_assistant={"stt_entity": "image.x"}), "is not in the stt domain"),
        (with_section(home_assistant={"reconnect_min_seconds": "soon"}), "expected a number"),
        (with_section(home_assistant={"heartbeat_seconds": 0}), "outside 0.2..3600"),
        (with_section(home_assistant={"verify_ssl": "yes"}), "expected true or false"),
        (with_section(home_assistant={"urll": "x"}), "urll: unknown setting (did you mean url?)"),
        (with_section(dispaly={}), "dispaly: unknown setting (did you mean display?)"),
        (with_section(display={"type": "fille"}), "'fille' is not one of inky, file, mock"),
        (with_section(display={"type": "file"}), "display.path is required for the file display"),
        (with_section(display={"model": "impression_5_7"}), "did you mean inky_impression_5_7?"),
        (with_section(display={"saturation": 1.5}), "display.saturation: 1.5 is outside 0..1"),
        (with_section(display={"rotate": 45}), "display.rotate: 45 is not one of 0, 90"),
        (with_section(display={"fit": "fill"}), "display.fit: 'fill' is not one of contain"),
        (with_section(buttons={"A": {"pin": 6}}), "button B: GPIO 6 is already used by button A"),
        (with_section(buttons={"A": {"pin": 17}}), "button A: GPIO 17 is used by the e-paper"),
        (with_section(buttons={"A": {"pin": 40}}), "buttons.A.pin: 40 is outside 0..27"),
        (with_section(buttons={"A": {"action": "paint"}}), "'paint' is not one of regenerate"),
        (with_section(buttons={"E": {"pin": 23}}), "buttons.E.action is required"),
        (with_section(buttons={"E": {"action": "speak"}}), "buttons.E.pin is required"),
        (with_section(buttons={"A B": {"pin": 23}}), "a button name is 1-16 letters"),
        (with_section(buttons=[5, 6]), "buttons: expected a mapping like A: {pin: 5}"),
        (with_section(led={"pin": 5}), "the LED: GPIO 5 is already used by button A"),
        (with_section(gpio={"pin_factory": "rpi"}), "'rpi' is not one of auto, gpiod, lgpio"),
        (with_section(audio={"seconds": 120}), "audio.seconds: 120 is outside 0.5..30"),
        (with_section(audio={"device": ["x"]}), "audio.device: expected a device name or number"),
        (with_section(audio={"channels": 1.5}), "audio.channels: expected a whole number"),
        (with_section(state_file=5), "state_file: expected a file path"),
    ],
)
def test_bad_config_gives_a_clear_error(tmp_path, raw, message) -> None:
    """Each mistake names the setting and what is wrong with it."""
    with pytest.raises(ConfigError) as error:
        parse_config(raw, tmp_path)
    assert message in str(error.value)


def test_config_file_problems(tmp_path) -> None:
    """Missing file, broken YAML (with the line), binary junk: the file is named."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("home_assistant:\n  url: [http://x\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: .* at line 3"):
        load_config(broken)
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(junk)


def test_token_file_must_be_private(tmp_path) -> None:
    """Group- or world-readable token files are refused with the chmod to run."""
    path = tmp_path / "token"
    path.write_text(TOKEN)
    for mode in (0o644, 0o640, 0o604, 0o660):
        path.chmod(mode)
        with pytest.raises(ConfigError) as error:
            read_token_file(path)
        assert f"readable by other users (mode {mode:04o})" in str(error.value)
        assert f"chmod 600 {path}" in str(error.value)
        assert TOKEN not in str(error.value)
    path.chmod(0o600)
    assert read_token_file(path) == Secret(TOKEN)
    path.chmod(0o400)
    assert read_token_file(path).reveal() == TOKEN


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"abc def\n", "must hold the token alone"),
        ("t\u00f6ken".encode(), "non-ASCII"),
        (b"x" * 5000, "larger than a token"),
    ],
)
def test_token_file_content(tmp_path, content, message) -> None:
    """Empty, multi-word, non-ASCII or huge token files are refused."""
    path = tmp_path / "token"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=message):
        read_token_file(path)


def test_missing_token_file_says_how_to_make_one(tmp_path) -> None:
    """The message explains where a long-lived token comes from."""
    with pytest.raises(ConfigError, match=r"long-lived access token.*mode 0600"):
        read_token_file(tmp_path / "nope")
    with pytest.raises(ConfigError, match="not a regular file"):
        read_token_file(tmp_path)


@pytest.mark.parametrize(
    ("audio", "rate"),
    [({}, None), ({"capture_rate": "auto"}, None), ({"capture_rate": 48000}, 48000)],
    ids=["default", "auto", "fixed"],
)
def test_capture_rate_is_auto_unless_fixed(tmp_path, audio, rate) -> None:
    """audio.capture_rate: auto (None) lets the microphone's own rates decide."""
    assert parse_config(with_section(audio=audio), tmp_path).audio.capture_rate == rate
    with pytest.raises(ConfigError, match="'fast' is neither auto nor a rate in Hz"):
        parse_config(with_section(audio={"capture_rate": "fast"}), tmp_path)


def test_gpiod_is_a_pin_factory(tmp_path) -> None:
    """gpio.pin_factory: gpiod (the edge-event buttons) is taken as written."""
    settings = parse_config(with_section(gpio={"pin_factory": "gpiod"}), tmp_path)
    assert settings.gpio.pin_factory == "gpiod"
