"""The frame's sentences on HA's built-in agent in German, French, Spanish and Dutch."""

from __future__ import annotations

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.dalle_frame.voice_responses import REPLIES, Reply

from .fake_server import FakeGpuServer
from .voice_support import speech_of, voice_entry

__all__ = ["voice_entry"]


async def _converse(
    hass: HomeAssistant, text: str, language: str
) -> conversation.ConversationResult:
    """Say `text` to the built-in agent in `language`, as a pipeline in that language does."""
    result = await conversation.async_converse(hass, text, None, Context(), language=language)
    await hass.async_block_till_done(wait_background_tasks=True)
    return result


@pytest.mark.parametrize(
    ("language", "sentence", "prompt", "speech"),
    [
        ("de", "Male einen Leuchtturm im Sturm", "einen Leuchtturm im Sturm", "Frame zeigt jetzt"),
        ("fr", "Peins-moi un renard roux", "un renard roux", "Frame affiche maintenant"),
        ("es", "Píntame un faro en una tormenta", "un faro en una tormenta", "Frame muestra ahora"),
        ("nl", "Teken een vuurtoren in een storm", "een vuurtoren in een storm", "Frame toont nu"),
    ],
)
async def test_sentence_paints_and_answers_in_its_language(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    language: str,
    sentence: str,
    prompt: str,
    speech: str,
) -> None:
    """A paint sentence generates its prompt; the reply is in the pipeline's language."""
    result = await _converse(hass, sentence, language)

    assert [request["prompt"] for request in server.requests] == [prompt]
    assert speech_of(result) == f"{speech} {prompt}."


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("de", "Zeichne etwas Neues"),
        ("fr", "Dessine-moi quelque chose de nouveau"),
        ("es", "Pinta algo nuevo"),
        ("nl", "Schilder iets nieuws"),
    ],
)
async def test_something_new_uses_the_prompt_list(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    language: str,
    sentence: str,
) -> None:
    """ "Something new" in each language paints from the frame's list."""
    result = await _converse(hass, sentence, language)

    assert len(server.requests) == 1
    painted = server.requests[0]["prompt"]
    assert painted not in {"etwas Neues", "quelque chose de nouveau", "algo nuevo", "iets nieuws"}
    assert speech_of(result) == REPLIES[language][Reply.NOW_SHOWS].format(
        title="Frame", prompt=painted
    )


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("de", "Male das Bild noch einmal"),
        ("fr", "Refais l'image"),
        ("es", "Regenera la imagen"),
        ("nl", "Schilder het opnieuw"),
    ],
)
async def test_regenerate_paints_the_same_prompt_again(
    hass: HomeAssistant,
    voice_entry: MockConfigEntry,
    server: FakeGpuServer,
    language: str,
    sentence: str,
) -> None:
    """Regenerate in each language paints the current prompt once more."""
    await _converse(hass, "paint a quiet harbour", "en")
    result = await _converse(hass, sentence, language)

    assert [request["prompt"] for request in server.requests] == ["a quiet harbour"] * 2
    assert speech_of(result) == REPLIES[language][Reply.NOW_SHOWS].format(
        title="Frame", prompt="a quiet harbour"
    )


async def test_server_down_is_said_in_the_language(
    hass: HomeAssistant, voice_entry: MockConfigEntry, server: FakeGpuServer
) -> None:
    """A failure is spoken in the pipeline's language too."""
    await server.stop()
    result = await _converse(hass, "Male eine Katze", "de")

    assert speech_of(result).startswith("Ich konnte eine Katze nicht auf Frame malen.")
    assert REPLIES["de"][Reply.UNREACHABLE] in speech_of(result)


def test_every_language_has_every_reply() -> None:
    """No reply is missing in a language, and each fills the same fields."""
    for language, replies in REPLIES.items():
        assert set(replies) == set(Reply), language
        for which, text in replies.items():
            english = REPLIES["en"][which]
            fields = {
                name
                for name in ("title", "what", "prompt", "reason", "error")
                if f"{{{name}}}" in english
            }
            assert all(f"{{{name}}}" in text for name in fields), (language, which)
