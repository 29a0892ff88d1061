"""The command line as systemd and the end-to-end tests run it: a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml

from dalle_frame_satellite import __version__
from tests.satellite.conftest import TIMEOUT, TOKEN, wait_until
from tests.satellite.fake_ha import palette_png


def write_config(tmp_path: Path, url: str, **extra) -> Path:
    """A config for the file display, fast reconnects and the control socket."""
    config = {
        "home_assistant": {
            "url": url,
            "token_file": "token",
            "reconnect_min_seconds": 0.05,
            "reconnect_max_seconds": 0.2,
        },
        "display": {"type": "file", "path": "frame.png"},
        "control_socket": "control.sock",
        **extra,
    }
    path = tmp_path / "satellite.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the CLI to completion; return (status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dalle_frame_satellite", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    return process.returncode, out.decode(), err.decode()


async def test_runs_connects_shows_and_presses(fake_ha, tmp_path, token_file) -> None:
    """The e2e contract: "Connected" line, "showing <path>" lines, "press B", clean SIGTERM."""
    await fake_ha.set_frame(palette_png(seed=1))
    fake_ha.generated_png = palette_png(seed=2)
    config = write_config(tmp_path, fake_ha.url)
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}  # pin_factory auto honours it
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dalle_frame_satellite", "--config", str(config), "--debug",
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    lines: list[str] = []

    async def collect() -> None:
        while line := await process.stderr.readline():
            lines.append(line.decode())

    reader = asyncio.create_task(collect())
    try:
        log = lambda: "".join(lines)  # noqa: E731
        await wait_until(lambda: "Connected to Home Assistant 2025.4.4" in log())
        showing = f"showing {tmp_path / 'frame.png'}"
        await wait_until(lambda: log().count(showing) == 1)
        first = (tmp_path / "frame.png").read_bytes()
        socket_reader, socket_writer = await asyncio.open_unix_connection(
            str(tmp_path / "control.sock")
        )
        socket_writer.write(b"press B\n")
        assert (await socket_reader.readline()) == b"ok\n"
        socket_writer.close()
        await wait_until(lambda: log().count(showing) == 2)
        assert (tmp_path / "frame.png").read_bytes() != first
        assert [c.service for c in fake_ha.calls] == ["new_prompt"]
    finally:
        process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), TIMEOUT)
        await reader
    assert status == 0
    assert "Stopped" in log()
    assert TOKEN not in log()


async def test_check_print_config_and_version(fake_ha, tmp_path, token_file) -> None:
    """--check validates, --print-config redacts the token, --version prints the version."""
    config = write_config(tmp_path, fake_ha.url)
    status, out, _ = await run_cli("--config", str(config), "--check")
    assert status == 0 and "valid" in out
    status, out, _ = await run_cli("--config", str(config), "--print-config")
    assert status == 0
    dumped = yaml.safe_load(out)
    assert dumped["home_assistant"]["token"] == f"********** (from {token_file})"
    assert dumped["display"]["path"] == str(tmp_path / "frame.png")
    assert TOKEN not in out
    status, out, _ = await run_cli("--version")
    assert status == 0 and out.strip() == __version__


async def test_bad_config_and_open_token_file_exit_with_the_reason(tmp_path, token_file) -> None:
    """Exit status 2 (systemd does not restart) and one clear line."""
    config = write_config(tmp_path, "http://127.0.0.1:1", display={"type": "flie"})
    status, _, err = await run_cli("--config", str(config))
    assert status == 2
    assert "display.type: 'flie' is not one of inky, file, mock (did you mean file?)" in err
    config = write_config(tmp_path, "http://127.0.0.1:1")
    token_file.chmod(0o644)
    status, _, err = await run_cli("--config", str(config))
    assert status == 2
    assert (
        f"is readable by other users (mode 0644); restrict it with: chmod 600 {token_file}" in err
    )
    assert TOKEN not in err
    status, _, err = await run_cli("--config", str(tmp_path / "none.yaml"))
    assert status == 2 and "does not exist" in err


async def test_display_failure_exits_with_the_reason(tmp_path, token_file) -> None:
    """No Inky board (no I2C here): exit status 1 and how to fix it."""
    config = write_config(tmp_path, "http://127.0.0.1:1", display={"type": "inky"})
    status, _, err = await run_cli("--config", str(config))
    assert status == 1
    assert "no Inky board found" in err
