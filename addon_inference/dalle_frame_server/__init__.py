"""dalle_frame GPU server: min-dalle text-to-image and wav2vec2 ASR over HTTP."""

__version__ = "0.4.5"
