"""What the frame says back, in the languages of its sentences (voice_sentences.LANGUAGES).

One template per reply and language, filled with `str.format` fields: {title} (the frame's
name), {what} (what is painted), {prompt}, {reason}, {error}. English is the fallback for any
other language. Error details from the server or from HA's own messages stay as they are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .voice_sentences import base_language


class Reply(StrEnum):
    """The replies the intents and sentence triggers speak."""

    NOW_SHOWS = "now_shows"
    QUEUED = "queued"
    PAINTING = "painting"
    CANNOT_PAINT = "cannot_paint"
    SHOWS_HISTORY = "shows_history"
    UNREACHABLE = "unreachable"
    COULD_NOT_PAINT = "could_not_paint"
    SOMETHING_NEW = "something_new"
    AGAIN = "again"
    ASK_FOR_A_PROMPT = "ask_for_a_prompt"
    SORRY = "sorry"


REPLIES: Final[dict[str, dict[Reply, str]]] = {
    "en": {
        Reply.NOW_SHOWS: "{title} now shows {prompt}.",
        Reply.QUEUED: "{title} is still painting; {what} comes next. It takes a moment.",
        Reply.PAINTING: "Painting {what} on {title}. It takes a moment.",
        Reply.CANNOT_PAINT: "I cannot paint that: {error}",
        Reply.SHOWS_HISTORY: (
            "No new picture could be made, so {title} shows a picture from its history."
        ),
        Reply.UNREACHABLE: "Its GPU server cannot be reached; check that it is running.",
        Reply.COULD_NOT_PAINT: "I could not paint {what} on {title}. {reason}",
        Reply.SOMETHING_NEW: "something new",
        Reply.AGAIN: "{prompt} again",
        Reply.ASK_FOR_A_PROMPT: (
            "What should I paint? Say, for example: paint a lighthouse in a storm."
        ),
        Reply.SORRY: "Sorry, I could not do that; the log has details.",
    },
    "de": {
        Reply.NOW_SHOWS: "{title} zeigt jetzt {prompt}.",
        Reply.QUEUED: "{title} malt noch; danach kommt {what}. Das dauert einen Moment.",
        Reply.PAINTING: "Ich male {what} auf {title}. Das dauert einen Moment.",
        Reply.CANNOT_PAINT: "Das kann ich nicht malen: {error}",
        Reply.SHOWS_HISTORY: (
            "Es konnte kein neues Bild entstehen, deshalb zeigt {title} ein Bild aus dem Verlauf."
        ),
        Reply.UNREACHABLE: "Sein GPU-Server ist nicht erreichbar; prüfe, ob er läuft.",
        Reply.COULD_NOT_PAINT: "Ich konnte {what} nicht auf {title} malen. {reason}",
        Reply.SOMETHING_NEW: "etwas Neues",
        Reply.AGAIN: "noch einmal {prompt}",
        Reply.ASK_FOR_A_PROMPT: (
            "Was soll ich malen? Sag zum Beispiel: male einen Leuchtturm im Sturm."
        ),
        Reply.SORRY: "Das hat leider nicht geklappt; Details stehen im Protokoll.",
    },
    "fr": {
        Reply.NOW_SHOWS: "{title} affiche maintenant {prompt}.",
        Reply.QUEUED: "{title} peint encore ; {what} vient ensuite. Cela prend un moment.",
        Reply.PAINTING: "Je peins {what} sur {title}. Cela prend un moment.",
        Reply.CANNOT_PAINT: "Je ne peux pas peindre cela : {error}",
        Reply.SHOWS_HISTORY: (
            "Aucune nouvelle image n'a pu être créée, {title} affiche donc une image de son "
            "historique."
        ),
        Reply.UNREACHABLE: "Son serveur GPU est injoignable ; vérifiez qu'il fonctionne.",
        Reply.COULD_NOT_PAINT: "Je n'ai pas pu peindre {what} sur {title}. {reason}",
        Reply.SOMETHING_NEW: "quelque chose de nouveau",
        Reply.AGAIN: "{prompt} à nouveau",
        Reply.ASK_FOR_A_PROMPT: (
            "Que dois-je peindre ? Dites par exemple : peins un phare dans la tempête."
        ),
        Reply.SORRY: "Désolé, je n'ai pas pu le faire ; le journal donne les détails.",
    },
    "es": {
        Reply.NOW_SHOWS: "{title} muestra ahora {prompt}.",
        Reply.QUEUED: "{title} todavía está pintando; después viene {what}. Tarda un momento.",
        Reply.PAINTING: "Pintando {what} en {title}. Tarda un momento.",
        Reply.CANNOT_PAINT: "No puedo pintar eso: {error}",
        Reply.SHOWS_HISTORY: (
            "No se pudo crear una imagen nueva, así que {title} muestra una de su historial."
        ),
        Reply.UNREACHABLE: "No se puede contactar con su servidor GPU; comprueba que funcione.",
        Reply.COULD_NOT_PAINT: "No pude pintar {what} en {title}. {reason}",
        Reply.SOMETHING_NEW: "algo nuevo",
        Reply.AGAIN: "{prompt} otra vez",
        Reply.ASK_FOR_A_PROMPT: (
            "¿Qué debo pintar? Di, por ejemplo: pinta un faro en una tormenta."
        ),
        Reply.SORRY: "Lo siento, no pude hacerlo; el registro tiene los detalles.",
    },
    "nl": {
        Reply.NOW_SHOWS: "{title} toont nu {prompt}.",
        Reply.QUEUED: "{title} is nog aan het schilderen; daarna komt {what}. Het duurt even.",
        Reply.PAINTING: "Ik schilder {what} op {title}. Het duurt even.",
        Reply.CANNOT_PAINT: "Dat kan ik niet schilderen: {error}",
        Reply.SHOWS_HISTORY: (
            "Er kon geen nieuwe afbeelding gemaakt worden, dus {title} toont er een uit de "
            "geschiedenis."
        ),
        Reply.UNREACHABLE: "Zijn GPU-server is niet bereikbaar; controleer of hij draait.",
        Reply.COULD_NOT_PAINT: "Ik kon {what} niet op {title} schilderen. {reason}",
        Reply.SOMETHING_NEW: "iets nieuws",
        Reply.AGAIN: "{prompt} opnieuw",
        Reply.ASK_FOR_A_PROMPT: (
            "Wat moet ik schilderen? Zeg bijvoorbeeld: schilder een vuurtoren in een storm."
        ),
        Reply.SORRY: "Sorry, dat lukte niet; het logboek heeft de details.",
    },
}


def reply(language: str | None, which: Reply, **fields: str) -> str:
    """Return the reply `which` in `language` (an HA language tag; English when unknown)."""
    return REPLIES[base_language(language)][which].format(**fields)
