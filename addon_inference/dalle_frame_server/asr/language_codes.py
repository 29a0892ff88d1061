"""The `language` query parameter of POST /v1/transcribe: an ISO 639-1 code, checked."""

from __future__ import annotations

import re
from typing import Final

from ..errors import BadRequestError

_LANGUAGE_TAG: Final = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*")


def parse_language(value: str | None) -> str | None:
    """Return the language code of `value` ("de", "de-DE" and "DE" all give "de"), or None.

    Raises BadRequestError (400) when `value` is not a language tag.
    """
    if value is None:
        return None
    match = _LANGUAGE_TAG.fullmatch(value.strip().lower()) if value.isascii() else None
    if match is None:
        raise BadRequestError(
            f"language must be an ISO 639-1 code such as 'de' or 'fr', not {value[:40]!r}"
        )
    return match.group(1)


def check_supported(language: str | None, languages: tuple[str, ...], model_name: str) -> None:
    """Raise 400 unsupported_language when the model does not list `language`."""
    if language is None or language in languages:
        return
    shown = ", ".join(languages[:12]) + (", ..." if len(languages) > 12 else "")
    raise BadRequestError(
        f"the speech model {model_name} does not understand {language!r} (it knows: {shown}); "
        "choose a multilingual asr_model such as whisper-base on the server",
        code="unsupported_language",
    )
