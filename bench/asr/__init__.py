"""Benchmark of wav2vec2 speech recognition: ONNX Runtime settings against PyTorch."""
