"""Text-to-image generation: the backend seam, and one subpackage per model family.

`interface.py` is the seam between a generator and its arithmetic, `text_to_image.py` what the
HTTP layer calls. `min_dalle/` holds min-dalle's backends and their kernels, `models/` the
model files, their loading and memory; the next family (diffusion) gets a subpackage beside
`min_dalle/`.
"""
