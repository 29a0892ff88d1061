"""The GPU server on arm64 (HA Green and Yellow, Raspberry Pi 5), run under qemu-user.

The arm64 root of scripts/arm_root.sh (Debian bookworm, its Python 3.11, the server's
dependencies as aarch64 wheels) runs the server's own code from the checkout. The add-on's
default configuration must work there: the exact `fast` backend, and int8 refused with its
reason (x86's int8 kernels do not exist on ARM) so that an `int8` choice falls back to `fast`.
The test models are built on the host first (the files are the same on every CPU), so only
start-up and serving run emulated; emulation is ~400x slower than native, so the first decoder steps
and a short clip are all that is asked (the full-size VQGAN would take over ten minutes), and
timings mean nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dalle_frame_server.asr.tiny_model import ensure_test_asr_model
from dalle_frame_server.generation.models.tiny_model import ensure_test_model
from tests.server.helpers import make_wav
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "arm_root.sh"
SERVER_PATH = str(ROOT / "addon_inference")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the arm64 root needs root")


def in_arm_root(*command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command in the arm64 root with the server's package on the path."""
    return subprocess.run(
        [str(SCRIPT), "run", "env", f"PYTHONPATH={SERVER_PATH}", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def arm_root() -> None:
    """Build the arm64 root once (cached outside the checkout)."""
    subprocess.run([str(SCRIPT), "build"], check=True, timeout=60 * 60)


@pytest.fixture(scope="module")
def models(arm_root: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test models, built on the host."""
    models_dir = tmp_path_factory.mktemp("arm-models")
    ensure_test_model(models_dir)
    ensure_test_asr_model(models_dir)
    return models_dir


def test_the_root_is_arm64_with_a_cpu_torch(arm_root: None) -> None:
    """Python reports aarch64 and torch is a CPU build: the programs really run as arm64."""
    probe = (
        "import json, platform, torch, onnxruntime;"
        "print(json.dumps([platform.machine(), torch.version.cuda,"
        " onnxruntime.get_available_providers()]))"
    )
    result = in_arm_root("python", "-c", probe)
    assert result.returncode == 0, result.stderr[-3000:]
    machine, cuda, providers = json.loads(result.stdout.strip().splitlines()[-1])
    assert machine == "aarch64"
    assert cuda is None
    assert "CPUExecutionProvider" in providers


def test_int8_is_refused_on_arm_with_its_reason(arm_root: None) -> None:
    """The CPU check names ARM, and the int8 path is refused without probing x86 kernels."""
    probe = (
        "import json;"
        "from dalle_frame_server.generation.min_dalle.kernels.cpu_isa import detect_cpu_isa;"
        "from dalle_frame_server.generation.min_dalle.kernels.int8_path import int8_path;"
        "path = int8_path(); print(json.dumps([str(detect_cpu_isa()), path.label]))"
    )
    result = in_arm_root("python", "-c", probe)
    assert result.returncode == 0, result.stderr[-3000:]
    isa, label = json.loads(result.stdout.strip().splitlines()[-1])
    assert isa == "not_x86"
    assert label.startswith("refused"), label
    assert "x86-64" in label, label


def test_fp16_is_refused_on_arm_with_its_reason(arm_root: None) -> None:
    """The fp16 drafts (fbgemm's fp16 GEMM) are refused on ARM as int8 is, naming the way out."""
    probe = (
        "from dalle_frame_server.generation.min_dalle.kernels.fp16 import fp16_refusal;"
        "print(fp16_refusal())"
    )
    result = in_arm_root("python", "-c", probe)
    assert result.returncode == 0, result.stderr[-3000:]
    refusal = result.stdout.strip().splitlines()[-1]
    assert "x86-64" in refusal and "--backend fast" in refusal, refusal


@pytest.fixture(scope="module")
def arm_server(models: Path) -> Iterator[str]:
    """The server in the arm64 root with the test models and `int8` asked for."""
    port = free_port()
    server = subprocess.Popen(  # its own process group: the server under the wrappers too
        [
            str(SCRIPT), "run", "env", f"PYTHONPATH={SERVER_PATH}",
            "python", "-m", "dalle_frame_server", "--model", "test", "--asr-model", "test",
            "--backend", "int8", "--models-dir", str(models), "--port", str(port),
            "--host", "127.0.0.1", "--threads", "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20 * 60
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                with urllib.request.urlopen(f"{base}/v1/health", timeout=10) as response:
                    if json.load(response)["status"] != "loading":
                        break
            except (OSError, ValueError):
                pass
            time.sleep(2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _health(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/v1/health", timeout=30) as response:
        return json.load(response)


def _post(url: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30 * 60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_server_starts_on_arm_with_fast_for_int8(arm_server: str) -> None:
    """Ready, with `fast` standing in for int8 and health saying why."""
    health = _health(arm_server)
    assert health["status"] == "ok", health
    generator = health["generator"]
    assert generator["backend"] == "fast"
    assert generator["int8_path"].startswith("refused"), generator


def test_server_transcribes_on_arm(arm_server: str) -> None:
    """ONNX Runtime's arm64 build transcribes a clip."""
    status, body = _post(f"{arm_server}/v1/transcribe", make_wav(0.5), "audio/wav")
    assert status == 200, body[:500]
    assert "text" in json.loads(body)


def test_server_steps_the_decoder_on_arm_and_cancels(arm_server: str) -> None:
    """The exact backend encodes and steps the decoder on ARM; leaving cancels the picture.

    A whole picture is not painted here: the full-size VQGAN alone takes over ten minutes under
    emulation. The progress stream shows the text encoder and the first decoder steps running
    on ARM; the client then leaves, and the server drops the request and stays healthy.
    """
    request = urllib.request.Request(
        f"{arm_server}/v1/generate",
        data=b'{"prompt": "a red barn", "seed": 3}',
        headers={"Content-Type": "application/json", "Accept": "application/x-ndjson"},
        method="POST",
    )
    steps: list[int] = []
    with urllib.request.urlopen(request, timeout=15 * 60) as response:
        assert response.status == 200
        for line in response:
            event = json.loads(line)
            assert event["type"] == "progress", event
            assert event["total"] == 256
            steps.append(event["step"])
            if len(steps) == 3:
                break
    assert steps == sorted(steps) and steps[-1] >= 3, steps
    deadline = time.monotonic() + 10 * 60
    while (health := _health(arm_server))["generator"]["queue"]["running"]:
        assert time.monotonic() < deadline, "the server kept painting after the client left"
        time.sleep(5)
    assert health["status"] == "ok", health
