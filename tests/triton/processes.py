"""Triton nodes and the Triton-mode front as processes on 127.0.0.1 (the triton environment)."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.stack import HOST, ROOT, VENVS, Process, free_port, wait_for

TRITON_PYTHON = VENVS / "triton" / "bin" / "python"
SERVER_PYTHON = VENVS / "server" / "bin" / "python"


def build_test_models(models_dir: Path) -> None:
    """Build the test generator and test ASR model once, in the server environment.

    The triton environment has no transformers/onnx (they need numpy 2): it opens the files.
    """
    subprocess.run(
        [
            str(SERVER_PYTHON),
            "-c",
            "import sys; from pathlib import Path; "
            "from dalle_frame_server.generation.models.tiny_model import ensure_test_model; "
            "from dalle_frame_server.asr.tiny_model import ensure_test_asr_model; "
            "ensure_test_model(Path(sys.argv[1])); ensure_test_asr_model(Path(sys.argv[1]))",
            str(models_dir),
        ],
        check=True,
        cwd=ROOT,
    )


@dataclass
class TritonNodeProcess:
    """`python -m dalle_frame_server.triton.serve` with the test models."""

    name: str
    work_dir: Path
    models_dir: Path
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    model: str = "test"
    asr_model: str = "test"
    extra_args: list[str] = field(default_factory=list)
    process: Process | None = None

    @property
    def url(self) -> str:
        """The node's gRPC address as --triton-url takes it."""
        return f"grpc://{HOST}:{self.grpc_port}"

    def start(self) -> None:
        """Start the node (it loads the models, then starts tritonserver)."""
        self.process = Process(
            self.name,
            [
                str(TRITON_PYTHON), "-m", "dalle_frame_server.triton.serve",
                "--model", self.model, "--asr-model", self.asr_model,
                "--models-dir", str(self.models_dir),
                "--host", HOST, "--http-port", str(self.http_port),
                "--grpc-port", str(self.grpc_port), "--metrics-port", str(self.metrics_port),
                *self.extra_args,
            ],
            self.work_dir / f"{self.name}.log",
        )  # fmt: skip
        self.process.start()

    async def wait_ready(self, session: aiohttp.ClientSession, limit: float = 180) -> None:
        """Wait until Triton's own readiness endpoint answers 200."""

        async def ready() -> bool:
            url = f"http://{HOST}:{self.http_port}/v2/health/ready"
            async with session.get(url) as response:
                return response.status == 200

        await wait_for(ready, f"{self.name}'s readiness", limit, self.process)

    def kill(self) -> None:
        """Kill the node at once (a crash): tritonserver and the Python process."""
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        """Stop the node."""
        if self.process is not None:
            self.process.stop(timeout=40)


@dataclass
class TritonFrontProcess:
    """The normal server with --triton-url, run from the triton environment."""

    work_dir: Path
    node_urls: list[str]
    probe_seconds: float = 2.0
    python: Path = TRITON_PYTHON
    """The server's interpreter (the server environment's runs the single-process server)."""
    models_dir: Path | None = None
    """Where the models are (only the single-process server, without nodes, loads them)."""
    extra_args: list[str] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        """Base URL of the front."""
        return f"http://{HOST}:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The bearer token header."""
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        """Start the front (it answers health at once, 503 until a node is up)."""
        urls = [arg for url in self.node_urls for arg in ("--triton-url", url)]
        self.process = Process(
            "front",
            [
                str(self.python), "-m", "dalle_frame_server", "--model", "test",
                "--asr-model", "test",
                "--models-dir", str(self.models_dir or self.work_dir / "front-models"),
                "--host", HOST, "--port", str(self.port), f"--token={self.token}",
                *urls, *self.extra_args,
            ],
            self.work_dir / "front.log",
            env={"DALLE_FRAME_TRITON_PROBE_SECONDS": str(self.probe_seconds)},
        )  # fmt: skip
        self.process.start()

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """Return /v1/health."""
        async with session.get(f"{self.url}/v1/health") as response:
            body: dict[str, Any] = await response.json()
            return body

    async def wait_nodes_up(self, session: aiohttp.ClientSession, count: int) -> None:
        """Wait until health is ok and `count` nodes are up."""

        async def check() -> bool:
            body = await self.health(session)
            nodes = (body["generator"].get("triton") or {}).get("nodes", [])
            return body["status"] == "ok" and sum(node["up"] for node in nodes) == count

        await wait_for(check, f"{count} Triton node(s) up behind the front", 120, self.process)

    def stop(self) -> None:
        """Stop the front."""
        if self.process is not None:
            self.process.stop()
