"""The multilingual (Whisper-shaped) speech model: features, tokens, decoding, the HTTP API.

The `test-multilingual` model (tiny random graphs with Whisper's interfaces and five language
tokens) runs every path: a language given, detected and refused. Its text is gibberish, so
the tests check the paths and the decoder's bookkeeping, not words.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from transformers import WhisperFeatureExtractor

from dalle_frame_server.api.app import create_app
from dalle_frame_server.asr.language_codes import parse_language
from dalle_frame_server.asr.whisper_features import log_mel_features
from dalle_frame_server.asr.whisper_folder import WhisperModelFolder
from dalle_frame_server.asr.whisper_tiny_model import (
    TEST_MULTILINGUAL_LANGUAGES,
    TEST_MULTILINGUAL_MODEL_NAME,
    ensure_test_multilingual_model,
)
from dalle_frame_server.asr.whisper_tokens import WhisperTokens, byte_to_character
from dalle_frame_server.asr.whisper_transcriber import OnnxWhisperTranscriber
from dalle_frame_server.errors import BadRequestError, ModelNotAvailableError
from tests.server.conftest import AUTH
from tests.server.helpers import make_wav, wait_until_ready


@pytest.fixture(scope="module")
def whisper_folder(models_dir: Path) -> WhisperModelFolder:
    """The test multilingual model, built once."""
    return ensure_test_multilingual_model(models_dir)


@pytest.fixture(scope="module")
def whisper(whisper_folder: WhisperModelFolder) -> OnnxWhisperTranscriber:
    """The test multilingual model opened in ONNX Runtime."""
    return OnnxWhisperTranscriber(
        whisper_folder, model_name=TEST_MULTILINGUAL_MODEL_NAME, use_cuda=False, threads=1
    )


def _speech_like(seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    time_axis = np.arange(round(seconds * 16_000)) / 16_000
    tone = 0.2 * np.sin(2 * np.pi * 220 * time_axis) * np.sin(2 * np.pi * 3 * time_axis)
    return (tone + 0.02 * rng.standard_normal(time_axis.size)).astype(np.float32)


def test_features_equal_the_reference_feature_extractor() -> None:
    """The numpy log-mel equals transformers' WhisperFeatureExtractor, short and over-long."""
    reference = WhisperFeatureExtractor(feature_size=80)
    for seconds in (1.5, 31.0):
        samples = _speech_like(seconds)
        expected = reference(samples, sampling_rate=16_000, return_tensors="np").input_features
        features = log_mel_features(samples)
        assert features.shape == (1, 80, 3000)
        np.testing.assert_allclose(features, expected, atol=1e-4)


def test_tokens_decode_bytes_back_to_text(whisper_folder: WhisperModelFolder) -> None:
    """Byte-level tokens give UTF-8 text back; special tokens never become text."""
    tokens = WhisperTokens.from_files(whisper_folder.vocab, whisper_folder.added_tokens)
    table = byte_to_character()
    text = " Grüße, café"
    ids = list(text.encode())  # the test vocabulary: one id per byte
    assert all(tokens.text_tokens[token_id] == table[token_id] for token_id in ids)
    assert tokens.decode([*ids, tokens.end_of_text, tokens.language_ids["de"]]) == text
    assert tokens.languages == TEST_MULTILINGUAL_LANGUAGES
    assert tokens.prompt("fr")[:2] == [tokens.start_of_transcript, tokens.language_ids["fr"]]


def test_language_given_detected_and_refused(whisper: OnnxWhisperTranscriber) -> None:
    """A given language is used; without one a listed one is detected; others are refused."""
    samples = _speech_like()
    assert whisper.languages == TEST_MULTILINGUAL_LANGUAGES
    given = whisper.transcribe_speech(samples, "nl")
    assert given.language == "nl"
    assert isinstance(given.text, str)
    assert given.text == given.text.lower()
    detected = whisper.transcribe_speech(samples)
    assert detected.language in TEST_MULTILINGUAL_LANGUAGES
    assert whisper.transcribe(samples) == detected.text
    with pytest.raises(ValueError, match="does not know the language 'ja'"):
        whisper.transcribe_speech(samples, "ja")


def test_cached_greedy_decoding_equals_decoding_from_scratch(
    whisper: OnnxWhisperTranscriber,
) -> None:
    """Feeding back past keys/values gives the tokens a full rerun of the sequence picks."""
    features = log_mel_features(_speech_like())
    (states,) = whisper._encoder.run(None, {"input_features": features})[:1]
    prompt = whisper.tokens.prompt("de")
    generated = whisper._greedy(states, prompt, limit=12)
    assert generated, "the random model ended at once; the check needs tokens"
    sequence = [*prompt, *generated]
    outputs = whisper._run_decoder(sequence[:-1], states, whisper._empty_past())
    end = whisper.tokens.end_of_text
    rerun = np.argmax(outputs["logits"][0, len(prompt) - 1 :, : end + 1], axis=-1).tolist()
    assert rerun == generated


def test_a_folder_without_whisper_graphs_is_refused(
    whisper_folder: WhisperModelFolder, tmp_path: Path
) -> None:
    """Swapped graphs are refused with the input names the server expected."""
    broken = WhisperModelFolder(tmp_path / "swapped")
    broken.root.mkdir()
    for path in whisper_folder.files:
        (broken.root / path.name).write_bytes(path.read_bytes())
    broken.encoder.write_bytes(whisper_folder.decoder.read_bytes())
    broken.metadata.write_bytes(whisper_folder.metadata.read_bytes())
    with pytest.raises(ModelNotAvailableError, match="not a Whisper encoder export"):
        OnnxWhisperTranscriber(broken, model_name="swapped", use_cuda=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("de", "de"), ("DE", "de"), ("de-DE", "de"), ("pt_BR", "pt"), (None, None)],
)
def test_language_parameter_is_read_as_its_primary_code(
    value: str | None, expected: str | None
) -> None:
    """Region suffixes and case are dropped; the code itself is kept."""
    assert parse_language(value) == expected


@pytest.mark.parametrize("value", ["", "german", "d", "12", "de--", "dé", "\u212aa"])
def test_language_parameter_that_is_no_code_is_a_bad_request(value: str) -> None:
    """Anything that is no language tag answers 400 bad_request with the expected form."""
    with pytest.raises(BadRequestError, match="ISO 639-1") as caught:
        parse_language(value)
    assert caught.value.code == "bad_request"


async def test_server_transcribes_in_the_asked_or_detected_language(
    aiohttp_client, server_settings, loaders, whisper_folder: WhisperModelFolder
) -> None:
    """The real app with test-multilingual: health lists the languages; 400 for others."""
    settings = replace(server_settings, asr_model=TEST_MULTILINGUAL_MODEL_NAME)
    client = await aiohttp_client(create_app(settings, generator_loader=loaders.generator))
    health = await wait_until_ready(client)
    assert health["asr"]["ready"] is True
    assert health["asr"]["languages"] == list(TEST_MULTILINGUAL_LANGUAGES)
    assert "gibberish" in health["asr"]["notice"]
    headers = {"Content-Type": "audio/wav", **AUTH}
    wav = make_wav(1.0)
    asked = await client.post("/v1/transcribe?language=de-DE", data=wav, headers=headers)
    assert asked.status == 200, await asked.text()
    body = await asked.json()
    assert body["language"] == "de"
    assert isinstance(body["text"], str)
    detected = await client.post("/v1/transcribe", data=wav, headers=headers)
    assert detected.status == 200
    assert (await detected.json())["language"] in TEST_MULTILINGUAL_LANGUAGES
    refused = await client.post("/v1/transcribe?language=ja", data=wav, headers=headers)
    assert refused.status == 400
    error = (await refused.json())["error"]
    assert error["code"] == "unsupported_language"
    assert "en, de, fr, es, nl" in error["message"]
    garbage = await client.post("/v1/transcribe?language=klingon!", data=wav, headers=headers)
    assert garbage.status == 400
    assert (await garbage.json())["error"]["code"] == "bad_request"


async def test_english_model_lists_english_and_refuses_other_languages(make_client) -> None:
    """wav2vec2 (the test model here): languages ["en"]; en-US is fine, fr is refused."""
    client = await make_client()
    health = await (await client.get("/v1/health")).json()
    assert health["asr"]["languages"] == ["en"]
    headers = {"Content-Type": "audio/wav", **AUTH}
    english = await client.post("/v1/transcribe?language=en-US", data=make_wav(), headers=headers)
    assert english.status == 200
    assert (await english.json())["language"] == "en"
    french = await client.post("/v1/transcribe?language=fr", data=make_wav(), headers=headers)
    assert french.status == 400
    assert (await french.json())["error"]["code"] == "unsupported_language"


async def test_health_has_no_languages_while_asr_loads(make_client, loaders) -> None:
    """Null until the model is loaded."""
    loaders.transcriber_gate.clear()
    client = await make_client(wait_ready=False)
    health = await (await client.get("/v1/health")).json()
    assert health["asr"]["languages"] is None
    loaders.transcriber_gate.set()
