"""The add-on image for real: built from addon_inference/Dockerfile with podman, then run.

The image is built as the Supervisor builds it for amd64 (scripts/addon_image.sh: a Debian
bookworm base made with debootstrap, since the registry's base cannot be pulled here; torch's
CPU wheel from the host's wheel folder instead of PyTorch's index). The container runs the
add-on's own run.sh with an options.json choosing the test models, on the host's network,
and must answer health, paint, transcribe, keep its token private and stop cleanly. The
AppArmor profile cannot be enforced here (this kernel has no AppArmor): it is compiled by
apparmor_parser, and every file the running server has mapped or open must fall under one
of its rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.server.helpers import make_wav
from tests.stack import free_port

from .podman import ROOT, build_image, podman, post

ADDON = ROOT / "addon_inference"
CONFIG = yaml.safe_load((ADDON / "config.yaml").read_text(encoding="utf8"))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podman builds here need root")


@pytest.fixture(scope="module")
def image() -> str:
    """Build the add-on image (layers cached outside the checkout); return its tag."""
    return build_image("build", "tag")


@pytest.fixture(scope="module")
def inspected(image: str) -> dict:
    """`podman image inspect` of the add-on image."""
    (details,) = json.loads(podman("image", "inspect", image))
    return details


def test_image_carries_the_add_on_labels(inspected: dict) -> None:
    """io.hass labels from the Dockerfile (no build.yaml), the add-on's version and name."""
    labels = inspected["Config"]["Labels"]
    assert labels["io.hass.type"] == "addon"
    assert labels["io.hass.arch"] == "amd64"
    assert labels["io.hass.version"] == CONFIG["version"]
    assert labels["io.hass.name"] == CONFIG["name"]
    assert "ORT_DISABLE_TELEMETRY=1" in inspected["Config"]["Env"]
    assert inspected["Config"]["Cmd"] == ["/run.sh"]
    health = inspected["Healthcheck"]["Test"]  # kept: built with --format docker
    assert "/v1/health" in " ".join(health)


def test_image_is_cpu_only(image: str, inspected: dict) -> None:
    """A CPU build of torch, ONNX Runtime's CPU build, no CUDA libraries at all."""
    probe = (
        "import importlib.metadata as m, json, onnxruntime, torch;"
        "print(json.dumps({'cuda': torch.version.cuda, 'torch': torch.__version__,"
        "'providers': onnxruntime.get_available_providers(),"
        "'nvidia': sorted(d.metadata['Name'] for d in m.distributions()"
        " if d.metadata['Name'].lower().startswith(('nvidia', 'onnxruntime-gpu')))}))"
    )
    facts = json.loads(podman("run", "--rm", "--network", "none", image, "python3", "-c", probe))
    assert facts["cuda"] is None, facts
    assert facts["torch"].startswith("2.13.0"), facts
    assert "CUDAExecutionProvider" not in facts["providers"]
    assert facts["nvidia"] == []
    size_mb = inspected["Size"] / 1e6
    print(f"add-on image: {size_mb:.0f} MB, torch {facts['torch']}")
    assert size_mb < 2500, f"{size_mb:.0f} MB: CUDA libraries crept in?"


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def container(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The add-on container with the test models, serving on a free port of the host."""
    data = tmp_path_factory.mktemp("addon-data")
    options = {**CONFIG["options"], "model": "test", "asr_model": "test", "threads": 2}
    (data / "options.json").write_text(json.dumps(options), encoding="utf8")
    port = free_port()
    name = f"dalle-frame-addon-test-{os.getpid()}"
    podman(
        "run", "--detach", "--name", name, "--network", "host",
        "--volume", f"{data}:/data", "--env", f"DALLE_FRAME_PORT={port}", image,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        health: dict = {}
        while time.monotonic() < deadline:
            try:
                health = _get_json(f"{base}/v1/health")
                if health["status"] != "loading":
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        assert health.get("status") == "ok", (health, podman("logs", name, check=False))
        yield {"name": name, "base": base, "data": data, "health": health}
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)


def test_container_serves_health_generation_and_speech(container: dict) -> None:
    """run.sh reads the options, makes a private token, and the server paints and listens."""
    health = container["health"]
    assert health["version"] == CONFIG["version"]
    assert health["generator"]["model"] == "test"
    assert health["generator"]["device"] == "cpu"
    token_file = container["data"] / "token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, body = post(
        f"{container['base']}/v1/generate",
        json.dumps({"prompt": "a lighthouse in a storm", "seed": 7}).encode(),
        {"Content-Type": "application/json", **auth},
    )
    assert status == 200, body[:500]
    assert body.startswith(b"\x89PNG")
    assert headers["X-Seed"] == "7"
    status, _, body = post(
        f"{container['base']}/v1/transcribe", make_wav(), {"Content-Type": "audio/wav", **auth}
    )
    assert status == 200, body[:500]
    assert "text" in json.loads(body)
    status, _, _ = post(
        f"{container['base']}/v1/generate", b'{"prompt": "x"}', {"Content-Type": "application/json"}
    )
    assert status == 401
    logs = podman("logs", container["name"])
    assert token not in logs
    podman("healthcheck", "run", container["name"])  # the image's HEALTHCHECK: healthy


def _profile_rules() -> list[tuple[re.Pattern[str], str]]:
    """The profile's file rules as (regular expression, permissions)."""
    text = (ADDON / "apparmor.txt").read_text(encoding="utf8")
    rules = []
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(/\S*|@\{PROC\}\S*)\s+([rwkmixl]+),", line)
        if match:
            rules.append((_glob_to_regex(match.group(1)), match.group(2)))
    return rules


_GLOB = {"*": "[^/]*", "{": "(?:", "}": ")", ",": "|", "?": "[^/]"}


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    """AppArmor's globbing: ** any path, * within a component, {a,b} alternatives."""
    glob = glob.replace("@{PROC}", "/proc").replace("@{pid}", "[0-9]+").replace("@{tid}", "[0-9]+")
    out, index = "", 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**", index):
            out, index = out + ".*", index + 2
            continue
        if glob.startswith("[0-9]+", index):
            out, index = out + "[0-9]+", index + 6
            continue
        out += _GLOB.get(char, re.escape(char))
        index += 1
    return re.compile(out)


def _server_pid(container: dict) -> int:
    """The host PID of the server (run.sh's python child)."""
    run_pid = int(podman("inspect", "--format", "{{.State.Pid}}", container["name"]).strip())
    for task in Path(f"/proc/{run_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"dalle_frame_server" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    raise AssertionError("no server process under run.sh")


@pytest.mark.skipif(shutil.which("apparmor_parser") is None, reason="apparmor not installed")
def test_apparmor_profile_compiles_and_covers_what_the_server_uses(container: dict) -> None:
    """apparmor_parser accepts the profile; every file the server maps or holds is allowed."""
    result = subprocess.run(
        ["apparmor_parser", "--skip-kernel-load", "--quiet", str(ADDON / "apparmor.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(rf"profile {CONFIG['slug']} ", (ADDON / "apparmor.txt").read_text())
    pid = _server_pid(container)
    used: set[str] = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            used.add(fields[5].removesuffix(" (deleted)"))
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("/"):
            used.add(target.removesuffix(" (deleted)"))
    rules = _profile_rules()
    uncovered = sorted(
        path
        for path in used
        if not path.startswith("/memfd:")
        and not any(pattern.fullmatch(path) for pattern, _ in rules)
    )
    assert len(used) > 20
    assert uncovered == [], f"files the server uses that the profile does not allow: {uncovered}"


def test_container_stops_cleanly(container: dict) -> None:
    """SIGTERM (podman stop) ends run.sh and the server within the grace period."""
    started = time.monotonic()
    podman("stop", "--time", "20", container["name"])
    assert time.monotonic() - started < 20
    state = json.loads(podman("inspect", container["name"]))[0]["State"]
    assert state["Status"] == "exited"
    assert state["ExitCode"] in (0, 143), state
