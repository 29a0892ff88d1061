"""What a Triton node and the front say to each other: model names, tensors and events.

Generation is one decoupled Triton model: one BYTES input `request` (a `GenerationRequest` as
JSON, every field, so fields added later flow through) and two BYTES outputs per response,
`event` (one JSON event) and `png` (the picture on the result event, empty otherwise).
The events are the v1 NDJSON lines' shapes: progress, then result or error. An optional BYTES
input `job` names the request so the front can stop it (`dalle_frame_cancel`) when its client
leaves. Nothing here imports torch or tritonclient.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final

from ..generation.text_to_image import Capabilities, GenerationRequest, GuidanceRange, StepRange

GENERATOR_MODEL: Final = "dalle_frame_generate"
"""The decoupled generation model (streams progress events, then the PNG)."""
ASR_MODEL: Final = "dalle_frame_transcribe"
"""Speech to text: FP32 `samples` (16 kHz mono) and BYTES `language` ("" lets the model
decide) in, BYTES `text` and `language` (what was heard, in which language) out."""
INFO_MODEL: Final = "dalle_frame_info"
"""What the node serves: BYTES `query` (ignored) in, BYTES `info` (JSON) out."""
CANCEL_MODEL: Final = "dalle_frame_cancel"
"""Stop a generation whose client left: BYTES `job` (the id the generation request carried)
in, BYTES `cancel_state` out ("stopping": running or waiting on the node; "noted": not seen
yet, it is skipped if it comes)."""

REQUEST_INPUT: Final = "request"
JOB_INPUT: Final = "job"
CANCEL_STATE_OUTPUT: Final = "cancel_state"
EVENT_OUTPUT: Final = "event"
PNG_OUTPUT: Final = "png"
SAMPLES_INPUT: Final = "samples"
TEXT_OUTPUT: Final = "text"
LANGUAGE_INPUT: Final = "language"
LANGUAGE_OUTPUT: Final = "heard_language"
QUERY_INPUT: Final = "query"
INFO_OUTPUT: Final = "info"

_REQUEST_FIELDS: Final = {field.name for field in dataclasses.fields(GenerationRequest)}


def encode_request(request: GenerationRequest) -> bytes:
    """Return the request as JSON bytes (all its fields)."""
    return json.dumps(dataclasses.asdict(request)).encode()


def decode_request(data: bytes) -> GenerationRequest:
    """Read a request encoded by `encode_request`; ValueError says what is wrong with it."""
    try:
        fields = json.loads(data)
    except ValueError as error:
        raise ValueError(f"the generation request is not JSON ({error})") from error
    if not isinstance(fields, dict):
        raise ValueError("the generation request must be a JSON object")
    unknown = sorted(set(fields) - _REQUEST_FIELDS)
    if unknown:
        raise ValueError(
            f"this node does not know the request fields {unknown}: run the same server "
            "version on the front and the Triton nodes"
        )
    try:
        return GenerationRequest(**fields)
    except TypeError as error:
        raise ValueError(f"the generation request is incomplete ({error})") from error


def progress_event(step: int, total: int) -> dict[str, Any]:
    """Return the event for one finished model step."""
    return {"type": "progress", "step": step, "total": total}


def result_event(
    *, width: int, height: int, seconds: float, upscale_seconds: float | None
) -> dict[str, Any]:
    """Return the last event of a generation that worked (the PNG travels beside it)."""
    return {
        "type": "result",
        "width": width,
        "height": height,
        "seconds": seconds,
        "upscale_seconds": upscale_seconds,
    }


def error_event(*, status: int, code: str, message: str) -> dict[str, Any]:
    """Return the last event of a failed generation, with the HTTP status to answer."""
    return {"type": "error", "status": status, "code": code, "message": message}


CANCELLED_STATUS: Final = 499
"""The status of the error event a cancelled request ends with (nobody reads it: the front
stopped listening when it cancelled)."""


def cancelled_event(job_id: str, step: int | None) -> dict[str, Any]:
    """Return the last event of a request the front cancelled (before or at `step`)."""
    where = "before its first step" if step is None else f"at step {step}"
    return error_event(
        status=CANCELLED_STATUS,
        code="cancelled",
        message=f"the front cancelled job {job_id} {where} (its client left)",
    )


WAIT_EVENT: Final = {"type": "wait"}
"""Sent to a request of a batch that has no news this step (the front ignores it)."""


def capabilities_from_json(data: dict[str, Any]) -> Capabilities:
    """Rebuild a node's `Capabilities` from `Capabilities.as_json()`."""
    known = {field.name for field in dataclasses.fields(Capabilities)}
    fields = {name: value for name, value in data.items() if name in known}
    fields["default_size"] = tuple(fields["default_size"])
    fields["grid_sizes"] = tuple(fields.get("grid_sizes", (1,)))
    if fields.get("steps") is not None:
        fields["steps"] = StepRange(**fields["steps"])
    if fields.get("guidance") is not None:
        fields["guidance"] = GuidanceRange(**fields["guidance"])
    return Capabilities(**fields)
