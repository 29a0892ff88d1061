"""Triton mode's image for real: built from addon_inference/Dockerfile.triton with podman, run.

The image is docker-compose.triton.yml's, built from the repository root with its CPU torch
and ONNX Runtime (scripts/addon_image.sh triton; the compose file builds the CUDA variant,
which is gigabytes of wheels and needs a GPU to mean anything). Three containers of it on the
host's network, as the compose file runs them: a Triton node with the test models (built by
the server environment, mounted as the node's model volume), the front with --triton-url,
and for comparison the single-process server. The front must answer health, paint the same
picture as the single-process server for the same seed, transcribe; the node must answer
Triton's readiness and metrics, and stop cleanly.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

import dalle_frame_server
from tests.server.helpers import make_wav
from tests.stack import free_port
from tests.triton.processes import build_test_models

from .podman import build_image, podman, post

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podman builds here need root")


@pytest.fixture(scope="module")
def image() -> str:
    """Build Triton mode's image (layers cached outside the checkout); return its tag."""
    return build_image("triton", "triton-tag")


def _get(url: str) -> tuple[int, bytes]:
    """GET: (status, body); (0, b"") while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _wait_healthy(base: str, name: str, limit: float = 240) -> dict:
    """Wait until /v1/health says ok; return it (the container's log on failure)."""
    deadline = time.monotonic() + limit
    health: dict = {}
    while time.monotonic() < deadline:
        status, body = _get(f"{base}/v1/health")
        if status == 200:
            health = json.loads(body)
            if health["status"] == "ok":
                return health
        time.sleep(0.5)
    raise AssertionError((health, podman("logs", name, check=False)[-4000:]))


@pytest.fixture(scope="module")
def stack(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A node, the front and the single-process server, each a container of the image."""
    models = tmp_path_factory.mktemp("triton-image-models")
    build_test_models(models)
    token = secrets.token_urlsafe(24)
    http, grpc, metrics, front, single = (free_port() for _ in range(5))
    suffix = os.getpid()
    names = {role: f"dalle-frame-triton-{role}-{suffix}" for role in ("node", "front", "single")}
    common = ["run", "--detach", "--network", "host", "--volume", f"{models}:/models"]
    server = ["python3", "-m", "dalle_frame_server", "--host", "127.0.0.1", f"--token={token}"]
    try:
        podman(
            *common, "--name", names["node"], image,
            "python3", "-m", "dalle_frame_server.triton.serve", "--model", "test",
            "--asr-model", "test", "--models-dir", "/models", "--threads", "2",
            "--host", "127.0.0.1", "--http-port", str(http), "--grpc-port", str(grpc),
            "--metrics-port", str(metrics),
        )  # fmt: skip
        podman(
            *common, "--name", names["front"], "--env", "DALLE_FRAME_TRITON_PROBE_SECONDS=1",
            image, *server, "--port", str(front), "--model", "test", "--asr-model", "test",
            "--models-dir", "/tmp/front-models", "--triton-url", f"grpc://127.0.0.1:{grpc}",
        )  # fmt: skip
        podman(
            *common, "--name", names["single"], image, *server, "--port", str(single),
            "--model", "test", "--asr-model", "none", "--models-dir", "/models",
            "--threads", "2",
        )  # fmt: skip
        front_base = f"http://127.0.0.1:{front}"
        yield {
            "names": names,
            "front": front_base,
            "front_health": _wait_healthy(front_base, names["front"]),
            "single": f"http://127.0.0.1:{single}",
            "node_http": f"http://127.0.0.1:{http}",
            "metrics": f"http://127.0.0.1:{metrics}/metrics",
            "auth": {"Authorization": f"Bearer {token}"},
        }
    finally:
        for name in names.values():
            podman("rm", "--force", "--time", "5", name, check=False)


def test_image_is_versioned_and_cpu_only(image: str) -> None:
    """The version label follows the server; CPU torch and ONNX Runtime; telemetry off."""
    (details,) = json.loads(podman("image", "inspect", image))
    assert (
        details["Config"]["Labels"]["org.opencontainers.image.version"]
        == dalle_frame_server.__version__
    )
    assert "ORT_DISABLE_TELEMETRY=1" in details["Config"]["Env"]
    probe = (
        "import json, numpy, onnxruntime, pytriton, torch;"
        "print(json.dumps({'cuda': torch.version.cuda, 'torch': torch.__version__,"
        "'numpy': numpy.__version__, 'providers': onnxruntime.get_available_providers()}))"
    )
    facts = json.loads(podman("run", "--rm", "--network", "none", image, "python3", "-c", probe))
    assert facts["cuda"] is None, facts
    assert facts["torch"].startswith("2.13.0") and facts["numpy"].startswith("1.26"), facts
    assert "CUDAExecutionProvider" not in facts["providers"]
    print(f"Triton image (CPU): {details['Size'] / 1e6:.0f} MB, torch {facts['torch']}")


def test_node_answers_triton_readiness_and_metrics(stack: dict) -> None:
    """Triton's own endpoints: ready, and Prometheus metrics naming the bound models."""
    status, _ = _get(f"{stack['node_http']}/v2/health/ready")
    assert status == 200
    status, body = _get(stack["metrics"])
    assert status == 200
    assert b'model="dalle_frame_generate"' in body


def test_front_paints_as_the_single_process_server(stack: dict) -> None:
    """Through the node the same seed gives the single-process server's PNG, byte for byte."""
    health = stack["front_health"]
    assert health["version"] == dalle_frame_server.__version__
    (node,) = health["generator"]["triton"]["nodes"]
    assert node["up"], node
    _wait_healthy(stack["single"], stack["names"]["single"])
    request = json.dumps({"prompt": "a lighthouse in a storm", "seed": 7}).encode()
    headers = {"Content-Type": "application/json", **stack["auth"]}
    status, response_headers, through_triton = post(
        f"{stack['front']}/v1/generate", request, headers
    )
    assert status == 200, through_triton[:500]
    assert through_triton.startswith(b"\x89PNG") and response_headers["X-Seed"] == "7"
    status, _, single = post(f"{stack['single']}/v1/generate", request, headers)
    assert status == 200, single[:500]
    assert through_triton == single
    status, _, _ = post(f"{stack['front']}/v1/generate", request, {})
    assert status == 401


def test_front_transcribes_through_the_node(stack: dict) -> None:
    """Speech goes to the node's ASR model and comes back as text."""
    status, _, body = post(
        f"{stack['front']}/v1/transcribe",
        make_wav(),
        {"Content-Type": "audio/wav", **stack["auth"]},
    )
    assert status == 200, body[:500]
    assert "text" in json.loads(body)


def test_node_stops_cleanly(stack: dict) -> None:
    """SIGTERM (podman stop) ends the node and its tritonserver within the grace period."""
    name = stack["names"]["node"]
    started = time.monotonic()
    podman("stop", "--time", "30", name)
    assert time.monotonic() - started < 30
    state = json.loads(podman("inspect", name))[0]["State"]
    assert state["Status"] == "exited"
    assert state["ExitCode"] in (0, 143), (state, podman("logs", name, check=False)[-2000:])
