"""dalle_frame Raspberry Pi satellite."""

__version__ = "0.2.0"
