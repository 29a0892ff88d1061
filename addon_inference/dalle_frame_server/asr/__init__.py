"""Speech recognition: wav2vec2 CTC models as ONNX in onnxruntime."""
