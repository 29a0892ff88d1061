"""The OpenAPI 3 document of the v1 API, served at /v1/openapi.json."""

from __future__ import annotations

from typing import Any

from ..asr.wav_audio import MAX_WAV_BYTES
from ..generation.text_to_image import MAX_SEED
from .generate_request import (
    MAX_GRID_SIZE,
    MAX_GUIDANCE,
    MAX_PROMPT_CHARACTERS,
    MAX_SIDE,
    MAX_STEPS,
    MAX_SUPERCONDITION,
    MAX_TEMPERATURE,
    MAX_TOP_K,
    MIN_SIDE,
    MIN_SUPERCONDITION,
    MIN_TEMPERATURE,
)

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_MALFORMED_HTTP: dict[str, Any] = {
    "description": (
        "Malformed HTTP (e.g. bytes not allowed in a header): answered by the HTTP layer "
        "before the API sees the request, as plain text"
    ),
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


def openapi_document(version: str, *, token_required: bool) -> dict[str, Any]:
    """Return the document; `token_required` says whether generate/transcribe need the token."""
    security: list[dict[str, list[str]]] = [{"bearerAuth": []}] if token_required else []
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dalle_frame GPU server",
            "version": version,
            "description": (
                "min-dalle text-to-image and wav2vec2 speech recognition for the dalle_frame "
                "Home Assistant integration. One generation runs at a time; others wait in a "
                "bounded queue (HTTP 429 when it is full). Models load in the background "
                "(HTTP 503 with Retry-After meanwhile)."
            ),
        },
        "paths": {
            "/v1/health": {"get": _health_operation()},
            "/v1/generate": {"post": _generate_operation(security)},
            "/v1/transcribe": {"post": _transcribe_operation(security)},
            "/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": _MALFORMED_HTTP,
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def _health_operation() -> dict[str, Any]:
    """GET /v1/health."""
    return {
        "operationId": "health",
        "summary": "Whether the models are loaded; never needs the token",
        "responses": {
            "200": {
                "description": "The server's state",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}
                },
            },
            "400": _MALFORMED_HTTP,
        },
    }


def _generate_operation(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """POST /v1/generate."""
    seed_header = {
        "description": "The seed used (random when the request had none)",
        "schema": {"type": "integer", "minimum": 0},
    }
    return {
        "operationId": "generate",
        "summary": "Paint a prompt: a PNG, or with Accept: application/x-ndjson a progress stream",
        "security": security,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/GenerateRequest"}}
            },
        },
        "responses": {
            "200": {
                "description": (
                    "The image (min-dalle: 256*grid_size pixels square; a diffusion model: "
                    "the requested aspect within its sizes; upscaled to exactly width x "
                    "height where the server has an upscaler) or, when the request accepts "
                    "application/x-ndjson, one JSON object per line: progress lines "
                    '{"type": "progress", "step", "total"}, then {"type": "result", "seed", '
                    '"seconds", "width", "height", "upscale_seconds", "png_base64"} or '
                    '{"type": "error", "error": {...}}'
                ),
                "headers": {
                    "X-Seed": seed_header,
                    "X-Generation-Seconds": {
                        "description": "Seconds on the device (PNG answers only)",
                        "schema": {"type": "number"},
                    },
                    "X-Image-Width": {
                        "description": "The picture's width in pixels (PNG answers only)",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    "X-Image-Height": {
                        "description": "The picture's height in pixels (PNG answers only)",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    "X-Upscale-Seconds": {
                        "description": "Seconds the upscaler took (only when it ran)",
                        "schema": {"type": "number", "minimum": 0},
                    },
                },
                "content": {
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            },
            **_errors(
                {
                    "400": "Bad input: not JSON, unknown field, prompt empty/too long, bad "
                    "value, or a setting the loaded model does not have (see "
                    "generator.capabilities in /v1/health)",
                    "401": "Missing or wrong bearer token",
                    "413": "Body over 64 KiB",
                    "415": "Body is not JSON",
                    "429": "The queue is full: try again later",
                    "500": "The model failed on this request (out of memory, model error)",
                    "503": "The model is still loading (see Retry-After) or failed to load",
                }
            ),
        },
    }


def _transcribe_operation(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    """POST /v1/transcribe."""
    return {
        "operationId": "transcribe",
        "summary": "Speech to text: 16-bit PCM WAV, 1-2 channels, 8-48 kHz, 0.1-30 s",
        "security": security,
        "parameters": [
            {
                "name": "language",
                "in": "query",
                "required": False,
                "description": "ISO 639-1 code of the spoken language (a region suffix such as "
                "de-DE is ignored); one of health's asr.languages, else 400 "
                "unsupported_language. Without it a multilingual model detects the language",
                "schema": {"type": "string", "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "audio/wav": {
                    "schema": {"type": "string", "format": "binary", "maxLength": MAX_WAV_BYTES}
                }
            },
        },
        "responses": {
            "200": {
                "description": "The text",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Transcription"}}
                },
            },
            **_errors(
                {
                    "400": "Damaged, truncated, empty or too short WAV; a language that is no "
                    "language code (bad_request) or one the model does not list "
                    "(unsupported_language)",
                    "401": "Missing or wrong bearer token",
                    "413": "Body over the limit, or audio longer than 30 s",
                    "415": "Not a WAV, or a WAV format other than 16-bit PCM 1-2 ch 8-48 kHz",
                    "500": "The ASR model failed on this request",
                    "503": "The ASR model is still loading (see Retry-After) or failed to load",
                }
            ),
        },
    }


def _errors(descriptions: dict[str, str]) -> dict[str, Any]:
    """Error responses, all with the API's JSON error body."""
    responses: dict[str, Any] = {}
    for status, description in descriptions.items():
        content: dict[str, Any] = {"application/json": {"schema": _ERROR_REF}}
        if status == "400":
            description += "; malformed HTTP is answered as plain text by the HTTP layer"
            content.update(_MALFORMED_HTTP["content"])
        response: dict[str, Any] = {"description": description, "content": content}
        if status == "503":
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 0},
                }
            }
        responses[status] = response
    return responses


def _schemas() -> dict[str, Any]:
    """Return the component schemas."""
    model_state = {
        "type": "string",
        "enum": ["loading", "ready", "failed", "disabled"],
        "description": "loading (or waiting to retry a download), ready, failed for good, "
        "or disabled by configuration",
    }
    return {
        "GenerateRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["prompt"],
            "properties": {
                "prompt": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_PROMPT_CHARACTERS,
                    "pattern": r"\S",
                    "description": "What to paint (no control characters other than white space)",
                },
                "seed": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": 0,
                    "maximum": MAX_SEED,
                    "description": "Same prompt and seed, same image; null or absent: random",
                },
                "grid_size": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": 1,
                    "maximum": MAX_GRID_SIZE,
                    "default": 1,
                    "description": "grid_size**2 images in one square PNG; null or absent: 1",
                },
                "temperature": {
                    "type": "number",
                    "minimum": MIN_TEMPERATURE,
                    "maximum": MAX_TEMPERATURE,
                    "default": 1.0,
                    "description": "Below 1 sharper, above 1 wilder",
                },
                "top_k": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": 1,
                    "maximum": MAX_TOP_K,
                    "default": 128,
                    "description": "Tokens sampled from at each step; null or absent: 128",
                },
                "supercondition_factor": {
                    "type": "number",
                    "minimum": MIN_SUPERCONDITION,
                    "maximum": MAX_SUPERCONDITION,
                    "default": 16.0,
                    "description": "min-dalle only (capabilities.sampling), as temperature "
                    "and top_k: a diffusion model refuses all three",
                },
                "width": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": MIN_SIDE,
                    "maximum": MAX_SIDE,
                    "description": "The picture wanted, with height (both or neither): a "
                    "panel's size in its orientation. The model paints the nearest size it "
                    "can with that aspect (min-dalle: its square); an upscaler, where the "
                    "server has one, brings it to exactly width x height",
                },
                "height": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": MIN_SIDE,
                    "maximum": MAX_SIDE,
                    "description": "See width",
                },
                "steps": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": 1,
                    "maximum": MAX_STEPS,
                    "description": "Denoising steps, within capabilities.steps; only for a "
                    "model that has steps (400 otherwise); null or absent: its default",
                },
                "guidance_scale": {
                    "type": "number",
                    "nullable": True,
                    "minimum": 0,
                    "maximum": MAX_GUIDANCE,
                    "description": "Classifier-free guidance, within capabilities.guidance; "
                    "only for a model that has it (400 otherwise); null or absent: its default",
                },
                "upscale": {
                    "type": "boolean",
                    "default": True,
                    "description": "false: return the painted picture even where the server "
                    "could upscale it to width x height",
                },
            },
        },
        "Capabilities": {
            "type": "object",
            "nullable": True,
            "description": "What the loaded model can paint; null while it loads",
            "required": [
                "family",
                "default_size",
                "min_side",
                "max_side",
                "multiple",
                "max_pixels",
                "grid_sizes",
                "steps",
                "guidance",
                "sampling",
            ],
            "properties": {
                "family": {"type": "string", "enum": ["min-dalle", "diffusion"]},
                "default_size": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1},
                    "minItems": 2,
                    "maxItems": 2,
                    "description": "[width, height] painted when the request gives none",
                },
                "min_side": {"type": "integer", "minimum": 1},
                "max_side": {"type": "integer", "minimum": 1},
                "multiple": {"type": "integer", "minimum": 1},
                "max_pixels": {"type": "integer", "minimum": 1},
                "grid_sizes": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                "steps": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "min": {"type": "integer"},
                        "max": {"type": "integer"},
                        "default": {"type": "integer"},
                    },
                },
                "guidance": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "min": {"type": "number"},
                        "max": {"type": "number"},
                        "default": {"type": "number"},
                    },
                },
                "sampling": {
                    "type": "boolean",
                    "description": "Whether temperature, top_k and supercondition_factor apply",
                },
                "licence": {"type": "string"},
            },
        },
        "Transcription": {
            "type": "object",
            "required": ["text", "audio_seconds", "processing_seconds"],
            "properties": {
                "text": {"type": "string", "description": "Lower case, words separated by spaces"},
                "language": {
                    "type": "string",
                    "description": "The language transcribed: the one asked for, the one a "
                    "multilingual model detected, or the model's only one",
                },
                "audio_seconds": {"type": "number", "minimum": 0},
                "processing_seconds": {"type": "number", "minimum": 0},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "snake_case, stable"},
                        "message": {"type": "string", "description": "What went wrong, what to do"},
                    },
                }
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version", "generator", "asr"],
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["ok", "loading", "error"],
                    "description": "ok: the generator is ready and ASR is ready, disabled or "
                    "failed (see asr); loading: a model is loading; error: the generator "
                    "failed for good (see generator.error)",
                },
                "version": {"type": "string"},
                "generator": {
                    "type": "object",
                    "required": ["model", "device", "dtype", "ready"],
                    "properties": {
                        "model": {"type": "string"},
                        "device": {"type": "string"},
                        "dtype": {"type": "string"},
                        "ready": {"type": "boolean"},
                        "state": model_state,
                        "detail": {"type": "string"},
                        "error": {"type": "string", "nullable": True},
                        "backend": {"type": "string"},
                        "int8_path": {
                            "type": "string",
                            "nullable": True,
                            "description": "int8 arithmetic and GEMM on this CPU: 'vnni "
                            "(fbgemm)' (full-range activations), '7-bit (fbgemm)' (a CPU "
                            "without VNNI), '(onednn)' where fbgemm is not usable, or "
                            "'refused: <why>' where int8 or fp16 (fbgemm's fp16 GEMM) was "
                            "asked for and backend fast stands in; null for other backends "
                            "(fp16 included) and while loading",
                        },
                        "notice": {"type": "string"},
                        "vae_decoder": {
                            "type": "string",
                            "enum": ["full", "tiny (approximate)"],
                            "description": "Diffusion models only: the model's own VAE "
                            "decoder, or the opt-in tiny one (TAESD, --vae-decoder tiny)",
                        },
                        "capabilities": {"$ref": "#/components/schemas/Capabilities"},
                        "upscaler": {
                            "type": "object",
                            "nullable": True,
                            "description": "The super-resolution step; null when the server "
                            "has none",
                            "required": ["model", "scale", "ready"],
                            "properties": {
                                "model": {"type": "string"},
                                "scale": {"type": "integer", "minimum": 1},
                                "ready": {"type": "boolean"},
                                "error": {
                                    "type": "string",
                                    "nullable": True,
                                    "description": "Why the upscaler could not be loaded "
                                    "(pictures then come as painted)",
                                },
                            },
                        },
                        "triton": {
                            "type": "object",
                            "description": "Triton mode only (--triton-url): the nodes the "
                            "front sends work to",
                            "properties": {
                                "nodes": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "url": {"type": "string"},
                                            "up": {"type": "boolean"},
                                            "error": {"type": "string", "nullable": True},
                                            "model": {"type": "string", "nullable": True},
                                            "device": {"type": "string", "nullable": True},
                                            "in_flight": {"type": "integer", "minimum": 0},
                                            "capacity": {"type": "integer", "minimum": 0},
                                            "completed": {"type": "integer", "minimum": 0},
                                            "failed": {"type": "integer", "minimum": 0},
                                            "cancelled": {
                                                "type": "integer",
                                                "minimum": 0,
                                                "description": "Jobs stopped on the node "
                                                "because their client left",
                                            },
                                        },
                                    },
                                }
                            },
                        },
                        "queue": {
                            "type": "object",
                            "properties": {
                                "running": {"type": "boolean"},
                                "waiting": {"type": "integer", "minimum": 0},
                                "size": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                },
                "asr": {
                    "type": "object",
                    "required": ["model", "ready"],
                    "properties": {
                        "model": {"type": "string"},
                        "ready": {"type": "boolean"},
                        "state": model_state,
                        "detail": {"type": "string"},
                        "error": {"type": "string", "nullable": True},
                        "notice": {"type": "string"},
                        "languages": {
                            "type": "array",
                            "nullable": True,
                            "items": {"type": "string"},
                            "description": "ISO 639 codes the speech model understands "
                            "(['en'] for wav2vec2); null until it is loaded",
                        },
                    },
                },
                "memory": {
                    "type": "object",
                    "description": "What the server holds: resident set (weights files read "
                    "in place included) and, once CUDA is in use, torch's and the device's "
                    "GPU memory (the device figure counts ASR's ONNX Runtime too)",
                    "properties": {
                        "rss_mb": {"type": "integer", "nullable": True, "minimum": 0},
                        "peak_rss_mb": {"type": "integer", "nullable": True, "minimum": 0},
                        "gpu": {
                            "type": "object",
                            "nullable": True,
                            "properties": {
                                "allocated_mb": {"type": "integer", "minimum": 0},
                                "peak_allocated_mb": {"type": "integer", "minimum": 0},
                                "device_used_mb": {"type": "integer", "minimum": 0},
                                "device_total_mb": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                },
            },
        },
    }
