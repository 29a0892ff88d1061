"""The sizes of min-dalle's networks (mini, mega, the test model) and its fixed token ids."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

TEXT_TOKEN_COUNT: Final = 64
"""Text tokens per prompt row; min-dalle hard-codes 64 (longer prompts are cut)."""

IMAGE_VOCAB_USED: Final = 2**14
"""Image tokens the sampler draws from (the VQGAN codebook size); the start token is 2**14 - 1."""

IMAGE_TOKEN_COUNT: Final = 256
"""Decoder steps per image: min-dalle draws 16x16 image tokens."""

START_TOKEN: Final = IMAGE_VOCAB_USED - 1
"""min-dalle starts every image with token 2**14 - 1."""

PAD_TOKEN: Final = 1
"""Text padding id (min-dalle hard-codes it; the attention mask is tokens != 1)."""


@dataclass(frozen=True, kw_only=True)
class DalleShape:
    """The sizes min-dalle's encoder and decoder are built with (the VQGAN has one fixed size)."""

    layer_count: int
    """Layers of the encoder, and again of the decoder."""
    attention_head_count: int
    embed_count: int
    glu_embed_count: int
    """Width of the gated feed-forward block."""
    text_vocab_count: int
    """Rows of the encoder's token embedding; every id in vocab.json must be below it."""
    image_vocab_count: int
    """Image tokens the decoder knows (at least 2**14; mega has 16415)."""

    def as_dict(self) -> dict[str, int]:
        """Return the sizes as a plain dict (for logs and the test model's marker file)."""
        return asdict(self)


MINI_SHAPE: Final = DalleShape(
    layer_count=12,
    attention_head_count=16,
    embed_count=1024,
    glu_embed_count=2730,
    text_vocab_count=50264,
    image_vocab_count=16384,
)

MEGA_SHAPE: Final = DalleShape(
    layer_count=24,
    attention_head_count=32,
    embed_count=2048,
    glu_embed_count=4096,
    text_vocab_count=50272,
    image_vocab_count=16415,
)

TEST_SHAPE: Final = DalleShape(
    layer_count=2,
    attention_head_count=2,
    embed_count=32,
    glu_embed_count=64,
    text_vocab_count=128,
    image_vocab_count=16384,
)
"""The tiny random-weight test model: small enough to build in a second, same code paths."""
