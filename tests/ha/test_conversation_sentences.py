"""Which command a spoken text is (voice_sentences.py), without HA."""

from __future__ import annotations

import pytest

from custom_components.dalle_frame.voice_sentences import (
    ALL_SENTENCES,
    LANGUAGES,
    SENTENCES,
    SENTENCES_BY_LANGUAGE,
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
    """The registered list holds every language's templates once; each action has some."""
    assert len(ALL_SENTENCES) == len(set(ALL_SENTENCES))
    assert set(LANGUAGES) == {"en", "de", "fr", "es", "nl"}
    assert SENTENCES is SENTENCES_BY_LANGUAGE["en"]
    for sentences in SENTENCES_BY_LANGUAGE.values():
        assert all(sentences[action] for action in VoiceAction)
    registered = {
        sentence
        for sentences in SENTENCES_BY_LANGUAGE.values()
        for group in sentences.values()
        for sentence in group
    }
    assert registered == set(ALL_SENTENCES)


PAINT = VoiceAction.PAINT


@pytest.mark.parametrize(
    ("language", "text", "command"),
    [
        (
            "de",
            "Male einen Leuchtturm im Sturm.",
            VoiceCommand(action=PAINT, prompt="einen Leuchtturm im Sturm"),
        ),
        (
            "de",
            "Mal mir bitte ein Bild von einer Katze",
            VoiceCommand(action=PAINT, prompt="einer Katze"),
        ),
        ("de", "zeichne eine Burg bitte", VoiceCommand(action=PAINT, prompt="eine Burg")),
        (
            "de",
            "Zeig mir einen Sonnenuntergang auf dem Bilderrahmen",
            VoiceCommand(action=PAINT, prompt="einen Sonnenuntergang"),
        ),
        ("de", "Male etwas Neues", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("de", "Male das Bild noch einmal", VoiceCommand(action=VoiceAction.REGENERATE)),
        (
            "fr",
            "Peins-moi un phare dans la tempête.",
            VoiceCommand(action=PAINT, prompt="un phare dans la tempête"),
        ),
        ("fr", "Dessine une image de un renard", VoiceCommand(action=PAINT, prompt="un renard")),
        ("fr", "peins un chat s’il te plaît", VoiceCommand(action=PAINT, prompt="un chat")),
        ("fr", "Peins quelque chose de nouveau", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("fr", "Refais l'image", VoiceCommand(action=VoiceAction.REGENERATE)),
        (
            "es",
            "Píntame un faro en una tormenta.",
            VoiceCommand(action=PAINT, prompt="un faro en una tormenta"),
        ),
        ("es", "Pinta un cuadro de un gato", VoiceCommand(action=PAINT, prompt="un gato")),
        ("es", "pinta un perro por favor", VoiceCommand(action=PAINT, prompt="un perro")),
        ("es", "Pinta algo nuevo", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("es", "Píntalo otra vez", VoiceCommand(action=VoiceAction.REGENERATE)),
        (
            "nl",
            "Schilder een vuurtoren in een storm.",
            VoiceCommand(action=PAINT, prompt="een vuurtoren in een storm"),
        ),
        ("nl", "Teken een tekening van een kat", VoiceCommand(action=PAINT, prompt="een kat")),
        ("nl", "teken een hond alsjeblieft", VoiceCommand(action=PAINT, prompt="een hond")),
        ("nl", "Schilder iets nieuws", VoiceCommand(action=VoiceAction.NEW_PROMPT)),
        ("nl", "Schilder het opnieuw", VoiceCommand(action=VoiceAction.REGENERATE)),
        # another language than the pipeline's still works; filler words alone do not
        ("en", "male eine Katze", VoiceCommand(action=PAINT, prompt="eine Katze")),
        ("de-CH", "paint a cat", VoiceCommand(action=PAINT, prompt="a cat")),
        ("de", "male bitte", None),
        ("fr", "allume la lumière", None),
    ],
)
def test_parse_voice_command_in_other_languages(
    language: str, text: str, command: VoiceCommand | None
) -> None:
    """Each language's sentences give the same commands as English."""
    assert parse_voice_command(text, language) == command
