"""The add-on's files: config.yaml against its schema, build files, pins, and run.sh for real."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiohttp import web

import dalle_frame_server
from dalle_frame_server.generation.min_dalle.backends import BACKEND_NAMES
from dalle_frame_server.settings import GENERATOR_MODELS
from dalle_frame_server.upscaling.loading import UPSCALER_CHOICES

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addon_inference"
REQUIRED_KEYS = ("name", "version", "slug", "description", "arch")


def _yaml(path: Path) -> dict:
    """Load a YAML file."""
    return yaml.safe_load(path.read_text(encoding="utf8"))


@pytest.fixture(scope="module")
def config() -> dict:
    """addon_inference/config.yaml."""
    return _yaml(ADDON / "config.yaml")


def test_config_has_the_required_keys_and_discovery(config: dict) -> None:
    """Required keys, a known architecture list, discovery of dalle_frame, no host port."""
    for key in REQUIRED_KEYS:
        assert config.get(key), key
    assert set(config["arch"]) <= {"aarch64", "amd64", "armhf", "armv7", "i386"}
    assert config["discovery"] == ["dalle_frame"]
    assert config["version"] == dalle_frame_server.__version__
    assert config["ports"] == {"8765/tcp": None}
    assert "8765/tcp" in config["ports_description"]
    assert re.fullmatch(r"[a-z0-9_]+", config["slug"])


def _valid(value: object, rule: str) -> bool:
    """Whether an option value satisfies a Supervisor schema rule."""
    rule = rule.removesuffix("?")
    if match := re.fullmatch(r"list\((.+)\)", rule):
        return value in match.group(1).split("|")
    if match := re.fullmatch(r"int\((-?\d*),(-?\d*)\)", rule):
        low, high = (int(bound) if bound else None for bound in match.groups())
        return (
            isinstance(value, int)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
    if match := re.fullmatch(r"match\((.+)\)", rule):
        return isinstance(value, str) and re.fullmatch(match.group(1), value) is not None
    if rule in ("str", "password"):
        return isinstance(value, str)
    raise AssertionError(f"rule {rule} not understood by this test")


def test_options_match_the_schema(config: dict) -> None:
    """Every option has a schema rule it satisfies; only optional rules lack an option."""
    options, schema = config["options"], config["schema"]
    assert set(options) <= set(schema)
    for key, rule in schema.items():
        if key in options:
            assert _valid(options[key], rule), (key, options[key], rule)
        else:
            assert rule.endswith("?"), f"{key} has no default but is not optional"
    assert schema["model"] == f"list({'|'.join(GENERATOR_MODELS)})"
    assert schema["backend"] == f"list({'|'.join(BACKEND_NAMES)})"
    assert schema["upscaler"] == f"list({'|'.join(UPSCALER_CHOICES)})"
    for device in ("auto", "cpu", "cuda", "cuda:1"):
        assert _valid(device, schema["device"])
    assert not _valid("gpu", schema["device"])
    for asr_model in ("none", "test", "wav2vec2-base-960h", "wav2vec2-large-960h-lv60-self"):
        assert _valid(asr_model, schema["asr_model"])
    assert not _valid("../etc", schema["asr_model"])


def test_docs_describe_every_option_and_its_choices(config: dict) -> None:
    """DOCS.md's options table has a row for every option, naming each choice of a list."""
    docs = (ADDON / "DOCS.md").read_text(encoding="utf8")
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `(\w+)` \| (.+) \|$", docs, re.MULTILINE)
    }
    for key, rule in config["schema"].items():
        assert key in rows, f"DOCS.md has no row for the option {key}"
        if choices := re.fullmatch(r"list\((.+)\)\??", rule):
            for choice in choices.group(1).split("|"):
                assert f"`{choice}`" in rows[key], (key, choice)


def test_every_option_is_translated(config: dict) -> None:
    """translations/en.yaml names and describes every option and the port."""
    translations = _yaml(ADDON / "translations" / "en.yaml")
    for key in config["schema"]:
        entry = translations["configuration"][key]
        assert entry["name"]
        assert entry["description"]
    assert set(translations["network"]) == set(config["ports"])


def test_build_files(config: dict) -> None:
    """2026 conventions: no build.yaml; base image, labels and CPU/CUDA choice in the Dockerfile."""
    assert not (ADDON / "build.yaml").exists()  # deprecated by the Supervisor since 2026-04
    dockerfile = (ADDON / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(.*)$", dockerfile, re.MULTILINE))
    assert dockerfile.index("ARG BUILD_FROM=") < dockerfile.index("FROM ${BUILD_FROM}")
    assert args["BUILD_FROM"] == "ghcr.io/home-assistant/${BUILD_ARCH}-base-debian:bookworm"
    assert args["BUILD_VERSION"] == config["version"]
    for label in ('io.hass.type="addon"', 'io.hass.arch="${BUILD_ARCH}"'):
        assert label in dockerfile
    assert 'io.hass.version="${BUILD_VERSION}"' in dockerfile
    assert f'io.hass.name="{config["name"]}"' in dockerfile
    assert 'CMD ["/run.sh"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile
    assert "ORT_DISABLE_TELEMETRY=1" in dockerfile  # no ONNX Runtime telemetry from the box
    pins = _pins((ROOT / "requirements" / "server.txt").read_text().splitlines())
    # The add-on is the CPU image: torch from PyTorch's CPU index (PyPI's is a CUDA build),
    # ONNX Runtime's CUDA build only for the GPU image.
    assert args["ACCELERATOR"] == "cpu"
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert args["TORCH_VERSION"] == pins["torch"]
    assert args["ONNXRUNTIME_VERSION"] == pins["onnxruntime"]
    assert '"onnxruntime-gpu==${ONNXRUNTIME_VERSION}"' in dockerfile


def _pins(lines: list[str]) -> dict[str, str]:
    """Return {name: version} of `name==version` lines."""
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip().strip('",')
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    return pins


def test_image_pins_equal_the_development_pins() -> None:
    """pyproject.toml (the image) pins exactly what requirements/server.txt pins."""
    pyproject = (ADDON / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [")[1].split("]")[0]
    assert _pins(dependencies.splitlines()) == _pins(
        (ROOT / "requirements" / "server.txt").read_text().splitlines()
    )


def test_only_one_file_is_called_config_yaml() -> None:
    """The Supervisor reads every config.yaml/json/yml in the repository as an add-on."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    configs = [
        path for path in listed if Path(path).name in ("config.yaml", "config.yml", "config.json")
    ]
    assert configs == ["addon_inference/config.yaml"]


def test_repository_yaml() -> None:
    """The add-on repository's metadata."""
    repository = _yaml(ROOT / "repository.yaml")
    assert {"name", "url", "maintainer"} <= set(repository)


def test_changelog_starts_with_this_version() -> None:
    """CHANGELOG.md's newest entry is the current version."""
    changelog = (ADDON / "CHANGELOG.md").read_text()
    assert re.search(r"^## (\S+)", changelog, re.MULTILINE).group(1) == (
        dalle_frame_server.__version__
    )


def test_docker_compose_uses_the_gpu_and_checks_health() -> None:
    """docker-compose.yml: NVIDIA runtime, env configuration the CLI knows, a healthcheck."""
    compose = _yaml(ADDON / "docker-compose.yml")
    (service,) = compose["services"].values()
    assert service["runtime"] == "nvidia"
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "/v1/health" in " ".join(service["healthcheck"]["test"])
    command_line = "".join(
        (ADDON / "dalle_frame_server" / name).read_text()
        for name in ("__main__.py", "model_options.py")
    )
    for variable in service["environment"]:
        assert f'"{variable}"' in command_line, f"{variable} is not read by the server"
    assert service["environment"]["DALLE_FRAME_BACKEND"] in BACKEND_NAMES
    assert service["image"] == f"dalle-frame-server:{dalle_frame_server.__version__}"
    build_args = service["build"]["args"]
    assert build_args["BUILD_VERSION"] == dalle_frame_server.__version__
    assert build_args["ACCELERATOR"] == "cuda"  # the GPU image: CUDA torch and ONNX Runtime
    assert build_args["TORCH_INDEX_URL"].startswith("https://download.pytorch.org/whl/cu")


def test_watchdog_watches_the_health_endpoint(config: dict) -> None:
    """The Supervisor's watchdog polls /v1/health on the add-on's port."""
    assert config["watchdog"] == "http://[HOST]:[PORT:8765]/v1/health"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_run_script_is_shellcheck_clean() -> None:
    """run.sh passes shellcheck."""
    result = subprocess.run(
        ["shellcheck", str(ADDON / "run.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def _free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_run_script_starts_the_server_and_announces_it(
    aiohttp_server, models_dir: Path, tmp_path: Path
) -> None:
    """run.sh reads options.json, makes a 0600 token, starts the server, sends discovery."""
    messages: list[tuple[str, dict]] = []
    received = asyncio.Event()

    async def discovery(request: web.Request) -> web.Response:
        messages.append((request.headers["Authorization"], await request.json()))
        received.set()
        return web.json_response({"result": "ok", "data": {"uuid": "abc"}})

    app = web.Application()
    app.router.add_post("/discovery", discovery)
    supervisor = await aiohttp_server(app)

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(models_dir)
    options = {
        "model": "test",
        "asr_model": "test",
        "device": "auto",
        "backend": "reference",
        "queue_size": 2,
        "threads": 0,
        "log_level": "info",
    }
    (data_dir / "options.json").write_text(json.dumps(options))
    port = _free_port()
    log_path = tmp_path / "run.log"
    env = {
        **os.environ,
        "DALLE_FRAME_DATA_DIR": str(data_dir),
        "DALLE_FRAME_SUPERVISOR_URL": str(supervisor.make_url("")).rstrip("/"),
        "DALLE_FRAME_PYTHON": sys.executable,
        "DALLE_FRAME_PORT": str(port),
        "DALLE_FRAME_HOST": "127.0.0.1",
        "SUPERVISOR_TOKEN": "supervisor-secret",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - a long-running child
            ["bash", str(ADDON / "run.sh")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        await asyncio.wait_for(received.wait(), 120)
    finally:
        process.send_signal(signal.SIGTERM)
        return_code = process.wait(timeout=30)
    log_text = log_path.read_text()
    token_file = data_dir / "token"
    token = token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert messages == [
        (
            "Bearer supervisor-secret",
            {
                "service": "dalle_frame",
                "config": {"host": socket.gethostname(), "port": port, "token": token},
            },
        )
    ]
    assert return_code == 0, log_text
    assert "queue 2" in log_text  # the option reached the server
    assert token not in log_text
