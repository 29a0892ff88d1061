"""Whisper's tokens: the byte-level BPE vocabulary, the special tokens and the languages.

`vocab.json` maps token strings to ids; each character of a token string stands for one byte
(GPT-2's byte-to-character table), so text comes back by joining the strings, mapping the
characters to bytes and decoding UTF-8. `added_tokens.json` holds the special tokens:
`<|endoftext|>`, `<|startoftranscript|>`, one `<|xx|>` per language, `<|transcribe|>`,
`<|notimestamps|>` and others; ids from `<|endoftext|>` up are never text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

END_OF_TEXT: Final = "<|endoftext|>"
START_OF_TRANSCRIPT: Final = "<|startoftranscript|>"
TRANSCRIBE: Final = "<|transcribe|>"
NO_TIMESTAMPS: Final = "<|notimestamps|>"
_LANGUAGE_TOKEN: Final = re.compile(r"<\|([a-z]{2,3})\|>")


class WhisperTokensError(ValueError):
    """The token files are missing, unreadable or lack a token Whisper needs."""


@cache
def byte_to_character() -> dict[int, str]:
    """GPT-2's table: printable bytes stand for themselves, the others for chars from 256 up."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


@dataclass(frozen=True)
class WhisperTokens:
    """The ids the decoder needs and the text of the others."""

    text_tokens: dict[int, str]
    """Id -> token string for every text token (ids below `end_of_text`)."""
    end_of_text: int
    start_of_transcript: int
    transcribe: int
    no_timestamps: int
    language_ids: dict[str, int]
    """ISO 639 code -> the id of its `<|xx|>` token, in the model's order."""

    @classmethod
    def from_files(cls, vocab_file: Path, added_tokens_file: Path) -> WhisperTokens:
        """Read `vocab.json` and `added_tokens.json`; WhisperTokensError when unusable."""
        vocab = _read_token_map(vocab_file)
        special = {**vocab, **_read_token_map(added_tokens_file)}
        missing = [
            token
            for token in (END_OF_TEXT, START_OF_TRANSCRIPT, TRANSCRIBE, NO_TIMESTAMPS)
            if token not in special
        ]
        if missing:
            raise WhisperTokensError(f"the Whisper tokens lack {', '.join(missing)}")
        end_of_text = special[END_OF_TEXT]
        languages = {
            match.group(1): token_id
            for token, token_id in sorted(special.items(), key=lambda item: item[1])
            if (match := _LANGUAGE_TOKEN.fullmatch(token))
        }
        if not languages:
            raise WhisperTokensError("the Whisper tokens name no language (<|en|> and others)")
        text_tokens = {
            token_id: token for token, token_id in vocab.items() if token_id < end_of_text
        }
        missing_bytes = set(byte_to_character().values()) - set(text_tokens.values())
        if missing_bytes:
            raise WhisperTokensError(
                f"{vocab_file.name} lacks {len(missing_bytes)} of the 256 single-byte text "
                "tokens: not a byte-level Whisper vocabulary"
            )
        return cls(
            text_tokens=text_tokens,
            end_of_text=end_of_text,
            start_of_transcript=special[START_OF_TRANSCRIPT],
            transcribe=special[TRANSCRIBE],
            no_timestamps=special[NO_TIMESTAMPS],
            language_ids=languages,
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """The language codes the model knows."""
        return tuple(self.language_ids)

    def prompt(self, language: str) -> list[int]:
        """Return the decoder's start: transcript, language, transcribe, no timestamps."""
        return [
            self.start_of_transcript,
            self.language_ids[language],
            self.transcribe,
            self.no_timestamps,
        ]

    def decode(self, token_ids: list[int]) -> str:
        """Return the text of `token_ids` (special tokens left out)."""
        characters = "".join(self.text_tokens.get(token_id, "") for token_id in token_ids)
        to_byte = _character_to_byte()
        data = bytes(to_byte[char] for char in characters if char in to_byte)
        return data.decode("utf8", errors="replace")


@cache
def _character_to_byte() -> dict[str, int]:
    return {char: byte for byte, char in byte_to_character().items()}


def _read_token_map(path: Path) -> dict[str, int]:
    """Read a {token: id} JSON file."""
    try:
        tokens = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError) as error:
        raise WhisperTokensError(f"cannot read {path.name} ({error})") from error
    if not isinstance(tokens, dict) or not all(
        isinstance(token, str) and isinstance(token_id, int) for token, token_id in tokens.items()
    ):
        raise WhisperTokensError(f"{path.name} is not a {{token: id}} map")
    return tokens
