"""Command line: python -m dalle_frame_satellite --config satellite.yaml [--debug]."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .audio import import_sounddevice
from .audio_devices import describe_inputs
from .config import load_config
from .errors import ConfigError, HomeAssistantError, SatelliteError
from .ha_check import check_home_assistant
from .satellite import Satellite
from .secret import REDACTED, RedactingFilter, read_token_file
from .settings import AudioSettings, SatelliteSettings

_LOGGER = logging.getLogger("dalle_frame_satellite")

EXIT_CONFIG = 2
"""Exit status for a config or token file problem (systemd does not restart on it)."""

EXIT_HOME_ASSISTANT = 3
"""Exit status of --check when Home Assistant is unreachable or rejects the token."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="dalle_frame_satellite",
        description="The dalle_frame e-paper frame: buttons, mic and display, through Home "
        "Assistant. The token lives in the file the config names, never on the command line.",
    )
    parser.add_argument("--config", type=Path, help="YAML config file (required to run)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the config and token file, log in to Home Assistant once, then exit "
        "(status 2: config or token file, 3: Home Assistant)",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective settings (token redacted), then exit",
    )
    parser.add_argument(
        "--list-devices",
        action="store_true",
        help="list the audio input devices, the rates they accept and the one the satellite "
        "would choose (with --config: under its audio settings), then exit",
    )
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    parser.add_argument(
        "--log-format",
        default="%(asctime)s %(levelname)s %(name)s: %(message)s",
        help="format of log lines (Python logging)",
    )
    parser.add_argument("--version", action="version", version=__version__)
    args = parser.parse_args(argv)
    if args.config is None and not args.list_devices:
        parser.error("--config is required")
    return args


def list_devices(config: Path | None) -> int:
    """Print the audio input devices and the choice; return the exit status."""
    try:
        audio = load_config(config).audio if config is not None else AudioSettings()
        sounddevice = import_sounddevice()
        print(describe_inputs(sounddevice, audio))
    except SatelliteError as err:
        _LOGGER.error("%s", err)
        return EXIT_CONFIG
    return 0


def settings_dump(settings: SatelliteSettings) -> dict[str, Any]:
    """Return the settings as plain data, with the token shown only as redacted."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, str):  # StrEnum members too
            return str(value)
        return value

    dump = plain(asdict(settings))
    dump["home_assistant"]["token"] = f"{REDACTED} (from {settings.home_assistant.token_file})"
    return dump


def configure_logging(args: argparse.Namespace, redactor: RedactingFilter) -> None:
    """Log to stderr (journald under systemd) with secrets scrubbed."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(args.log_format))
    handler.addFilter(redactor)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, handlers=[handler])
    logging.getLogger("PIL").setLevel(logging.INFO)  # per-chunk PNG debug lines are noise
    if not args.debug:
        logging.getLogger("aiohttp").setLevel(logging.WARNING)


async def _serve(satellite: Satellite) -> None:
    """Run the satellite until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await satellite.run(stop)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parse_args(argv)
    redactor = RedactingFilter()
    configure_logging(args, redactor)
    if args.list_devices:
        return list_devices(args.config)
    try:
        settings = load_config(args.config)
        token = read_token_file(settings.home_assistant.token_file)
        redactor.add(token)
    except SatelliteError as err:
        _LOGGER.error("%s", err)
        return EXIT_CONFIG
    if args.print_config:
        print(yaml.safe_dump(settings_dump(settings), sort_keys=False), end="")
        return 0
    if args.check:
        print(f"{args.config}: the config and the token file are valid")
        try:
            print(asyncio.run(check_home_assistant(settings.home_assistant, token)))
        except HomeAssistantError as err:
            _LOGGER.error("%s", err)
            return EXIT_HOME_ASSISTANT
        return 0
    _LOGGER.info("dalle_frame satellite %s starting", __version__)
    try:
        asyncio.run(_serve(Satellite(settings, redactor=redactor)))
    except SatelliteError as err:
        _LOGGER.error("%s", err)
        return EXIT_CONFIG if isinstance(err, ConfigError) else 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
