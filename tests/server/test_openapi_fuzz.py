"""Schemathesis against the server's own OpenAPI document: no 5xx, every answer as documented.

The server runs in a thread of this process (so the test can hold its generation queue) on
127.0.0.1 with the test models. Two phases:

- every operation fuzzed with valid and invalid data while the generation queue is full (one
  generation held at a gate, one waiting), so valid generate requests get the documented 429
  at once and the fuzzing stays fast;
- a few valid generate requests painted for real (grid_size pinned to 1: a grid of 9 takes
  ~30 s on this CPU), each checked against the document.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
import torch
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.requests import REQUESTS_TRANSPORT
from schemathesis.transport.serialization import serialize_binary

from dalle_frame_server import __version__
from dalle_frame_server.api.app import create_app
from dalle_frame_server.api.openapi import openapi_document
from dalle_frame_server.api.state import STATE, ServerState
from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.settings import ServerSettings
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import HookedBackend

STATUSES: Counter[tuple[str, int]] = Counter()
"""(operation, status) of every fuzzed request, for the summary test."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
schema = schemathesis.openapi.from_dict(openapi_document(__version__, token_required=True))
valid_only = schemathesis.openapi.from_dict(
    openapi_document(__version__, token_required=True),
    config=SchemathesisConfig.from_dict(
        {
            "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}},
            "generation": {"mode": "positive"},
        }
    ),
)


@REQUESTS_TRANSPORT.serializer("audio/wav")
def _wav_body(context: object, value: object) -> dict[str, bytes]:
    """Send generated audio/wav bodies as raw bytes, as application/octet-stream is sent."""
    return {"data": serialize_binary(value)}


@dataclass
class ThreadedServer:
    """An app served by its own event loop in a thread, reachable at `url`."""

    app: web.Application
    url: str = ""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve on a free port; return once it listens."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        started = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self.app)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
            started.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fuzzed server", daemon=True)
        self._thread.start()
        assert started.wait(30)

    def stop(self) -> None:
        """Stop the loop and the thread."""
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(60)

    @property
    def state(self) -> ServerState:
        """The app's shared state."""
        return self.app[STATE]


def _server(models_dir, test_modules, test_transcriber, backend, queue_size) -> ThreadedServer:
    """Start a threaded server over the session's test models, and wait until it is ready."""

    async def load_generator(settings, slot):
        return MinDalleGenerator(
            test_modules,
            backend,
            model_name="test",
            device=torch.device("cpu"),
            dtype=torch.float32,
        )

    async def load_transcriber(settings, slot):
        return test_transcriber

    settings_ = ServerSettings(
        models_dir=models_dir, model="test", asr_model="test", token=TOKEN, queue_size=queue_size
    )
    server = ThreadedServer(
        create_app(settings_, generator_loader=load_generator, transcriber_loader=load_transcriber)
    )
    server.start()
    _poll(lambda: requests.get(f"{server.url}/v1/health", timeout=5).json()["status"] == "ok")
    return server


def _poll(condition) -> None:
    """Wait until condition() holds (at most a minute)."""
    for _ in range(1200):
        if condition():
            return
        threading.Event().wait(0.05)
    raise AssertionError("timed out waiting for the fuzzed server")


@pytest.fixture(scope="module")
def busy_server(models_dir, test_modules, test_transcriber) -> Iterator[ThreadedServer]:
    """A server whose queue (size 1) is full: one generation held at a gate, one waiting."""
    from dalle_frame_server.generation.backend import make_backend

    backend = HookedBackend(make_backend("reference", test_modules), gate_timeout=1800)
    backend.close_gate()
    server = _server(models_dir, test_modules, test_transcriber, backend, queue_size=1)
    blockers = [
        threading.Thread(
            target=requests.post,
            args=(f"{server.url}/v1/generate",),
            kwargs={"json": {"prompt": "held", "seed": seed}, "headers": AUTH, "timeout": 300},
        )
        for seed in (1, 2)
    ]
    blockers[0].start()
    _poll(lambda: backend.decode_seeds == [1])  # the first is held at the gate
    blockers[1].start()
    _poll(lambda: server.state.queue.waiting == 1)  # the second waits: the queue is full
    yield server
    # Let the held requests end quickly: fail them rather than paint them.
    backend.failures = [RuntimeError("fuzzing is over")] * 2
    backend.open_gate()
    for blocker in blockers:
        blocker.join(60)
    server.stop()


@pytest.fixture(scope="module")
def idle_server(models_dir, test_modules, test_transcriber) -> Iterator[ThreadedServer]:
    """A server with nothing queued, for generations painted for real."""
    from dalle_frame_server.generation.backend import make_backend

    backend = HookedBackend(make_backend("reference", test_modules))
    server = _server(models_dir, test_modules, test_transcriber, backend, queue_size=4)
    yield server
    server.stop()


FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_valid_and_invalid_data(case, busy_server: ThreadedServer) -> None:
    """No 5xx; status, content type, headers and body as the document says (queue full)."""
    response = case.call(base_url=busy_server.url, headers=AUTH, timeout=60)
    STATUSES[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)
    if case.operation.path == "/v1/generate" and response.status_code == 200:
        raise AssertionError("a generation ran although the queue was full")


@schema.include(path_regex="^/v1/(generate|transcribe)$").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_without_the_token_every_request_is_refused(case, busy_server: ThreadedServer) -> None:
    """No token, or a wrong one: 401 (malformed HTTP is refused earlier, 400 as text)."""
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        response = case.call(base_url=busy_server.url, headers=headers, timeout=60)
        STATUSES[(case.operation.label, response.status_code)] += 1
        if _content_type(response).startswith("text/plain"):
            assert response.status_code == 400
        else:
            assert response.status_code == 401
        case.validate_response(response, checks=CHECKS)


def _content_type(response: object) -> str:
    """The response's Content-Type (schemathesis keeps header values as lists)."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    value = headers.get("content-type", "")
    return value[0] if isinstance(value, list) else value


@pytest.mark.slow
@valid_only.include(operation_id="generate").parametrize()
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def test_generate_paints_fuzzed_valid_requests(case, idle_server: ThreadedServer) -> None:
    """Valid fuzzed requests are painted (grid_size pinned to 1) and answered as documented."""
    if isinstance(case.body, dict) and "grid_size" in case.body:
        case.body["grid_size"] = 1
    case.headers = {**(case.headers or {}), **AUTH}
    response = case.call(base_url=idle_server.url, timeout=300)
    STATUSES[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)
    # Valid by the document; only prompts of control characters or white space are refused.
    assert response.status_code in (200, 400), response.text


@pytest.mark.slow
def test_fuzzed_valid_requests_were_really_painted(idle_server: ThreadedServer) -> None:
    """The previous test painted images, not only refusals (runs after it, same server)."""
    assert idle_server.state.queue.completed >= 1
    assert idle_server.state.queue.failed == 0


def test_fuzzing_summary() -> None:
    """Many requests were tried, none answered 5xx (the counts print with -rA or -s)."""
    print("fuzzed requests by operation and status:")
    for (operation, status), count in sorted(STATUSES.items()):
        print(f"  {operation:25s} {status}: {count}")
    print(f"  total: {sum(STATUSES.values())}")
    assert sum(STATUSES.values()) > 100
    assert not [key for key in STATUSES if key[1] >= 500]
