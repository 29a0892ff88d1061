"""dalle_frame Raspberry Pi satellite."""

__version__ = "0.1.0"
