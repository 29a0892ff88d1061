"""The prompt list: styles x subjects, read from prompts.txt or a user's file.

The format is documented at the top of prompts.txt. Parsing is pure; reading a file is
blocking and runs in the executor.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Final

BUILTIN_PROMPTS_PATH: Final = Path(__file__).parent / "prompts.txt"
BUILTIN_SOURCE: Final = "built-in"
STYLE_PREFIX: Final = "style:"
MAX_SUBJECT_LENGTH: Final = 200
MAX_STYLE_LENGTH: Final = 50
MAX_FILE_BYTES: Final = 1024 * 1024


class PromptFileError(ValueError):
    """A prompt file cannot be used; the message says where and why."""


@dataclass(frozen=True, kw_only=True)
class PromptList:
    """The subjects and styles a random prompt is made of."""

    subjects: tuple[str, ...]
    styles: tuple[str, ...]
    source: str

    @property
    def combinations(self) -> int:
        """How many different prompts the list can make."""
        return len(self.subjects) * len(set(self.styles))

    def compose(self, style: str, subject: str) -> str:
        """Join a style and a subject into a prompt."""
        return f"{style} {subject}" if style else subject

    def random_prompt(self, rng: random.Random, avoid: str | None = None) -> str:
        """Return a random prompt, different from `avoid` when the list allows it."""
        prompt = self.compose(rng.choice(self.styles), rng.choice(self.subjects))
        for _ in range(10):
            if prompt != avoid or self.combinations < 2:
                break
            prompt = self.compose(rng.choice(self.styles), rng.choice(self.subjects))
        return prompt


def _check_text(text: str, line_number: int, what: str, max_length: int) -> None:
    """Raise PromptFileError if a subject or style is too long or has control characters."""
    if len(text) > max_length:
        raise PromptFileError(
            f"line {line_number}: the {what} is longer than {max_length} characters"
        )
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise PromptFileError(f"line {line_number}: the {what} contains control characters")


def parse_prompt_list(text: str, source: str) -> PromptList:
    """Parse the prompts.txt format; raise PromptFileError naming the bad line."""
    subjects: dict[str, None] = {}
    styles: list[str] = []
    for line_number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith(STYLE_PREFIX):
            style = " ".join(line[len(STYLE_PREFIX) :].split())
            _check_text(style, line_number, "style", MAX_STYLE_LENGTH)
            styles.append(style)
            continue
        subject = " ".join(line.split())
        _check_text(subject, line_number, "subject", MAX_SUBJECT_LENGTH)
        subjects[subject] = None
    if not subjects:
        raise PromptFileError("the file has no subjects (one per line)")
    return PromptList(subjects=tuple(subjects), styles=tuple(styles or [""]), source=source)


def load_prompt_file(path: Path, source: str) -> PromptList:
    """Read and parse a prompt file (blocking); raise PromptFileError with the reason."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PromptFileError("the file is larger than 1 MiB")
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise PromptFileError("the file does not exist") from err
    except IsADirectoryError as err:
        raise PromptFileError("this is a folder, not a file") from err
    except OSError as err:
        raise PromptFileError(f"the file cannot be read ({err.strerror or err})") from err
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PromptFileError(f"the file is not UTF-8 text (byte {err.start})") from err
    return parse_prompt_list(text, source)


def load_builtin_prompts() -> PromptList:
    """Read the prompt list that ships with the integration (blocking)."""
    return load_prompt_file(BUILTIN_PROMPTS_PATH, BUILTIN_SOURCE)


def resolve_prompt_file(config_dir: str, name: str) -> Path:
    """Return the user's prompt file path; it must lie inside the HA config folder."""
    base = Path(config_dir).resolve()
    path = (base / name.strip()).resolve()
    if not path.is_relative_to(base):
        raise PromptFileError("the file must be inside the Home Assistant config folder")
    return path
