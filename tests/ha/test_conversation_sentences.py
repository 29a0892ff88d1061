"""Which command a spoken text is (voice_sentences.py), without HA."""

from __future__ import annotations

import pytest

from custom_components.dalle_frame.voice_sentences import (
    ALL_SENTENCES,
    SENTENCES,
    VoiceAction,
    VoiceCommand,
    parse_voice_command,
)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("paint a cat", VoiceCommand(action=VoiceAction.PAINT, prompt="a cat")),
        # the template that leaves the shortest prompt wins
        ("paint a picture of a cat", VoiceCommand(action=VoiceAction.PAINT, prompt="a cat")),
        ("paint an image of a dog", VoiceCommand(action=VoiceAction.PAINT, prompt="a dog")),
        ("draw me a drawing of a fish", VoiceCommand(action=VoiceAction.PAINT, prompt="a fish")),
        (
            "show me the northern lights on the picture frame",
            VoiceCommand(action=VoiceAction.PAINT, prompt="the northern lights"),
        ),
        ("PAINT A CAT!", VoiceCommand(action=VoiceAction.PAINT, prompt="A CAT")),
        ("please draw a bird please", VoiceCommand(action=VoiceAction.PAINT, prompt="a bird")),
        # a fixed command beats the free prompt it also fits
        ("paint something new", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("Paint something else.", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("draw me a new picture", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("show me something new on the frame", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("regenerate the picture", VoiceCommand(action=VoiceAction.REGENERATE)),
        ("paint it again", VoiceCommand(action=VoiceAction.REGENERATE)),
        ("repaint the painting", VoiceCommand(action=VoiceAction.REGENERATE)),
        # not the frame's
        ("paint", None),
        ("paint please", None),
        ("turn on the light", None),
        ("", None),
    ],
)
def test_parse_voice_command(text: str, command: VoiceCommand | None) -> None:
    """Each text gives its command, or None."""
    assert parse_voice_command(text) == command


def test_every_sentence_is_registered() -> None:
    """The registered list holds every template once, and each action has sentences."""
    assert len(ALL_SENTENCES) == len(set(ALL_SENTENCES))
    assert all(SENTENCES[action] for action in VoiceAction)
    assert sum(len(group) for group in SENTENCES.values()) == len(ALL_SENTENCES)
