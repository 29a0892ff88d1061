"""Optional super-resolution of painted pictures to the size a client asks for (issue 18).

`network.py` is the compact SR network (realesr-general-x4v3's architecture), `tiny_model.py`
builds the random `test` upscaler, `pretrained.py` downloads the real one, `onnx_upscaler.py`
runs either in ONNX Runtime, `geometry.py` holds the crop and tile arithmetic, and
`wrapper.py` puts the upscaler behind any text-to-image model.
"""
