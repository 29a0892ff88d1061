"""`OnnxWhisperTranscriber`: a Whisper encoder and merged decoder in ONNX Runtime, greedy.

The audio becomes 30 s of log-mel features (whisper_features), the encoder runs once, then the
decoder: without a language it first reads the logits of the language tokens after
`<|startoftranscript|>` and takes the likeliest; then it starts from
`<|startoftranscript|><|xx|><|transcribe|><|notimestamps|>` and adds the likeliest text token
(or end of text) one at a time, feeding back its own past keys and values (the first step
with `use_cache_branch` false computes the cross-attention ones from the encoder's states).
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import onnxruntime

from ..errors import ModelNotAvailableError
from ..onnx_sessions import session_settings
from .base import ASR_SAMPLE_RATE, Transcriber, Transcription
from .whisper_features import CHUNK_SAMPLES, log_mel_features
from .whisper_folder import WhisperConfig, WhisperModelFolder
from .whisper_tokens import WhisperTokens, WhisperTokensError

_LOGGER = logging.getLogger(__name__)

MAX_NEW_TOKENS: Final = 224
"""Whisper's own limit per 30 s window (half its 448 positions)."""
_ONNX_FLOAT: Final = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


class OnnxWhisperTranscriber(Transcriber):
    """Transcribes up to 30 s of speech in any of the model's languages."""

    def __init__(
        self,
        folder: WhisperModelFolder,
        *,
        model_name: str,
        use_cuda: bool,
        threads: int | None = None,
        checking: bool = False,
    ) -> None:
        """Open the graphs; `checking`: the files are fresh, the metadata not yet written."""
        if not checking and not folder.is_complete():
            raise ModelNotAvailableError(
                f"the Whisper model in {folder.root} is missing or incomplete; delete the folder "
                "and start again to download it"
            )
        self.model_name = model_name
        try:
            self.tokens = WhisperTokens.from_files(folder.vocab, folder.added_tokens)
            self.config: WhisperConfig = folder.read_config()
        except (WhisperTokensError, ValueError) as error:
            raise ModelNotAvailableError(f"the Whisper model in {folder.root}: {error}") from error
        self.languages = self.tokens.languages
        metadata = folder.read_metadata() or {}
        self.weights = str(metadata.get("weights", "float32"))
        options, providers = session_settings(threads, use_cuda=use_cuda, purpose="ASR")
        self._encoder = _open(folder.encoder, options, providers)
        self._decoder = _open(folder.decoder, options, providers)
        self._check_interface(folder)
        self.provider = self._encoder.get_providers()[0]
        _LOGGER.info(
            "ASR model %s loaded (Whisper, %s, %s weights, %d languages)",
            model_name,
            self.provider,
            self.weights,
            len(self.languages),
        )

    def _check_interface(self, folder: WhisperModelFolder) -> None:
        """Refuse graphs that are not a Whisper encoder and merged decoder of these sizes."""
        encoder_inputs = [item.name for item in self._encoder.get_inputs()]
        if encoder_inputs != ["input_features"]:
            raise ModelNotAvailableError(
                f"{folder.encoder} takes {encoder_inputs}, not ['input_features']: not a "
                "Whisper encoder export"
            )
        decoder_inputs = {item.name: item for item in self._decoder.get_inputs()}
        needed = {"input_ids", "encoder_hidden_states"} | set(self._past_names("past_key_values"))
        missing = sorted(needed - set(decoder_inputs))
        if missing:
            raise ModelNotAvailableError(
                f"{folder.decoder} lacks the inputs {missing[:4]}: not a merged Whisper decoder "
                f"with {self.config.decoder_layers} layers (Optimum's decoder_model_merged)"
            )
        self._use_cache_branch = "use_cache_branch" in decoder_inputs
        past_type = decoder_inputs["past_key_values.0.decoder.key"].type
        self._past_dtype = _ONNX_FLOAT.get(past_type, np.float32)
        self._decoder_outputs = [item.name for item in self._decoder.get_outputs()]
        missing_outputs = sorted(
            {"logits", *self._past_names("present")} - set(self._decoder_outputs)
        )
        if missing_outputs:
            raise ModelNotAvailableError(
                f"{folder.decoder} lacks the outputs {missing_outputs[:4]}: not a merged "
                "Whisper decoder"
            )
        feature_type = self._encoder.get_inputs()[0].type
        self._feature_dtype = _ONNX_FLOAT.get(feature_type, np.float32)

    def _past_names(self, prefix: str) -> list[str]:
        """`<prefix>.<layer>.(decoder|encoder).(key|value)` for every layer."""
        return [
            f"{prefix}.{layer}.{part}.{kind}"
            for layer in range(self.config.decoder_layers)
            for part in ("decoder", "encoder")
            for kind in ("key", "value")
        ]

    def transcribe(self, samples: np.ndarray) -> str:
        """Return the text (lower case) in the detected language; blocking."""
        return self.transcribe_speech(samples).text

    def transcribe_speech(
        self,
        samples: np.ndarray,
        language: str | None = None,
        *,
        max_new_tokens: int = MAX_NEW_TOKENS,
    ) -> Transcription:
        """Transcribe the first 30 s of `samples` in `language` (None: detect it); blocking."""
        if language is not None and language not in self.tokens.language_ids:
            raise ValueError(f"{self.model_name} does not know the language {language!r}")
        if samples.size > CHUNK_SAMPLES:
            _LOGGER.warning(
                "Only the first 30 s of %.0f s of audio are transcribed",
                samples.size / ASR_SAMPLE_RATE,
            )
        features = log_mel_features(samples, self.config.num_mel_bins).astype(self._feature_dtype)
        (states,) = self._encoder.run(None, {"input_features": features})[:1]
        if language is None:
            language = self.detect_language(states)
        prompt = self.tokens.prompt(language)
        limit = min(max_new_tokens, self.config.max_target_positions - len(prompt))
        text_ids = self._greedy(states, prompt, limit)
        return Transcription(self.tokens.decode(text_ids).strip().lower(), language)

    def detect_language(self, states: np.ndarray) -> str:
        """Return the language whose token is likeliest after `<|startoftranscript|>`."""
        if len(self.languages) == 1:
            return self.languages[0]
        outputs = self._run_decoder([self.tokens.start_of_transcript], states, self._empty_past())
        logits = outputs["logits"][0, -1]
        codes = list(self.tokens.language_ids)
        ids = np.array([self.tokens.language_ids[code] for code in codes])
        return codes[int(np.argmax(logits[ids]))]

    def _greedy(self, states: np.ndarray, prompt: list[int], limit: int) -> list[int]:
        """Add the likeliest text token until end of text or `limit` tokens."""
        end = self.tokens.end_of_text
        past = self._empty_past()
        feed = prompt
        text_ids: list[int] = []
        for _ in range(max(limit, 0)):
            outputs = self._run_decoder(feed, states, past)
            first_step = feed is prompt
            for name in self._past_names("past_key_values"):
                if first_step or ".decoder." in name:  # cross-attention K/V never change
                    past[name] = outputs["present" + name.removeprefix("past_key_values")]
            # Text tokens lie below end of text; every id above is special (never text).
            next_id = int(np.argmax(outputs["logits"][0, -1, : end + 1]))
            if next_id == end:
                break
            text_ids.append(next_id)
            feed = [next_id]
        return text_ids

    def _run_decoder(
        self, token_ids: list[int], states: np.ndarray, past: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Run the decoder on `token_ids` after `past`; return its outputs by name."""
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.array([token_ids], dtype=np.int64),
            "encoder_hidden_states": states,
            **past,
        }
        if self._use_cache_branch:
            has_past = past["past_key_values.0.decoder.key"].shape[2] > 0
            feeds["use_cache_branch"] = np.array([has_past])
        return dict(zip(self._decoder_outputs, self._decoder.run(None, feeds), strict=True))

    def _empty_past(self) -> dict[str, np.ndarray]:
        """Zero-length keys and values for the first step."""
        shape = (1, self.config.decoder_attention_heads, 0, self.config.head_size)
        return {
            name: np.zeros(shape, dtype=self._past_dtype)
            for name in self._past_names("past_key_values")
        }


def _open(
    path: object, options: onnxruntime.SessionOptions, providers: list[str]
) -> onnxruntime.InferenceSession:
    """Open one graph; ModelNotAvailableError with the reason when ONNX Runtime cannot."""
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types
        raise ModelNotAvailableError(
            f"ONNX Runtime cannot load {path} ({error}); delete the model folder and start "
            "again to download it"
        ) from error
