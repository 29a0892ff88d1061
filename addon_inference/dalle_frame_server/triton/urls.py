"""Checking --triton-url values where the server starts (no tritonclient needed for that)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec


def parse_node_url(url: str) -> str:
    """Return the gRPC target ("host:port") of a --triton-url; ValueError when it is not one."""
    target = url.strip().removeprefix("grpc://")
    host, _, port = target.rpartition(":")
    if "/" in target or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"--triton-url must be a Triton node's gRPC address such as grpc://gpu-box:8001 or "
            f"gpu-box:8001, not {url!r}"
        )
    return target


def check_triton_urls(urls: Sequence[str]) -> None:
    """Raise ValueError for a malformed URL, or when this environment lacks tritonclient."""
    for url in urls:
        parse_node_url(url)
    if find_spec("tritonclient") is None:
        raise ValueError(
            "--triton-url needs tritonclient (gRPC): run the server from the triton "
            "environment (scripts/setup.sh triton, then .venvs/triton/bin/python -m "
            "dalle_frame_server ...) or pip install -r requirements/triton.txt"
        )
