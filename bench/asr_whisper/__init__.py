"""Benchmark of the Whisper path with whisper-base's shapes and random weights."""
