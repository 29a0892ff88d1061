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

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
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
from dalle_frame_server.api.openapi import openapi_document
from tests.server.conftest import AUTH, TOKEN
from tests.server.helpers import HookedBackend, ThreadedServer, poll_until, threaded_test_server

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


@pytest.fixture(scope="module")
def busy_server(models_dir, test_modules, test_transcriber) -> Iterator[ThreadedServer]:
    """A server whose queue (size 1) is full: one generation held at a gate, one waiting."""
    from dalle_frame_server.generation.min_dalle.backends import make_backend

    backend = HookedBackend(make_backend("reference", test_modules), gate_timeout=1800)
    backend.close_gate()
    server = threaded_test_server(
        models_dir, test_modules, test_transcriber, backend, queue_size=1, token=TOKEN
    )
    blockers = [
        threading.Thread(
            target=requests.post,
            args=(f"{server.url}/v1/generate",),
            kwargs={"json": {"prompt": "held", "seed": seed}, "headers": AUTH, "timeout": 300},
        )
        for seed in (1, 2)
    ]
    blockers[0].start()
    poll_until(lambda: backend.decode_seeds == [1])  # the first is held at the gate
    blockers[1].start()
    poll_until(lambda: server.state.queue.waiting == 1)  # the second waits: the queue is full
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
    from dalle_frame_server.generation.min_dalle.backends import make_backend

    backend = HookedBackend(make_backend("reference", test_modules))
    server = threaded_test_server(
        models_dir, test_modules, test_transcriber, backend, queue_size=4, token=TOKEN
    )
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
    if isinstance(case.body, dict):
        if "grid_size" in case.body:
            case.body["grid_size"] = 1
        # The test model is min-dalle's: it has no steps or guidance (refused as documented).
        case.body.pop("steps", None)
        case.body.pop("guidance_scale", None)
    case.headers = {**(case.headers or {}), **AUTH}
    response = case.call(base_url=idle_server.url, timeout=300)
    STATUSES[(case.operation.label, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)
    # Valid by the document; refused: prompts of control characters or white space, and a
    # width without a height (the document cannot say "both or neither").
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
