"""The real process `python -m dalle_frame_server --model test ...`, as scripts/stack.py runs it."""

from __future__ import annotations

import asyncio
import io
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import torch
from PIL import Image

from dalle_frame_server.__main__ import build_parser, settings_from_args
from dalle_frame_server.token_file import read_or_create_token
from tests.server.helpers import make_wav

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_process_serves_health_generate_and_transcribe(
    models_dir: Path, tmp_path: Path
) -> None:
    """Start the server as a process; it creates a 0600 token, gets ready, serves, stops cleanly."""
    port = _free_port()
    token_file = tmp_path / "secrets" / "token"
    log_path = tmp_path / "server.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - a long-running child, not a quick call
            [
                sys.executable,
                "-m",
                "dalle_frame_server",
                "--model",
                "test",
                "--asr-model",
                "test",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--models-dir",
                str(models_dir),
                "--token-file",
                str(token_file),
                "--threads",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            health = await _wait_ready(session, url, process, log_path)
            ready_seconds = time.monotonic() - started
            assert health["generator"]["model"] == "test"
            assert health["asr"]["ready"] is True
            assert token_file.stat().st_mode & 0o777 == 0o600
            token = token_file.read_text().strip()
            auth = {"Authorization": f"Bearer {token}"}

            async with session.post(
                f"{url}/v1/generate", json={"prompt": "a red car", "seed": 42}, headers=auth
            ) as response:
                assert response.status == 200
                image = Image.open(io.BytesIO(await response.read()))
                assert image.size == (256, 256)
            async with session.post(
                f"{url}/v1/transcribe",
                data=make_wav(1.0),
                headers={"Content-Type": "audio/wav", **auth},
            ) as response:
                assert response.status == 200
                assert set(await response.json()) == {
                    "text",
                    "language",
                    "audio_seconds",
                    "processing_seconds",
                }
            async with session.post(f"{url}/v1/generate", json={"prompt": "x"}) as response:
                assert response.status == 401
    finally:
        process.send_signal(signal.SIGTERM)
        return_code = process.wait(timeout=30)
    log_text = log_path.read_text()
    assert return_code == 0, log_text
    assert "test model: random weights, paints noise" in log_text
    if platform.libc_ver()[0] == "glibc":
        assert "glibc keeps freed memory for reuse" in log_text
    assert token not in log_text
    assert ready_seconds < 120, f"took {ready_seconds:.0f} s to get ready"


async def _wait_ready(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen, log_path: Path
) -> dict:
    """Poll health until ok; fail with the log when the process dies or takes too long."""
    async with asyncio.timeout(120):
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited:\n{_read(log_path)}")
            try:
                async with session.get(f"{url}/v1/health") as response:
                    health = await response.json()
                    if health["status"] == "ok":
                        return health
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)


def _read(path: Path) -> str:
    """Return a log file's text."""
    return path.read_text(errors="replace")


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["--queue-size", "0"], "--queue-size must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--port", "70000"], "--port must be 1..65535"),
        (["--dtype", "float16", "--device", "cpu"], "float16 only on CUDA"),
        pytest.param(
            ["--device", "cuda"],
            "no CUDA GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
        ),
        (["--device", "quantum"], "unknown torch device"),
        (["--download-url", "ftp://x/"], "http(s) URL"),
    ],
)
def test_settings_refuse_impossible_options(arguments: list[str], reason: str) -> None:
    """Each impossible option is refused with a reason."""
    args = build_parser().parse_args(["--model", "test", *arguments])
    with pytest.raises(ValueError, match=re.escape(reason)):
        settings_from_args(args)


def test_environment_variables_configure_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Containers configure the server with environment variables alone."""
    monkeypatch.setenv("DALLE_FRAME_MODEL", "mega")
    monkeypatch.setenv("DALLE_FRAME_QUEUE_SIZE", "7")
    monkeypatch.setenv("DALLE_FRAME_TOKEN", "from-env")
    monkeypatch.setenv("DALLE_FRAME_PORT", "9999")
    monkeypatch.setenv("DALLE_FRAME_ASR_MODEL", "none")
    monkeypatch.setenv("MIN_DALLE_BASE_URL", "http://mirror.invalid/min-dalle/")
    settings = settings_from_args(build_parser().parse_args([]))
    assert (settings.model, settings.queue_size, settings.token) == ("mega", 7, "from-env")
    assert (settings.port, settings.asr_model) == (9999, "none")
    assert settings.download_url == "http://mirror.invalid/min-dalle/"


def test_token_file_is_created_private_and_kept(tmp_path: Path) -> None:
    """A missing token file is created 0600 with a random token, then read as it is."""
    token_file = tmp_path / "data" / "token"
    first = read_or_create_token(token_file)
    assert len(first) >= 32
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert read_or_create_token(token_file) == first
    token_file.write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        read_or_create_token(token_file)


def test_command_line_exits_2_with_the_reason(tmp_path: Path) -> None:
    """The real command stops with exit code 2 and says why."""
    result = subprocess.run(
        [sys.executable, "-m", "dalle_frame_server", "--model", "test", "--queue-size", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "Cannot start: --queue-size must be at least 1" in result.stderr
